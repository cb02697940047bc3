#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds everything and runs every test, XCTest and Swift Testing.
#
# Where /dev/kvm exists, KVM tests must run: KVMHARNESS_REQUIRE_KVM=1 makes a KVM test that cannot use KVM fail
# instead of skipping, and this script fails if any test reports itself skipped.
#
# Then, each phase skippable for quick local runs:
# - the in-process guest suites again from a release build: optimizers add vector instructions and libc calls to
#   guest code that debug builds never show (KVMHARNESS_SKIP_RELEASE=1);
# - a scratch package that depends on this one by version builds and runs a guest test with `import KVMHarness`
#   alone, naming the KVM C structs (scripts/check-dependent-package.sh; KVMHARNESS_SKIP_DEPENDENT=1);
# - the DocC documentation builds without warnings (scripts/docs.sh; KVMHARNESS_SKIP_DOCS=1);
# - the whole suite under ThreadSanitizer, with no report allowed (scripts/tsan.sh; KVMHARNESS_SKIP_TSAN=1);
# - the benchmarks once with tiny counts so that they cannot rot (KVMHARNESS_SKIP_BENCH=1);
# - arm64 (KVMHARNESS_SKIP_ARM64=1): the guest runtime checked for aarch64 (scripts/check-guest-aarch64.sh), and the
#   library cross-built for aarch64 and its arm64 guest tests run on an emulated arm64 KVM host (scripts/arm64.sh).
#   Its downloads start at once in the background, and the build and boot run beside the release phase: on 2 cores
#   the x86 phases leave a core idle much of the time.
# Extra arguments go to the first `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
hugepages_before=""
cleanup() {
    rm -f "$log"
    # The arm64 phase's background jobs, if the script stops early.
    for job in ${arm64_prepare:-} ${arm64_phase:-}; do kill "$job" 2>/dev/null || true; done
    if [ -n "$hugepages_before" ]; then echo "$hugepages_before" >/proc/sys/vm/nr_hugepages || true; fi
}
trap cleanup EXIT

# The hugetlbfs-backed memslot test needs 2 free 2 MiB huge pages, which a host has only if someone reserved them.
# Where this script may (root), it reserves 4 for the run and gives them back at the end, as one does before the
# kernel's own memory selftests; elsewhere that test skips, naming what is missing, and the skip is listed below.
if [ -w /proc/sys/vm/nr_hugepages ]; then
    free_pages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
    if [ "${free_pages:-0}" -lt 4 ]; then
        hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
        echo $((hugepages_before + 4 - ${free_pages:-0})) >/proc/sys/vm/nr_hugepages ||
            echo "test.sh: could not reserve 2 MiB huge pages; the hugetlbfs test will skip"
    fi
fi

if [ -e /dev/kvm ]; then
    export KVMHARNESS_REQUIRE_KVM=1
    echo "test.sh: /dev/kvm present: KVM tests must run, skips count as failures"
else
    echo "test.sh: no /dev/kvm: KVM tests will skip with the reason"
fi

# The independent checkers the CLI tests hold `kvm-harness test`'s reports against: the kernel's kunit.py (from
# Debian's linux-source-6.12, installed here when this runs as root) and the JUnit schema with the xmlschema
# validator (from PyPI). The tests install them too if this did not; where they cannot be had, they skip with why.
bash scripts/install-report-checkers.sh || echo "test.sh: a report checker is unavailable (see the line above)"

passed=0
skips_allowed=0

arm64_dir=$(mktemp -d)
arm64_prepare=""
arm64_phase=""
if [ "${KVMHARNESS_SKIP_ARM64:-0}" != 1 ]; then
    echo "test.sh: preparing the arm64 phase in the background (scripts/arm64.sh --prepare; log $arm64_dir/prepare.log)"
    bash scripts/arm64.sh --prepare >"$arm64_dir/prepare.log" 2>&1 &
    arm64_prepare=$!
fi

# Runs `swift test` with the given arguments; fails on a failing test, and on any skipped test where KVM exists.
# Adds the phase's passed tests (Swift Testing's and XCTest's closing lines) to `passed`.
run_phase() {
    local phase=$1
    shift
    local status=0
    swift test "$@" 2>&1 | tee "$log" || status=$?
    # A skip for a named missing capability or CPU feature (the `.requires(...)` trait, XCTest's skipUnless), or for
    # huge pages a non-root run could not reserve, is allowed and listed; any other skip is a failure where /dev/kvm exists. Swift Testing prints the trait's
    # comment on the skip line; XCTest prints the reason ("Test skipped - requires ...") on the line before.
    local skipped allowed allowed_count=0
    skipped=$(grep -aE "Test Case .* skipped|Test .* skipped" "$log" || true)
    allowed=$(awk '/Test skipped - requires (KVM_CAP_|CPU feature|[0-9]+ free 2 MiB hugetlbfs pages)/ { reason = 1; next }
        /Test Case .* skipped/ { if (reason) print; reason = 0; next }
        /Test .* skipped: "requires (KVM_CAP_|CPU feature|[0-9]+ free 2 MiB hugetlbfs pages)/ { print }' "$log")
    if [ -n "$allowed" ]; then
        echo "test.sh: skipped for a capability or CPU feature this host lacks ($phase):"
        echo "$allowed" | sed 's/^/  /'
        allowed_count=$(echo "$allowed" | wc -l)
        skips_allowed=$((skips_allowed + allowed_count))
    fi
    skipped=$(echo "$skipped" | grep -vxF -f <(echo "$allowed") | grep -v '^$' || true)
    if [ -e /dev/kvm ] && [ -n "$skipped" ]; then
        echo "test.sh: FAILED ($phase): /dev/kvm exists but these tests skipped:" >&2
        echo "$skipped" >&2
        exit 1
    fi
    if [ "$status" -ne 0 ]; then
        echo "test.sh: FAILED ($phase): swift test exited with $status" >&2
        exit "$status"
    fi
    local testing xctest
    testing=$(grep -aoE "Test run with [0-9]+ tests? " "$log" | tail -1 | grep -oE "[0-9]+" || echo 0)
    xctest=$(grep -aoE "Executed [0-9]+ tests?" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0)
    # Both frameworks count skipped tests among those they ran.
    passed=$((passed + ${testing:-0} + ${xctest:-0} - allowed_count))
}

run_phase "all tests" "$@"

if [ -n "$arm64_prepare" ]; then
    echo "test.sh: the guest runtime and stubs for aarch64 (scripts/check-guest-aarch64.sh)"
    bash scripts/check-guest-aarch64.sh
    echo "test.sh: the arm64 phase, in the background (scripts/arm64.sh; log $arm64_dir/arm64.log)"
    # (A subshell cannot wait for its sibling: it polls until the preparation has finished.)
    ( while kill -0 "$arm64_prepare" 2>/dev/null; do sleep 1; done; bash scripts/arm64.sh ) >"$arm64_dir/arm64.log" 2>&1 &
    arm64_phase=$!
fi

if [ "${KVMHARNESS_SKIP_RELEASE:-0}" != 1 ]; then
    echo "test.sh: the in-process guest suites again, with guest code built for release"
    # The core suites, and every port of a kernel selftest (each suite in Tests/KVMHarnessTests/Selftests/).
    ports=$(sed -nE 's/^(final class|struct) ([A-Za-z0-9_]+).*/\2/p' Tests/KVMHarnessTests/Selftests/*.swift | paste -sd'|')
    run_phase "release-built guests" -c release --scratch-path .build-release \
        --filter "CoreKVMTests|GuestReportingTests|HostileGuestTests|GuestProcessorTests|CoreXCTests|GuestFailureLocationXCTests${ports:+|$ports}"
fi

if [ "${KVMHARNESS_SKIP_DEPENDENT:-0}" != 1 ]; then
    echo "test.sh: a package depending on this one by version (scripts/check-dependent-package.sh)"
    bash scripts/check-dependent-package.sh 2>&1 | tee "$log"
    passed=$((passed + $(grep -c "check-dependent-package.sh: PASS" "$log" || true)))
fi

if [ "${KVMHARNESS_SKIP_DOCS:-0}" != 1 ]; then
    echo "test.sh: the DocC documentation, warnings as errors (scripts/docs.sh)"
    bash scripts/docs.sh
fi

if [ "${KVMHARNESS_SKIP_TSAN:-0}" != 1 ]; then
    echo "test.sh: every test again under ThreadSanitizer (scripts/tsan.sh)"
    bash scripts/tsan.sh
fi

if [ "${KVMHARNESS_SKIP_BENCH:-0}" != 1 ]; then
    echo "test.sh: the benchmark smoke run (tiny counts; no timing is asserted)"
    bash scripts/bench.sh --smoke
fi

if [ -n "$arm64_phase" ]; then
    arm64_status=0
    wait "$arm64_phase" || arm64_status=$?
    echo "test.sh: the arm64 phase (scripts/arm64.sh --prepare, then scripts/arm64.sh):"
    grep -v "will never be executed" "$arm64_dir/prepare.log" "$arm64_dir/arm64.log" | sed 's/^[^:]*\.log://'
    arm64_line=$(grep -E "^arm64: [0-9]+ passed, [0-9]+ failed" "$arm64_dir/arm64.log" | tail -1)
    if [ "$arm64_status" -ne 0 ] || [ -z "$arm64_line" ]; then
        echo "test.sh: FAILED (arm64): scripts/arm64.sh exited with $arm64_status" >&2
        exit 1
    fi
    passed=$((passed + $(echo "$arm64_line" | sed -E 's/^arm64: ([0-9]+) passed.*/\1/')))
fi

echo "test.sh: all tests passed"
echo "tests: $passed passed, 0 failed, $skips_allowed skipped"
