#!/usr/bin/env bash
# Long hostile runs that do not belong in the test command: scripts/soak.sh [cycles|cli|flood|spin|all] [N]
#
#   cycles  N (default 1,000) create-run-destroy cycles through the library in one process (SoakTests.cycles):
#           open descriptors, threads and RSS at the start, every 100 cycles and the end.
#   cli     N (default 1,000) runs of the built `kvm-harness run` on the clean example image, each a new process:
#           its peak RSS and exit status at the start, every 100 cycles and the end, and whether any kvm-harness
#           process or /dev/kvm descriptor outlived its run.
#   flood   10^6 ucalls from one guest, none lost (SoakTests.flood).
#   spin    64 vCPUs spinning until a 2 s deadline, all timed out and joined (SoakTests.spin).
#
# Figures are taken on whatever else the machine is doing; run it niced on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
count=${2:-1000}

# The soak tests are compiled only with -DKVMHARNESS_SOAK, in a scratch path of their own (.build-soak, ignored by
# git), so that the ordinary build and test run never see them.
scratch=.build-soak
flags=(--scratch-path "$scratch" -Xswiftc -DKVMHARNESS_SOAK)

run_soak_test() {
    KVMHARNESS_SOAK_CYCLES=$count KVMHARNESS_REQUIRE_KVM=1 \
        swift test --skip-build "${flags[@]}" --filter "SoakTests/$1" 2>&1 |
        grep -E "^soak:|^✘ Test run|^✔ Test run|error:" | uniq
}

# Processes other than this script's that have /dev/kvm open (another helper's tests count too).
kvm_holders() {
    local n=0 fd
    for fd in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = /dev/kvm ] && n=$((n + 1))
    done 2>/dev/null
    echo "$n"
}

cli_cycles() {
    local cli=$scratch/debug/kvm-harness
    local images
    images=$(mktemp -d)
    bash scripts/build-guest-images.sh "$images" >/dev/null
    local image=$images/clean.elf failures=0 rss=0
    for i in $(seq 0 "$count"); do
        if [ "$i" -gt 0 ]; then
            if ! /usr/bin/time -o "$images/rss" -f "%M" "$cli" run "$image" --format json >/dev/null 2>&1; then
                failures=$((failures + 1))
            fi
            rss=$(tail -1 "$images/rss")
        fi
        if [ $((i % 100)) -eq 0 ]; then
            local leftover
            leftover=$(pgrep -c -x kvm-harness || true)
            echo "soak: cli cycle $i: peak RSS of the last run ${rss} KiB, failed runs $failures," \
                "kvm-harness processes left $leftover, processes holding /dev/kvm $(kvm_holders)"
        fi
    done
    rm -rf "$images"
    [ "$failures" -eq 0 ]
}

swift build --build-tests "${flags[@]}" >/dev/null
case "$what" in
cycles) run_soak_test cycles ;;
cli) cli_cycles ;;
flood) run_soak_test flood ;;
spin) run_soak_test spin ;;
all) run_soak_test cycles; cli_cycles; run_soak_test flood; run_soak_test spin ;;
*) echo "soak.sh: cycles, cli, flood, spin or all" >&2; exit 2 ;;
esac
