#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzzer + address sanitizer) and runs each for a bounded time,
# starting from the committed seeds. Any crash, leak, hang or failed invariant fails the run.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scratch=.build-fuzz
flags=(-c release --package-path Fuzz --scratch-path "$scratch"
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
    # gold fails on the sanitizer runtimes' debug info; lld links them.
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in ScannerFuzzer DecoderFuzzer; do
    echo "== building $target"
    swift build "${flags[@]}" --product "$target" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
    binary="$scratch/release/$target"
    [[ -x $binary ]] || { echo "fuzz: $target did not build" >&2; exit 1; }
    seeds=Fuzz/Seeds/$(echo "${target%Fuzzer}" | tr '[:upper:]' '[:lower:]')
    corpus="$work/$target"
    mkdir -p "$corpus" "$work/artifacts-$target"
    cp "$seeds"/* "$corpus"/
    echo "== running $target for ${seconds}s"
    if ! "$binary" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts-$target/" -print_final_stats=1 "$corpus" >"$work/$target.log" 2>&1; then
        tail -40 "$work/$target.log" >&2
        mkdir -p .fuzz-artifacts && cp -r "$work/artifacts-$target" .fuzz-artifacts/ || true
        echo "fuzz: $target failed; reproducer saved under .fuzz-artifacts/" >&2
        exit 1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$work/$target.log" || true
done
echo "fuzz: no crash, hang or invariant failure"
