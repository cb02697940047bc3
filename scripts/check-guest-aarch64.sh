#!/usr/bin/env bash
# Checks that the guest runtime (Sources/KVMHarnessGuest) and the harness stubs (Sources/KVMHarnessStubs) build for
# aarch64 and keep the properties the arm64 host relies on, with the Swift toolchain's own clang and llvm-objdump
# (freestanding: no aarch64 headers or sysroot needed). A few seconds; exits non-zero, saying what broke, on:
# - any .c/.S of the two targets failing to compile for aarch64 (warnings are errors), with -mgeneral-regs-only and
#   also without it, where only GUEST_CODE_BEGIN keeps the code off FP/SIMD;
# - an FP/SIMD register (v, q, d, s, h, b) anywhere in the runtime's or a probe guest's code;
# - ucall_send not being exactly one `str xN, [xM]` (the only store form KVM decodes into an MMIO exit), or the
#   store-pair test helper not being an `stp`;
# - the vector table not at a 2 KiB aligned offset in a 4 KiB aligned section, an entry not at index * 128 or not
#   reporting its index, or the stubs needing any relocation (they are copied, so must be position independent).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "check-guest-aarch64: FAIL: $*" >&2
    exit 1
}

# The toolchain's clang and llvm-objdump, next to `swift`; else whatever is on PATH.
bindir=""
if command -v swift >/dev/null 2>&1; then bindir=$(dirname "$(readlink -f "$(command -v swift)")"); fi
tool() {
    if [ -n "$bindir" ] && [ -x "$bindir/$1" ]; then echo "$bindir/$1"; elif command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
    else fail "no $1 (install the Swift toolchain, or $1, and put it on PATH)"; fi
}
CC=$(tool clang)
OBJDUMP=$(tool llvm-objdump)
NM=$(tool llvm-nm)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

includes=(-ISources/KVMHarnessGuest/include -ISources/KVMHarnessStubs/include)
# -nostdlibinc: only the compiler's own freestanding headers, so no aarch64 sysroot is needed and the runtime cannot
# come to depend on a libc header.
flags=(--target=aarch64-linux-gnu -ffreestanding -nostdlibinc -fno-stack-protector -O2 -Wall -Wextra -Werror
    "${includes[@]}")

objects=()
compile() { # source, object, extra flags...
    local src=$1 obj=$2
    shift 2
    "$CC" "${flags[@]}" "$@" -c "$src" -o "$obj" 2>"$out/cc.log" || {
        cat "$out/cc.log" >&2
        fail "$src does not compile for aarch64 ($*)"
    }
    objects+=("$obj")
}

n=0
for src in Sources/KVMHarnessGuest/*.c Sources/KVMHarnessStubs/*.c Sources/KVMHarnessStubs/*.S; do
    n=$((n + 1))
    compile "$src" "$out/$n-$(basename "$src")-general-regs-only.o" -mgeneral-regs-only
    compile "$src" "$out/$n-$(basename "$src")-guest-code-pragma.o"
done

# A probe guest, built without -mgeneral-regs-only as test guests are: the whole API through the umbrella header.
cat >"$out/probe.c" <<'EOF'
#include "KVMHarnessGuest.h"

GUEST_CODE_BEGIN

void probe_send(struct ucall *uc) { ucall_send(uc); }
void probe_store_pair(struct ucall *uc) { ucall_send_store_pair_for_test(uc); }
void probe_writeback(struct ucall *uc) { ucall_send_writeback_for_test(uc); }

void probe_guest(uint64_t n) {
    char text[64];
    GUEST_SYNC(1);
    GUEST_SYNC_ARGS(2, n, n + 1, n + 2, n + 3, n + 4, n + 5);
    GUEST_PRINTF("n = %llu", (unsigned long long)n);
    GUEST_ASSERT_EQ(guest_snprintf(text, sizeof(text), "%lx", (unsigned long)n), 2);
    GUEST_ASSERT(GUEST_CALL_HOST(UCALL_HOST_ECHO, n) == ~n);
    GUEST_ASSERT_EQ(guest_current_el(), 1);
    write_sysreg(read_sysreg(tpidr_el1) + 1, tpidr_el1);
    isb();
    GUEST_DONE();
}

GUEST_CODE_END
EOF
compile "$out/probe.c" "$out/probe.o"

# Instruction lines of a disassembly: not labels, headers, or data (padding and strings shown as .byte/.word).
instructions() { grep -E '^[[:space:]]+[a-z]' | grep -Ev '^[[:space:]]+[0-9a-f]+:|[[:space:]]\.(byte|short|word|quad)[[:space:]]' || true; }

# No FP/SIMD register in any instruction.
for obj in "${objects[@]}"; do
    simd=$("$OBJDUMP" -d --no-show-raw-insn --no-leading-addr "$obj" | instructions |
        grep -E '[[:space:],[{](v|q|d|s|h|b)[0-9]+([].,[:space:]}]|$)' || true)
    [ -z "$simd" ] || fail "FP/SIMD registers in $obj:"$'\n'"$simd"
done

# One function's instructions (mnemonic and operands), one a line.
function_body() { # object, function
    "$OBJDUMP" -d --no-show-raw-insn --no-leading-addr --disassemble-symbols="$2" "$1" |
        instructions | sed -E 's/^[[:space:]]+//; s/[[:space:]]+\/\/.*$//; s/[[:space:]]+/ /g'
}
stores() { grep -E '^(st|stp|str)[a-z0-9]*( |$)' || true; }

body=$(function_body "$out/probe.o" probe_send)
st=$(echo "$body" | stores)
[ "$(echo "$st" | grep -c .)" = 1 ] && echo "$st" | grep -Eq '^str x[0-9]+, \[x[0-9]+\]$' ||
    fail "ucall_send is not one 'str xN, [xM]':"$'\n'"$body"
function_body "$out/probe.o" probe_store_pair | stores | grep -Eq '^stp x[0-9]+, xzr, \[x[0-9]+\]$' ||
    fail "ucall_send_store_pair_for_test is not an 'stp':"$'\n'"$(function_body "$out/probe.o" probe_store_pair)"
function_body "$out/probe.o" probe_writeback | stores | grep -Eq '^str x[0-9]+, \[x[0-9]+\], #0x0$' ||
    fail "ucall_send_writeback_for_test is not a post-index 'str':"$'\n'"$(function_body "$out/probe.o" probe_writeback)"
# Every MMIO send in the probe guest: each `str` to a register that was loaded from ucall_exit_mmio_addr is hard to
# pick out of optimized code, so check instead that the probe guest has no store with writeback to a non-SP base.
wb=$("$OBJDUMP" -d --no-show-raw-insn --no-leading-addr --disassemble-symbols=probe_guest "$out/probe.o" |
    grep -E '^\s+st' | grep -Ev '\[sp' | grep -E '\]!|\], #' || true)
[ -z "$wb" ] || fail "probe guest has writeback stores to a non-stack address:"$'\n'"$wb"

# The stubs: the aarch64 object of stubs_aarch64.S.
stubs=""
for obj in "${objects[@]}"; do
    if "$NM" "$obj" 2>/dev/null | grep -q ' kvmh_a64_vectors$'; then stubs=$obj; break; fi
done
[ -n "$stubs" ] || fail "no object defines kvmh_a64_vectors (stubs_aarch64.S not built for aarch64?)"
python3 - "$stubs" <<'EOF' || fail "the stubs' section or vector table is misplaced (see above)"
import struct, sys
data = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
def section(i):
    name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    return name, typ, flags, off, size, link, align
strtab_off = section(shstrndx)[3]
def name_at(off, base):
    end = data.index(b"\0", base + off)
    return data[base + off:end].decode()
sections = {name_at(section(i)[0], strtab_off): (i, section(i)) for i in range(shnum)}
index, stubs = sections.get(".text.kvmh_stubs", (None, None))
if stubs is None:
    sys.exit("no .text.kvmh_stubs section")
if stubs[6] % 4096:
    sys.exit(f".text.kvmh_stubs is aligned to {stubs[6]}, not 4096")
for name in sections:
    if name.startswith(".rela") and "kvmh_stubs" in name:
        sys.exit(f"the stubs need relocations ({name}): not position independent")
# Symbols: kvmh_stubs_start at 0, kvmh_a64_vectors 2 KiB aligned.
symtab = next(s for n, (i, s) in sections.items() if n == ".symtab")
strtab = sections[".strtab"][1]
symbols = {}
for k in range(symtab[4] // 24):
    st_name, st_info, st_other, st_shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", data, symtab[3] + k * 24)
    if st_shndx == index:
        symbols[name_at(st_name, strtab[3])] = st_value
start, vectors = symbols.get("kvmh_stubs_start"), symbols.get("kvmh_a64_vectors")
if start != 0 or vectors is None or (vectors - start) % 2048:
    sys.exit(f"kvmh_stubs_start at {start}, kvmh_a64_vectors at {vectors}: the table must be 2 KiB aligned")
EOF
# Each of the 16 entries, at index * 128 from kvmh_a64_vectors, puts its index in X0 (`mov x0, #index`).
vectors_at=$("$NM" "$stubs" | awk '$3 == "kvmh_a64_vectors" { print $1 }')
layout_offset=$(printf '#include "kvmh_layout.h"\nKVMH_A64_VECTORS_OFFSET\n' |
    "$CC" --target=aarch64-linux-gnu -E -P "${includes[@]}" -x c - | tail -1)
[ $((16#$vectors_at)) = $((layout_offset)) ] ||
    fail "kvmh_a64_vectors at 0x$vectors_at, KVMH_A64_VECTORS_OFFSET says $layout_offset"
dis=$("$OBJDUMP" -d --no-show-raw-insn "$stubs")
for i in $(seq 0 15); do
    at=$(printf '%x' $((16#$vectors_at + i * 128)))
    entry=$(echo "$dis" | grep -A2 -E "^[[:space:]]+$at:" | tr '\n' ' ')
    echo "$entry" | grep -Eq "mov[[:space:]]+x0, #0x$(printf '%x' "$i")\b" ||
        fail "vector-table entry $i (offset 0x$at) does not report index $i: $entry"
done
# The stubs send with one `str xN, [xM]`, as ucall_send does.
echo "$dis" | grep -A10 '<kvmh_a64_send_forever>:' | grep -Eq 'str[[:space:]]+x[0-9]+, \[x[0-9]+\]$' ||
    fail "the stubs' send is not a 'str xN, [xM]'"

echo "check-guest-aarch64: OK (${#objects[@]} objects for aarch64: no FP/SIMD, ucall_send = one str, vector table at offset $layout_offset)"
