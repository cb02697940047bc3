#!/usr/bin/env bash
# The environment faults, one after another, with the built kvm-harness on the clean example image: no KVM device,
# permission denied, a device that is not KVM, too few file descriptors, a low address-space limit. Prints each
# case's exit status and its stderr (which must be one line: the operation, the errno, what to do).
# Usage: scripts/env-faults.sh [path/to/kvm-harness]   (default .build/debug/kvm-harness; run swift build first)
set -uo pipefail
cd "$(dirname "$0")/.."
cli=$(realpath "${1:-.build/debug/kvm-harness}")
images=$(mktemp -d)
trap 'rm -rf "$images"' EXIT
bash scripts/build-guest-images.sh "$images" >/dev/null
chmod 755 "$images" && chmod 644 "$images"/*.elf  # readable by the unprivileged user of the permission case
image=$images/clean.elf
locked=$images/locked-device
: >"$locked"
chmod 000 "$locked"

case_() {
    local name=$1
    shift
    local out err status
    out=$(mktemp)
    err=$(mktemp)
    "$@" >"$out" 2>"$err"
    status=$?
    printf '%s: status %s, %s stderr line(s): %s\n' "$name" "$status" "$(wc -l <"$err")" "$(head -c 400 "$err")"
    # A failure after the run started is a run event on stdout, not a diagnostic.
    [ -s "$err" ] || grep -E "error|result" "$out" | sed 's/^/    stdout: /'
    rm -f "$out" "$err"
}

case_ "no /dev/kvm" "$cli" run "$image" --device /nonexistent/kvm
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    case_ "permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups "$cli" run "$image" --device "$locked"
else
    case_ "permission denied" "$cli" run "$image" --device "$locked"
fi
case_ "not a KVM device" "$cli" run "$image" --device /dev/null
for n in 4 5; do case_ "ulimit -n $n" bash -c "ulimit -n $n && exec \"\$0\" run \"\$1\"" "$cli" "$image"; done
for v in 70000 100000; do case_ "ulimit -v $v (KiB)" bash -c "ulimit -v $v && exec \"\$0\" run \"\$1\"" "$cli" "$image"; done
case_ "ulimit -v 200000, --memory 1048576" bash -c "ulimit -v 200000 && exec \"\$0\" run \"\$1\" --memory 1048576" "$cli" "$image"
