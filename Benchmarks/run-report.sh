#!/usr/bin/env bash
# Times the real `logmetrics report` end to end on a generated corpus and checks its output.
#
#   Benchmarks/run-report.sh [LINES] [FORMAT]        (defaults: 1000000 json)
#
# 1. Builds logmetrics in release at the repository root, in its own scratch directory
#    (.build-bench) so that it never disturbs a development build in .build.
# 2. Generates the corpus with make-corpus (seed 1; FORMAT is json, json-declared, cri,
#    cri-declared or text) into a temporary directory.
# 3. Runs `logmetrics report --format prometheus CORPUS` once and checks every
#    logmetrics_http_requests_total sum per (route, response_code, response_flags), the slow
#    request count, the duration sum and the parsed line count against the generator's counts.
# 4. Runs it RUNS more times (default 3) under GNU time, output to /dev/null, and prints the
#    best wall time with its CPU time, lines per CPU-second, MB/s and the largest max RSS.
#
# Environment: RUNS (timed runs), SEED, KEEP=1 to keep the corpus and outputs.
set -euo pipefail

LINES="${1:-1000000}"
FORMAT="${2:-json}"
RUNS="${RUNS:-3}"
SEED="${SEED:-1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/logmetrics-report.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi

# GNU time gives the maximum resident set size; the shell keyword does not.
if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
    echo "installing GNU time" >&2
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

echo "== building logmetrics (release, .build-bench) and make-corpus" >&2
swift build -c release --package-path "$ROOT" --scratch-path "$ROOT/.build-bench" --product logmetrics >&2
swift build -c release --package-path "$ROOT/Benchmarks" --product make-corpus >&2
LOGMETRICS="$ROOT/.build-bench/release/logmetrics"
MAKE_CORPUS="$ROOT/Benchmarks/.build/release/make-corpus"

CORPUS="$WORK/access.log"
echo "== generating $LINES lines ($FORMAT, seed $SEED)" >&2
"$MAKE_CORPUS" --lines "$LINES" --seed "$SEED" --format "$FORMAT" "$CORPUS"
BYTES="$(stat -c %s "$CORPUS")"

echo "== checking the report against the generator's counts" >&2
"$LOGMETRICS" report --format prometheus "$CORPUS" >"$WORK/report.prom"
"$MAKE_CORPUS" verify --lines "$LINES" --seed "$SEED" "$WORK/report.prom"

# Elapsed time from GNU time's "h:mm:ss" or "m:ss.ss" to seconds.
to_seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.3f", s }' <<<"$1"; }

echo "== timing $RUNS runs: /usr/bin/time -v $LOGMETRICS report --format prometheus CORPUS > /dev/null" >&2
BEST_WALL=""
BEST_CPU=""
MAX_RSS=0
for run in $(seq "$RUNS"); do
    /usr/bin/time -v -o "$WORK/time.$run" "$LOGMETRICS" report --format prometheus "$CORPUS" >/dev/null
    WALL="$(to_seconds "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.$run")")"
    USER="$(sed -n 's/.*User time (seconds): //p' "$WORK/time.$run")"
    SYS="$(sed -n 's/.*System time (seconds): //p' "$WORK/time.$run")"
    RSS="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.$run")"
    CPU="$(awk -v u="$USER" -v s="$SYS" 'BEGIN { printf "%.3f", u + s }')"
    echo "run $run: wall ${WALL} s, user ${USER} s, sys ${SYS} s, max RSS ${RSS} KiB" >&2
    if [[ -z "$BEST_WALL" ]] || awk -v a="$WALL" -v b="$BEST_WALL" 'BEGIN { exit !(a < b) }'; then
        BEST_WALL="$WALL"
        BEST_CPU="$CPU"
    fi
    if ((RSS > MAX_RSS)); then MAX_RSS="$RSS"; fi
done

awk -v lines="$LINES" -v bytes="$BYTES" -v wall="$BEST_WALL" -v cpu="$BEST_CPU" -v rss="$MAX_RSS" \
    -v format="$FORMAT" -v runs="$RUNS" 'BEGIN {
    printf "corpus:              %d lines, %d bytes (%.0f bytes/line), %s\n", lines, bytes, bytes / lines, format
    printf "best of %d (wall):    %.3f s wall, %.3f s CPU (user + sys)\n", runs, wall, cpu
    printf "lines per CPU-second: %.0f\n", lines / cpu
    printf "lines per second:     %.0f (wall)\n", lines / wall
    printf "MB/s:                 %.0f (wall), %.0f (per CPU-second)\n", bytes / wall / 1e6, bytes / cpu / 1e6
    printf "max RSS:              %.1f MiB\n", rss / 1024
}'
