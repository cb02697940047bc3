#!/usr/bin/env bash
# Guest instructions per checkpoint: Swift's guestSync(1, i) against C's GUEST_SYNC_ARGS(1, i), in the same loop.
#
# On kvm_pvm every CPL0 guest instruction goes through KVM's instruction emulator, so perf's count of the
# kvm:kvm_emulate_insn tracepoint is the number of guest instructions. Each guest runs N1 and then N2 checkpoints;
# (count(N2) - count(N1)) / (N2 - N1) is the cost of one, with start-up and DONE cancelled out.
#
# Usage: scripts/measure-swift-guest-syncs.sh [KVM_HARNESS]     (default .build/debug/kvm-harness; needs perf and
#        access to the kvm tracepoints, e.g. root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${1:-$root/.build/debug/kvm-harness}
n1=${N1:-2000}
n2=${N2:-22000}
bin=${KVMH_SWIFT_BIN:-$(dirname "$(readlink -f "$(command -v swiftc)")")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# What scripts/build-guest-images.sh uses for the C example images.
cflags=(--target=x86_64-unknown-linux-gnu -std=gnu11 -O1 -g0 -ffreestanding -fno-pic -fno-pie -mno-red-zone
    -mgeneral-regs-only -fno-stack-protector -fno-builtin -fno-asynchronous-unwind-tables -fno-unwind-tables
    -ffunction-sections -fdata-sections -I "$root/Sources/KVMHarnessGuest/include")
ldflags=(--target=x86_64-unknown-linux-gnu -fuse-ld=lld -nostdlib -static
    -Wl,-T,"$root/Examples/images/guest-image.ld" -Wl,--gc-sections -Wl,--build-id=none)

for n in "$n1" "$n2"; do
    mkdir -p "$work/SyncLoop$n"
    cat > "$work/SyncLoop$n/main.swift" <<SWIFT
func loop() {
    var i: UInt64 = 0
    while i < $n {
        guestSync(1, i)
        i &+= 1
    }
}
loop()
guestDone()
SWIFT
    bash "$root/scripts/build-swift-guest.sh" "$work/swift_$n.elf" "$work/SyncLoop$n"
    cat > "$work/c-$n.c" <<C
#include "KVMHarnessGuest.h"
void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    for (uint64_t i = 0; i < $n; i++)
        GUEST_SYNC_ARGS(1, i);
    GUEST_DONE();
}
C
    objects=()
    for file in "$root/Sources/KVMHarnessGuest/ucall.c" "$root/Sources/KVMHarnessGuest/string.c" "$work/c-$n.c"; do
        "$bin/clang" "${cflags[@]}" -c "$file" -o "$work/$(basename "$file" .c).o"
        objects+=("$work/$(basename "$file" .c).o")
    done
    "$bin/clang" "${ldflags[@]}" "${objects[@]}" -o "$work/c_$n.elf"
done

count() {
    perf stat -x, -e kvm:kvm_emulate_insn -o "$work/perf.csv" "$harness" run "$1" > /dev/null
    grep kvm_emulate_insn "$work/perf.csv" | cut -d, -f1
}
for kind in c swift; do
    a=$(count "$work/${kind}_$n1.elf")
    b=$(count "$work/${kind}_$n2.elf")
    echo "$kind: $a guest instructions with $n1 checkpoints, $b with $n2:" \
        "$(( (b - a) / (n2 - n1) )) per checkpoint (exactly $(( b - a )) / $(( n2 - n1 )))"
done
echo "the Swift guest's main (loop() and guestSync inlined):"
"$bin/llvm-objdump" -d --no-show-raw-insn "$work/swift_$n1.elf" | awk '/<main>:/,/^$/'
