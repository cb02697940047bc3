#!/usr/bin/env bash
# Runs one libFuzzer target for a given number of seconds: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#
# TARGET is UcallDecoder (the ucall decoder and the page walk over arbitrary guest memory and page tables) or
# ImageLoader (the ELF guest-image parser and the loader's placement checks, fit in guest RAM included). Both are in
# the separate package Fuzz/, built with -sanitize=fuzzer,address into its own scratch path (.build-fuzz, ignored by
# git), so the flags never reach the library products.
#
# The corpus lives in Fuzz/Corpus/TARGET (kept: each run starts where the last stopped; libFuzzer adds what finds
# new coverage). ImageLoader is seeded with the example guest images when its corpus is empty. A crash, leak or
# timeout leaves its input in Fuzz/Crashes/TARGET; once the bug is fixed, move the input to Fuzz/Regressions/TARGET,
# where FuzzRegressionTests (part of `swift test`) run it through the same checks on every CI run.
#
# Prints libFuzzer's final line (executions, corpus) and exits with libFuzzer's status (0: nothing found).
# Run it niced on a shared machine: nice scripts/fuzz.sh ImageLoader 600
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh UcallDecoder|ImageLoader SECONDS [libFuzzer options]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
shift 2
case "$target" in
UcallDecoder | ImageLoader) ;;
*) echo "fuzz.sh: unknown target $target (UcallDecoder or ImageLoader)" >&2; exit 2 ;;
esac

scratch=$PWD/.build-fuzz
swift build --package-path Fuzz --scratch-path "$scratch" --product "Fuzz$target" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=address >&2
binary=$scratch/debug/Fuzz$target

corpus=Fuzz/Corpus/$target
crashes=Fuzz/Crashes/$target
mkdir -p "$corpus" "$crashes"
if [ "$target" = ImageLoader ] && [ -z "$(ls -A "$corpus")" ]; then
    images=$(mktemp -d)
    bash scripts/build-guest-images.sh "$images" >&2 || true
    cp "$images"/*.elf "$corpus"/ 2>/dev/null || true
    rm -rf "$images"
fi

# -timeout: one input may take at most 10 s (the loader must refuse a huge image at once, not after minutes).
# -rss_limit_mb: an input must not make the process grow past 2 GiB.
# -max_len: guest memory for the decoder is 64 KiB; images may be larger.
max_len=65536
[ "$target" = ImageLoader ] && max_len=262144
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
"$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$@" 2>&1 | tee "$log" | grep -E "^(#|==|INFO: (Seed|Running)|stat::|SUMMARY|Done)" | tail -20
status=${PIPESTATUS[0]}
set -e
echo "fuzz.sh: $target: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) files, status $status"
exit "$status"
