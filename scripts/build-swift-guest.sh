#!/usr/bin/env bash
# Builds one stand-alone guest image (a static ELF64 x86-64 executable, docs/guest-image-abi.md) from Embedded Swift
# guest sources, with the Swift guest library (SwiftGuest/Library) and its C runtime (SwiftGuest/Runtime and
# SwiftGuest/SoftFloat, plus the C guest runtime's ucall.c and string.c) compiled in. The SwiftGuestImages
# build-tool plugin runs this script for each guest folder of a target; this is the same build outside SwiftPM.
#
# Usage: scripts/build-swift-guest.sh OUTPUT.elf SOURCE...     (a SOURCE is a .swift file or a folder of them)
#
# The module is named after OUTPUT (Sync.elf: module Sync, so #fileID reads "Sync/main.swift"). A main.swift holds
# top-level code; otherwise one type is `@main`. Every vCPU enters Swift's main with its index as argc.
#
# Environment:
#   KVMH_SWIFT_BIN                the toolchain's bin folder (default: the folder of the swiftc on PATH)
#   KVMH_SWIFT_GUEST_HEAP_SIZE    bytes of guest heap (default 8 MiB; the image's .bss)
#   KVMH_SWIFT_GUEST_FLAGS        extra swiftc flags
#
# No vector or x87 instruction may reach the image: on software-virtualized KVM (such as PVM) CPL0 guest code runs
# in KVM's instruction emulator, which has neither. So:
# - the Swift code (and all of the standard library, which Embedded Swift specializes into the module) is built
#   with SSE and MMX off through the Clang importer's target features, which IRGen adopts, and with +soft-float,
#   without which Double arithmetic (Dictionary and Set sizing) becomes x87 code. -mgeneral-regs-only cannot be
#   used for Swift: the standard library's C shims need `long double`;
# - Double operations then call the integer-only routines of SwiftGuest/SoftFloat/softfloat.c;
# - the C runtime is built with -mgeneral-regs-only.
# SwiftGuestTests disassembles every image and fails on any vector or x87 instruction (GuestImageScanTests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
me=build-swift-guest.sh

if [ $# -lt 2 ]; then
    echo "usage: $me OUTPUT.elf SOURCE... (Swift files or folders of them)" >&2
    exit 2
fi
output=$1
shift
module=$(basename "$output" .elf)
if ! [[ $module =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "$me: the image name '$module' is not a Swift module name: name the output (or the guest folder) like" \
        "a Swift identifier" >&2
    exit 2
fi

bin=${KVMH_SWIFT_BIN:-}
if [ -z "$bin" ]; then
    swiftc_path=$(command -v swiftc || true)
    if [ -z "$swiftc_path" ]; then
        echo "$me: no swiftc on PATH: install a Swift toolchain (6.1 or later) or set KVMH_SWIFT_BIN" >&2
        exit 1
    fi
    bin=$(dirname "$(readlink -f "$swiftc_path")")
fi
for tool in swiftc clang ld.lld; do
    if [ ! -x "$bin/$tool" ]; then
        echo "$me: $bin has no $tool: set KVMH_SWIFT_BIN to the bin folder of a swift.org toolchain" >&2
        exit 1
    fi
done
embedded="$bin/../lib/swift/embedded/x86_64-unknown-none-elf"
if [ ! -d "$embedded" ]; then
    echo "$me: this toolchain has no Embedded Swift standard library for x86_64-unknown-none-elf ($embedded):" \
        "use a swift.org toolchain (6.1 or later) for Linux, or set KVMH_SWIFT_BIN to one" >&2
    exit 1
fi

sources=()
for source in "$@"; do
    if [ -d "$source" ]; then
        for file in "$source"/*.swift; do [ -e "$file" ] && sources+=("$file"); done
    elif [ -f "$source" ]; then
        sources+=("$source")
    else
        echo "$me: no such file or folder: $source" >&2
        exit 2
    fi
done
if [ ${#sources[@]} -eq 0 ]; then
    echo "$me: no .swift files in $*: a guest folder needs at least one" >&2
    exit 2
fi
parse_as_library=(-parse-as-library)
for file in "${sources[@]}"; do
    if [ "$(basename "$file")" = main.swift ]; then parse_as_library=(); fi
done

library="$root/SwiftGuest/Library"
runtime="$root/SwiftGuest/Runtime"
softfloat="$root/SwiftGuest/SoftFloat"
includes=(-I "$runtime/include" -I "$softfloat/include" -I "$root/Sources/KVMHarnessGuest/include"
    -I "$root/Sources/KVMHarnessStubs/include")

mkdir -p "$(dirname "$output")"
work=$(mktemp -d "$(dirname "$output")/.$module.XXXXXX")
trap 'rm -rf "$work"' EXIT

swift_flags=()
swift_flags+=(-target x86_64-unknown-none-elf -enable-experimental-feature Embedded -wmo -Osize -swift-version 6)
swift_flags+=(-module-name "$module" "${parse_as_library[@]}")
swift_flags+=(-Xfrontend -disable-stack-protector -Xcc -ffreestanding -Xcc -mno-red-zone -Xcc -fno-pic)
swift_flags+=(-Xcc -mno-sse -Xcc -mno-sse2 -Xcc -mno-mmx)
swift_flags+=(-Xcc -Xclang -Xcc -target-feature -Xcc -Xclang -Xcc +soft-float)
swift_flags+=(-I "$runtime/include")
for dir in "$root/Sources/KVMHarnessGuest/include" "$root/Sources/KVMHarnessStubs/include"; do
    swift_flags+=(-Xcc -I -Xcc "$dir")
done
# shellcheck disable=SC2206
swift_flags+=(${KVMH_SWIFT_GUEST_FLAGS:-})

c_flags=(
    --target=x86_64-unknown-none-elf -std=gnu11 -Os -g0 -ffreestanding -fno-pic -mno-red-zone -mgeneral-regs-only
    -fno-stack-protector -fno-builtin -fno-asynchronous-unwind-tables -fno-unwind-tables
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror "${includes[@]}"
    "-fmacro-prefix-map=$root/="
    -DKVMH_SOFTFLOAT_ABI_NAMES
)
if [ -n "${KVMH_SWIFT_GUEST_HEAP_SIZE:-}" ]; then
    c_flags+=("-DKVMH_SWIFT_GUEST_HEAP_SIZE=${KVMH_SWIFT_GUEST_HEAP_SIZE}")
fi

"$bin/swiftc" "${swift_flags[@]}" -c "$library"/*.swift "${sources[@]}" -o "$work/swift.o"
objects=("$work/swift.o")
for file in "$runtime/runtime.c" "$softfloat/softfloat.c" "$root/Sources/KVMHarnessGuest/ucall.c" \
    "$root/Sources/KVMHarnessGuest/string.c"; do
    object="$work/$(basename "$file" .c).o"
    "$bin/clang" "${c_flags[@]}" -c "$file" -o "$object"
    objects+=("$object")
done
# The Unicode tables are linked only if the code needs them (String comparison, splitting, case mapping).
"$bin/ld.lld" -static -nostdlib -T "$runtime/swift-guest.ld" --gc-sections --build-id=none "${objects[@]}" \
    "$embedded/libswiftUnicodeDataTables.a" -o "$work/$module.elf"
mv -f "$work/$module.elf" "$output"
