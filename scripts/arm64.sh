#!/usr/bin/env bash
# The arm64 phase of the test command: runs the arm64 guest tests (Tests/ARM64Tests) on a real arm64 KVM, here an
# emulated one. QEMU's arm64 machine with EL2 (-M virt,virtualization=on -cpu max) boots Debian bookworm's stock
# arm64 kernel, whose KVM gives a working /dev/kvm; the test executable is the library's own Swift, cross-built for
# aarch64 with SwiftPM.
#
# Why Debian sid's arm64 Swift standard library: the toolchain here ships no aarch64 Linux standard library and no
# Swift SDK can be downloaded. Embedded Swift (which the toolchain does ship for aarch64) cannot compile the library:
# it has no Glibc module, no untyped throws, no existentials. Debian's swiftlang:arm64 package has the full static
# standard library with Glibc and Synchronization (no XCTest, hence the test executable's own runner); its binary
# modules come from another compiler version, so they are deleted and the compiler rebuilds them from the shipped
# .swiftinterface files (once; the module cache is kept). Its runtime wants a few glibc 2.38 entry points that
# bookworm's cross glibc 2.36 lacks: scripts/arm64/glibc-compat.c forwards them. An unsupported pairing of compiler
# (this toolchain) and runtime (Debian's), which is why the phase checks the library for aarch64 on every run.
#
# Cost on a fresh 2-core machine, and what is cached in $KVMH_ARM64_CACHE (default ~/.cache/kvmharness-arm64): see
# BENCHMARKS.md ("arm64 phase"). Prints one line "arm64: N passed, N failed" and exits 1 if a test failed, the
# build failed or the emulated host did not report.
#
# Usage: bash scripts/arm64.sh [--prepare]   (root for apt-get on a machine without the packages)
#   --prepare              only install and download what the phase needs (the test command starts this early, in
#                          the background, so that the downloads overlap the x86 tests)
#   KVMH_ARM64_CACHE=DIR   where downloads and the rebuilt standard library modules are kept
#   KVMH_ARM64_TIMEOUT=S   the emulated host's time limit (default 240 s)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=${KVMH_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmharness-arm64}
scratch=$root/.build-arm64
mkdir -p "$cache" "$scratch"
started=$(date +%s)
step() { echo "arm64.sh: $* ($(($(date +%s) - started)) s)"; }
fail() {
    echo "arm64.sh: $*" >&2
    echo "arm64: 0 passed, 1 failed"
    exit 1
}

# 1. Host packages: QEMU, the aarch64 cross C library and linker inputs (the Swift runtime links libstdc++).
packages=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross cpio)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "needs root to install ${missing[*]} (apt-get): run as root or install them"
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        fail "apt-get could not install ${missing[*]}"
fi

# Downloads of arm64 packages into $cache, with a private apt configuration for another architecture or suite
# (the system's sources and state are not touched).
apt_for() { # suite
    local dir=$cache/apt-$1
    mkdir -p "$dir/lists/partial" "$dir/archives/partial"
    local components="main"
    if [ "$1" = bookworm ]; then
        printf 'deb [arch=arm64] http://deb.debian.org/debian bookworm main\n' >"$dir/sources.list"
        printf 'deb [arch=arm64] http://deb.debian.org/debian-security bookworm-security main\n' >>"$dir/sources.list"
    else
        printf 'deb [arch=arm64] http://deb.debian.org/debian %s %s\n' "$1" "$components" >"$dir/sources.list"
    fi
    apt_options=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
        -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir" -o APT::Architecture=arm64
        -o APT::Architectures::=arm64 -o Debug::NoLocking=1)
    apt-get "${apt_options[@]}" update -qq >/dev/null 2>&1 || fail "apt-get update for arm64 $1 failed (network?)"
}

# 2. The emulated host's kernel (Debian bookworm's, KVM built in) and busybox.
if [ ! -s "$cache/Image" ] || [ ! -x "$cache/busybox" ]; then
    step "downloading the arm64 kernel and busybox"
    apt_for bookworm
    kernel=$(apt-cache "${apt_options[@]}" search --names-only '^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$' |
        awk '{print $1}' | sort -V | tail -1)
    [ -n "$kernel" ] || fail "no linux-image-6.1.0-*-arm64-unsigned in bookworm"
    work=$(mktemp -d)
    (cd "$work" && apt-get "${apt_options[@]}" download "$kernel" busybox-static:arm64 >/dev/null 2>&1) ||
        fail "could not download $kernel and busybox-static:arm64"
    dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"
    grep -q '^CONFIG_KVM=y' "$work"/kernel/boot/config-* || fail "$kernel has no built-in KVM"
    cp "$work"/kernel/boot/vmlinuz-* "$cache/Image"
    cp "$work/busybox/bin/busybox" "$cache/busybox"
    echo "$kernel" >"$cache/kernel-version"
    rm -rf "$work"
fi

# 3. The arm64 Swift standard library (static), from Debian sid's swiftlang:arm64.
sdk=$cache/swift-arm64
if [ ! -d "$sdk/swift_static/linux" ]; then
    step "downloading Debian's arm64 Swift standard library (swiftlang:arm64, about 500 MB)"
    apt_for sid
    work=$(mktemp -d)
    (cd "$work" && apt-get "${apt_options[@]}" download swiftlang:arm64 >/dev/null 2>&1) ||
        fail "could not download swiftlang:arm64 from Debian sid"
    step "unpacking $(basename "$work"/swiftlang_*.deb)"
    mkdir -p "$work/x"
    dpkg-deb --fsys-tarfile "$work"/swiftlang_*.deb |
        tar -C "$work/x" -x --wildcards './usr/libexec/swift/lib/swift_static/*' './usr/libexec/swift/lib/clang/*'
    rm -rf "$sdk" && mkdir -p "$sdk"
    mv "$work/x/usr/libexec/swift/lib/swift_static" "$work/x/usr/libexec/swift/lib/clang" "$sdk/"
    basename "$work"/swiftlang_*.deb >"$sdk/version"
    rm -rf "$work"
    # Binary modules of another compiler version, which this compiler refuses: rebuilt from their interfaces.
    find "$sdk/swift_static" -name '*.swiftmodule' -type d | while read -r module; do
        if ls "$module"/*.swiftinterface >/dev/null 2>&1; then rm -f "$module"/*.swiftmodule; fi
    done
fi

# The standard library's modules, rebuilt from their interfaces once (about a minute of CPU), so that --prepare
# does it in the background too.
if [ ! -f "$cache/module-cache/.warm" ]; then
    step "rebuilding the arm64 standard library modules from their interfaces"
    printf 'import Glibc\nimport Synchronization\n' >"$scratch/warm.swift"
    swiftc -typecheck -target aarch64-unknown-linux-gnu -resource-dir "$sdk/swift_static" \
        -module-cache-path "$cache/module-cache" "$scratch/warm.swift" || fail "the arm64 standard library does not load"
    touch "$cache/module-cache/.warm"
fi

if [ "${1:-}" = --prepare ]; then
    step "prepared: $(cat "$cache/kernel-version"), $(cat "$sdk/version")"
    exit 0
fi

# 4. The test executable: the library and the arm64 tests, static, for aarch64.
step "cross-building kvm-harness-arm64-tests for aarch64 with $(cat "$sdk/version")"
aarch64-linux-gnu-gcc -O2 -c scripts/arm64/glibc-compat.c -o "$scratch/glibc-compat.o"
# --allow-multiple-definition: the guest runtime defines memcpy, memset, strlen and friends (guest code must not
# call into libc), and a static link also pulls libc's from libc.a; the first (the guest runtime's) is kept.
swift build --triple aarch64-unknown-linux-gnu --scratch-path "$scratch" --product kvm-harness-arm64-tests \
    -Xswiftc -resource-dir -Xswiftc "$sdk/swift_static" -Xswiftc -module-cache-path -Xswiftc "$cache/module-cache" \
    -Xswiftc -static-executable -Xswiftc -use-ld=lld \
    -Xlinker "$scratch/glibc-compat.o" -Xlinker --allow-multiple-definition 2>&1 | tee "$scratch/build.log" |
    grep -E "error:|warning: |complete" | grep -v "^\[" | sort -u || true
binary=$scratch/aarch64-unknown-linux-gnu/debug/kvm-harness-arm64-tests
grep -qE "Build (of product '[^']+' )?complete" "$scratch/build.log" && [ -x "$binary" ] ||
    fail "the aarch64 build failed (log: $scratch/build.log)"

# 5. An initramfs: busybox, the test executable, and an /init that runs it and powers off.
rootfs=$scratch/rootfs
rm -rf "$rootfs" && mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp}
cp "$cache/busybox" "$rootfs/bin/busybox"
for applet in sh mount poweroff; do ln -s busybox "$rootfs/bin/$applet"; done
cp "$binary" "$rootfs/bin/kvm-harness-arm64-tests"
cat >"$rootfs/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
if [ -c /dev/kvm ]; then
    /bin/kvm-harness-arm64-tests
    echo "=== kvm-harness-arm64-tests exited with $?"
else
    echo "=== no /dev/kvm in the emulated arm64 host"
fi
poweroff -f
INIT
chmod +x "$rootfs/init"
(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$scratch/initramfs.cpio.gz"

# 6. Boot the emulated arm64 host (EL2, so its kernel runs KVM) and run the tests there.
step "booting the emulated arm64 KVM host ($(cat "$cache/kernel-version"))"
log=$scratch/boot.log
status=0
timeout "${KVMH_ARM64_TIMEOUT:-240}" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max -smp 2 \
    -m 2G -nographic -no-reboot -nic none -kernel "$cache/Image" -initrd "$scratch/initramfs.cpio.gz" \
    -append "console=ttyAMA0 panic=-1 quiet" </dev/null >"$log" 2>&1 || status=$?
grep -aE "^(KTAP|1\.\.|ok |not ok |# |arm64 tests:|===)" "$log" || true
[ "$status" = 0 ] || fail "QEMU exited with $status (124: the ${KVMH_ARM64_TIMEOUT:-240} s limit); log: $log"
summary=$(grep -aE "^arm64 tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$log" | tail -1)
[ -n "$summary" ] || fail "the emulated host printed no summary; log: $log"
read -r passed failed skipped < <(echo "$summary" | sed -E 's/^arm64 tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
# A skip is allowed only for a named missing capability.
bad_skips=$(grep -aE "^ok [0-9]+ - .* # SKIP" "$log" | grep -vE "# SKIP requires KVM_CAP_" || true)
if [ -n "$bad_skips" ]; then
    echo "arm64.sh: skipped without naming a missing capability:" >&2
    echo "$bad_skips" >&2
    failed=$((failed + $(echo "$bad_skips" | wc -l)))
fi
step "done"
echo "arm64: $passed passed, $failed failed"
[ "$failed" = 0 ]
