#!/usr/bin/env bash
# Builds the example guest images (Examples/images/*.c) into stand-alone static ELF executables (ET_EXEC) that
# `kvm-harness run` loads, compiling the project's own guest runtime (Sources/KVMHarnessGuest/*.c) into each.
#
# Usage: scripts/build-guest-images.sh [OUTPUT_DIR]     (default: .build/guest-images)
#
# The compiler is $GUEST_CC if set, else the clang next to `swift` (every Swift toolchain ships clang and ld.lld),
# else `clang` on PATH. Images are rebuilt only when a source, header, the linker script or this script is newer.
# Each image is written to a temporary name and renamed, so concurrent runs never see half-written files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/.build/guest-images"}
mkdir -p "$out"
out=$(cd "$out" && pwd)

find_compiler() {
    if [ -n "${GUEST_CC:-}" ]; then echo "$GUEST_CC"; return; fi
    local swift
    if swift=$(command -v swift 2>/dev/null); then
        local candidate
        candidate="$(dirname "$(readlink -f "$swift")")/clang"
        if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    fi
    if [ -x /opt/swift/usr/bin/clang ]; then echo /opt/swift/usr/bin/clang; return; fi
    if command -v clang >/dev/null 2>&1; then command -v clang; return; fi
    echo "build-guest-images.sh: no clang found: set GUEST_CC, or put a Swift toolchain (which ships clang and" \
        "ld.lld) on PATH" >&2
    exit 1
}
cc=$(find_compiler)

images="$root/Examples/images"
runtime="$root/Sources/KVMHarnessGuest"
layout="$root/Sources/KVMHarnessStubs/include" # kvmh_layout.h, for processor.h's _safe fixup protocol
linker_script="$images/guest-image.ld"

# Freestanding x86-64 code at a fixed address: no PIC (the image is ET_EXEC at 0x400000); no red zone (an
# exception or interrupt handler may push below RSP); general-purpose registers only (a software-virtualized KVM
# such as PVM emulates CPL0 code, and its instruction emulator has no SSE: a compiler-generated `xorps` ends the run
# with INTERNAL_ERROR/EMULATION); no unwind tables (nothing unwinds).
# __FILE__ is made relative to the repository so that ABORT reports are the same on every machine.
cflags=(
    --target=x86_64-unknown-linux-gnu -std=gnu11 -O1 -g0
    -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-builtin
    -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-exceptions
    -ffunction-sections -fdata-sections
    "-fmacro-prefix-map=$root/="
    -Wall -Wextra -Werror
    -I "$runtime/include" -I "$layout" -I "$images"
)
ldflags=(
    --target=x86_64-unknown-linux-gnu -fuse-ld=lld -nostdlib -static
    -Wl,-T,"$linker_script" -Wl,--gc-sections -Wl,--build-id=none
)

# Everything an image depends on: if any of it is newer than the image, rebuild.
dependencies=("$0" "$linker_script" "$images"/*.h "$runtime"/*.c "$runtime"/include/*.h "$layout"/*.h)

newest_dependency() {
    local newest=""
    for file in "$@"; do
        if [ -z "$newest" ] || [ "$file" -nt "$newest" ]; then newest=$file; fi
    done
    echo "$newest"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

runtime_objects=()
built=0
for source in "$images"/*.c; do
    name=$(basename "$source" .c)
    target="$out/$name.elf"
    newest=$(newest_dependency "$source" "${dependencies[@]}")
    if [ -f "$target" ] && [ "$target" -nt "$newest" ]; then continue; fi
    if [ ${#runtime_objects[@]} -eq 0 ]; then
        for file in "$runtime"/*.c; do
            object="$work/runtime-$(basename "$file" .c).o"
            (cd "$root" && "$cc" "${cflags[@]}" -c "${file#"$root"/}" -o "$object")
            runtime_objects+=("$object")
        done
    fi
    (cd "$root" && "$cc" "${cflags[@]}" -c "${source#"$root"/}" -o "$work/$name.o")
    "$cc" "${ldflags[@]}" "$work/$name.o" "${runtime_objects[@]}" -o "$work/$name.elf"
    mv -f "$work/$name.elf" "$target"
    built=$((built + 1))
done
echo "build-guest-images.sh: $built built, images in $out"
