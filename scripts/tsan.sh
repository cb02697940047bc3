#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer and fails on any ThreadSanitizer report.
#
# Why: guests run on pthreads of their own (one per vCPU, blocking in KVM_RUN), a coordinator waits for them with a
# deadline, and vCPUs are kicked out with a real-time signal. Data races, unjoined or leaked threads and signal
# misuse in that machinery rarely show in ordinary runs; TSan finds them in one.
#
# How:
# - `swift test --sanitize=thread` with its own scratch path, .build-tsan (ignored by .gitignore's `.build-*/`),
#   so it never invalidates the ordinary .build. The first build takes a few minutes.
# - Guest C code is never instrumented: GUEST_CODE_BEGIN turns sanitizer instrumentation off for it (an instrumented
#   guest function would call the host's TSan runtime from inside the guest and fault at its first instruction).
#   The host's C (the CKVM shim) and all Swift code are instrumented.
# - ResourceLifetimeXCTests are skipped here: they read process-wide figures from /proc/self (threads, VmSize,
#   mappings), which the TSan runtime changes with threads and shadow mappings of its own. What they check, that
#   every thread is joined, TSan checks itself (report_thread_leaks=1); the ordinary test run runs them.
# - KVMHARNESS_REQUIRE_KVM=1 where /dev/kvm exists: the KVM tests, where the threads are, must run, not skip.
# - TSAN_OPTIONS: halt_on_error=0 (every report in one run), report_thread_leaks=1 (a thread never joined or
#   detached is a bug here), then any TSAN_OPTIONS of yours, then log_path (reports of every process, the XCTest
#   and Swift Testing runs and the kvm-harness processes the CLI tests start, go to files this script reads, so a
#   child's report cannot hide in its captured stderr) and exitcode=0 (so swift test's status is the tests' own).
#
# Fails (exit 1) if any "WARNING: ThreadSanitizer" report appears, if the TSan runtime itself fails, or if swift
# test fails; prints the reports, their number by kind and a one-line verdict. The whole output is also kept in
# .build-tsan/tsan.log. Extra arguments go to `swift test`, e.g. scripts/tsan.sh --filter CoreKVMTests
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=.build-tsan
reports_dir=$(mktemp -d)
output=$(mktemp)
trap 'rm -rf "$reports_dir" "$output"' EXIT

if [ -e /dev/kvm ]; then
    export KVMHARNESS_REQUIRE_KVM=1
    echo "tsan.sh: /dev/kvm present: KVM tests must run"
else
    echo "tsan.sh: no /dev/kvm: KVM tests will skip, so the vCPU threads go untested" >&2
fi

export TSAN_OPTIONS="halt_on_error=0 report_thread_leaks=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-} log_path=$reports_dir/tsan exitcode=0"

started=$(date +%s)
status=0
swift test --sanitize=thread --scratch-path "$scratch" --skip ResourceLifetimeXCTests "$@" 2>&1 | tee "$output" ||
    status=$?
elapsed=$(($(date +%s) - started))

# The reports, from every process that wrote any, after the test output.
for file in "$reports_dir"/tsan.*; do
    [ -e "$file" ] || continue
    echo "tsan.sh: ThreadSanitizer output of process ${file##*.}:"
    cat "$file"
done | tee -a "$output"
mkdir -p "$scratch"
cp "$output" "$scratch/tsan.log"

# Reports start with "WARNING: ThreadSanitizer: <kind> (pid=N)". Runtime notices ("==N==ThreadSanitizer: WARNING:
# ...", e.g. an unknown printf format in an intercepted call) are listed but do not fail the run.
reports=$(grep -aoE "WARNING: ThreadSanitizer: .* \(pid=[0-9]+\)" "$output" |
    sed -E 's/^WARNING: ThreadSanitizer: (.*) \(pid=[0-9]+\)$/\1/' || true)
count=0
if [ -n "$reports" ]; then count=$(printf '%s\n' "$reports" | wc -l); fi
fatal=$(grep -acE "FATAL: ThreadSanitizer|ThreadSanitizer: CHECK failed|ThreadSanitizer: nested bug" "$output" || true)
notices=$(grep -aE "==[0-9]+==ThreadSanitizer: WARNING:" "$output" | sed -E 's/^==[0-9]+==//' | sort -u || true)

echo
echo "tsan.sh: ThreadSanitizer reports by kind:"
if [ "$count" -eq 0 ]; then
    echo "  none"
else
    printf '%s\n' "$reports" | sort | uniq -c | awk '{ n = $1; $1 = ""; printf "  %s: %d\n", substr($0, 2), n }'
    leaks=$(printf '%s\n' "$reports" | grep -c "^thread leak$" || true)
    more=$( (grep -aoE "And [0-9]+ more similar thread leaks" "$output" || true) | awk '{ n += $2 } END { print n + 0 }')
    if [ "$leaks" -gt 0 ]; then echo "  (the thread leak reports cover $((leaks + more)) threads)"; fi
    echo "tsan.sh: where (SUMMARY lines):"
    grep -a "^SUMMARY: ThreadSanitizer:" "$output" | sed 's/^SUMMARY: ThreadSanitizer: /  /' | sort | uniq -c
fi
if [ -n "$notices" ]; then
    echo "tsan.sh: runtime notices (not counted as failures):"
    printf '%s\n' "$notices" | sed 's/^/  /'
fi
if [ "$fatal" -gt 0 ]; then
    echo "tsan.sh: the ThreadSanitizer runtime failed $fatal time(s) (FATAL or CHECK failed): see $scratch/tsan.log" >&2
fi

if [ "$count" -eq 0 ] && [ "$fatal" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "tsan.sh: PASSED: no ThreadSanitizer reports, swift test passed (${elapsed}s, log in $scratch/tsan.log)"
    exit 0
fi
echo "tsan.sh: FAILED: $count ThreadSanitizer report(s), $fatal runtime failure(s), swift test exited $status" \
    "(${elapsed}s, log in $scratch/tsan.log)"
exit 1
