#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds everything and runs every test, XCTest and Swift Testing.
#
# Where /dev/kvm exists, KVM tests must run: KVMHARNESS_REQUIRE_KVM=1 makes a KVM test that cannot use KVM fail
# instead of skipping, and this script fails if any test reports itself skipped.
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

status=0
swift test "$@" 2>&1 | tee "$log" || status=$?

skipped=$(grep -E "Test Case .* skipped|Test .* skipped" "$log" || true)
if [ -e /dev/kvm ] && [ -n "$skipped" ]; then
    echo "test.sh: FAILED: /dev/kvm exists but these tests skipped:" >&2
    echo "$skipped" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "test.sh: FAILED: swift test exited with $status" >&2
    exit "$status"
fi
echo "test.sh: all tests passed"
