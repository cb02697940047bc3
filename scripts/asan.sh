#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer (with LeakSanitizer) and fails on any report.
#
# How:
# - `swift test --sanitize=address` with its own scratch path, .build-asan (ignored by .gitignore's `.build-*/`), so
#   it never invalidates the ordinary .build. The first build takes several minutes.
# - Guest C code is never instrumented (GUEST_CODE_BEGIN turns instrumentation off, as for TSan): an instrumented
#   guest function would call the host's ASan runtime from inside the guest.
# - ResourceLifetimeXCTests are skipped: they read VmSize and the mappings from /proc/self, which ASan's shadow
#   memory changes; leaks of threads and descriptors are what the soak script (scripts/soak.sh) measures.
# - KVMHARNESS_REQUIRE_KVM=1 where /dev/kvm exists: the KVM tests must run, not skip.
# - ASAN_OPTIONS: detect_leaks=1, halt_on_error=0 is not supported by ASan without -fsanitize-recover, so each
#   process stops at its first memory error; log_path sends the reports of every process (the test runners and
#   the kvm-harness processes the CLI tests start) to files this script reads. LSAN_OPTIONS: the suppressions in
#   scripts/lsan.supp, each for a leak that is not the project's, with its reason.
#
# Fails (exit 1) if any "ERROR: AddressSanitizer" or "ERROR: LeakSanitizer" report appears or swift test fails; the
# whole output is kept in .build-asan/asan.log. Extra arguments go to `swift test`, e.g. scripts/asan.sh --filter CLITests
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=.build-asan
reports_dir=$(mktemp -d)
output=$(mktemp)
trap 'rm -rf "$reports_dir" "$output"' EXIT

if [ -e /dev/kvm ]; then
    export KVMHARNESS_REQUIRE_KVM=1
    echo "asan.sh: /dev/kvm present: KVM tests must run"
else
    echo "asan.sh: no /dev/kvm: KVM tests will skip" >&2
fi

export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-} log_path=$reports_dir/asan"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=1 ${LSAN_OPTIONS:-}"

started=$(date +%s)
status=0
swift test --sanitize=address --scratch-path "$scratch" --skip ResourceLifetimeXCTests "$@" 2>&1 | tee "$output" ||
    status=$?
elapsed=$(($(date +%s) - started))

for file in "$reports_dir"/asan.*; do
    [ -e "$file" ] || continue
    echo "asan.sh: sanitizer output of process ${file##*.}:"
    cat "$file"
done | tee -a "$output"
mkdir -p "$scratch"
cp "$output" "$scratch/asan.log"

count=$(grep -acE "ERROR: (AddressSanitizer|LeakSanitizer)" "$output" || true)
suppressed=$(grep -aA3 "Suppressions used:" "$output" | grep -aE "^ +[0-9]+ +[0-9]+ " | sort | uniq -c || true)
echo
echo "asan.sh: reports:"
if [ "$count" -eq 0 ]; then echo "  none"; else grep -a "^SUMMARY: " "$output" | sort | uniq -c; fi
if [ -n "$suppressed" ]; then
    echo "asan.sh: suppressed leaks (scripts/lsan.supp), by process:"
    printf '%s\n' "$suppressed" | sed 's/^/  /'
fi
if [ "$count" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "asan.sh: PASSED: no AddressSanitizer or LeakSanitizer reports, swift test passed (${elapsed}s, log in $scratch/asan.log)"
    exit 0
fi
echo "asan.sh: FAILED: $count report(s), swift test exited $status (${elapsed}s, log in $scratch/asan.log)"
exit 1
