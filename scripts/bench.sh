#!/usr/bin/env bash
# Runs the KVMHarness benchmarks (the Benchmarks/ package; BENCHMARKS.md explains every number): builds it in
# release mode with its own scratch path, builds the CLI and the example guest images, runs everything, prints the
# table with met or missed for each target, and writes the results as JSON.
#
# Usage: bash scripts/bench.sh [--smoke] [--markdown PATH] [--only SECTION,...]
#
#   --smoke   tiny counts (seconds, not minutes), for CI: checks that every measurement still runs and produces
#             possible numbers, and fails if one does not. Missed targets never fail a run, smoke or full.
#
# The memory rows' baseline is the kernel's memslot_perf_test and dirty_log_perf_test, run with the same parameters
# in the same run, from $KVMH_KERNEL_SELFTESTS (default: /tmp/kst/src/tools/testing/selftests/kvm, the build that
# ../shared/tools/kernel-selftests/ makes); without them those rows have no baseline, and the run says so.
#
# Results: .build/benchmarks/results.json (and the perf and CLI outputs next to it). The guest instruction counts
# need perf (Debian's linux-perf) and root; without them that row says "not measured".
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
pass=()
for argument in "$@"; do
    case $argument in
    --smoke) smoke=1 ;;
    *) pass+=("$argument") ;;
    esac
done

scratch=Benchmarks/.build
out=.build/benchmarks
mkdir -p "$out"
results="$out/results.json"
rm -f "$results"

if [ ! -e /dev/kvm ]; then
    if [ "$smoke" = 1 ]; then
        echo "bench.sh: no /dev/kvm: nothing to benchmark, smoke run skipped"
        exit 0
    fi
    echo "bench.sh: no /dev/kvm: the benchmarks run guests and need KVM" >&2
    exit 1
fi

if ! command -v perf >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench.sh: installing linux-perf for the guest instruction counts"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf) >/dev/null 2>&1; then
        echo "bench.sh: could not install linux-perf: the guest cost will be reported as not measured"
    fi
fi

started=$(date +%s)
echo "bench.sh: building the benchmarks (release, $scratch)"
swift build -c release --package-path Benchmarks --scratch-path "$scratch"
# The CLI, from the same build of the library: an executable product of the root package, built here in release.
swift build -c release --package-path Benchmarks --scratch-path "$scratch" --product kvm-harness
bin=$(swift build -c release --package-path Benchmarks --scratch-path "$scratch" --show-bin-path)

image_arguments=()
if [ -f scripts/build-guest-images.sh ] && bash scripts/build-guest-images.sh "$out/guest-images"; then
    image_arguments=(--image "$out/guest-images/sync_loop.elf")
else
    echo "bench.sh: the guest images could not be built: the image and CLI rows will say not measured"
fi
built=$(date +%s)
echo "bench.sh: built in $((built - started)) s"

kernel_selftests=${KVMH_KERNEL_SELFTESTS:-/tmp/kst/src/tools/testing/selftests/kvm}
if [ -x "$kernel_selftests/memslot_perf_test" ] && [ -x "$kernel_selftests/dirty_log_perf_test" ]; then
    image_arguments+=(--kernel-selftests "$kernel_selftests")
else
    echo "bench.sh: no kernel C selftests in $kernel_selftests (memslot_perf_test, dirty_log_perf_test): the memory rows have no baseline"
fi

arguments=(--json "$results" --cli "$bin/kvm-harness" "${image_arguments[@]}")
if [ "$smoke" = 1 ]; then arguments+=(--smoke); fi
status=0
"$bin/kvm-harness-bench" "${arguments[@]}" "${pass[@]}" || status=$?

if [ "$status" -ne 0 ]; then
    echo "bench.sh: FAILED: kvm-harness-bench exited with $status" >&2
    exit "$status"
fi
if [ ! -s "$results" ] || ! grep -q '"sane": true' "$results"; then
    echo "bench.sh: FAILED: $results is missing or reports impossible values" >&2
    exit 1
fi
echo "bench.sh: done in $(($(date +%s) - started)) s; results in $results"
