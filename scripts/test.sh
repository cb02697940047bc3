#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds everything and runs every test, XCTest and Swift Testing.
#
# Where /dev/kvm exists, KVM tests must run: KVMHARNESS_REQUIRE_KVM=1 makes a KVM test that cannot use KVM fail
# instead of skipping, and this script fails if any test reports itself skipped.
#
# Then it runs the in-process guest suites again from a release build: optimizers add vector instructions and libc
# calls to guest code that debug builds never show (KVMHARNESS_SKIP_RELEASE=1 skips this phase, for quick local
# runs). Extra arguments go to the first `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ -e /dev/kvm ]; then
    export KVMHARNESS_REQUIRE_KVM=1
    echo "test.sh: /dev/kvm present: KVM tests must run, skips count as failures"
else
    echo "test.sh: no /dev/kvm: KVM tests will skip with the reason"
fi

# Runs `swift test` with the given arguments; fails on a failing test, and on any skipped test where KVM exists.
run_phase() {
    local phase=$1
    shift
    local status=0
    swift test "$@" 2>&1 | tee "$log" || status=$?
    local skipped
    skipped=$(grep -E "Test Case .* skipped|Test .* skipped" "$log" || true)
    if [ -e /dev/kvm ] && [ -n "$skipped" ]; then
        echo "test.sh: FAILED ($phase): /dev/kvm exists but these tests skipped:" >&2
        echo "$skipped" >&2
        exit 1
    fi
    if [ "$status" -ne 0 ]; then
        echo "test.sh: FAILED ($phase): swift test exited with $status" >&2
        exit "$status"
    fi
}

run_phase "all tests" "$@"

if [ "${KVMHARNESS_SKIP_RELEASE:-0}" != 1 ]; then
    echo "test.sh: the in-process guest suites again, with guest code built for release"
    run_phase "release-built guests" -c release --scratch-path .build-release \
        --filter "CoreKVMTests|GuestReportingTests|HostileGuestTests|CoreXCTests|GuestFailureLocationXCTests"
fi

echo "test.sh: all tests passed"
