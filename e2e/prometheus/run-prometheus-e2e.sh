#!/usr/bin/env bash
# logmetrics scraped by a real Prometheus, checked through Prometheus' HTTP API.
#
#   e2e/prometheus/run-prometheus-e2e.sh [--bin PATH] [--live] [--data DIR]
#                                        [--feed-seconds S] [--keep] [--self-test]
#
#   --bin PATH        the logmetrics binary (default: .build/debug/logmetrics,
#                     else .build/release/logmetrics)
#   --live            record a fresh Envoy run (e2e/envoy/run.sh, 600 requests)
#                     and use it instead of the committed fixture
#   --data DIR        use DIR/access.log and DIR/truth.json (default:
#                     e2e/fixtures/envoy-1.40)
#   --feed-seconds S  how long the istio phase takes to append the log (20)
#   --keep            keep the temporary directory (logs, Prometheus data)
#   --self-test       only run the tests of the checker (no processes)
#
# Needs prometheus and promtool (2.42 or newer; scripts/install-deps.sh test),
# python3 (3.9+) and nothing else; 127.0.0.1 only, ports chosen by the kernel.
# Exit status: 0 all checks passed, 1 a check failed, 2 it could not run.
set -Eeuo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E=$(dirname "$HERE")
ROOT=$(dirname "$E2E")
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1

BIN="" LIVE=0 DATA="" FEED=20 KEEP=0
while (($#)); do
  case $1 in
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --bin=*) BIN=${1#*=}; shift ;;
    --live) LIVE=1; shift ;;
    --data) DATA=${2:?--data needs a directory}; shift 2 ;;
    --feed-seconds) FEED=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --self-test) exec "$PY" -m unittest discover -s "$HERE" -p 'test_*.py' ;;
    -h | --help) usage ;;
    *) echo "run-prometheus-e2e.sh: unknown argument: $1" >&2; usage ;;
  esac
done

die() { echo "run-prometheus-e2e.sh: $*" >&2; exit 2; }
for tool in prometheus promtool "$PY"; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: scripts/install-deps.sh test, or apt-get install prometheus python3)"
done
if [[ -z $BIN ]]; then
  for candidate in "$ROOT/.build/debug/logmetrics" "$ROOT/.build/release/logmetrics"; do
    [[ -x $candidate ]] && { BIN=$candidate; break; }
  done
  [[ -n $BIN ]] || die "no logmetrics binary: run 'swift build' at $ROOT, or pass --bin PATH"
fi
[[ -x $BIN ]] || die "not an executable: $BIN (run 'swift build', or pass --bin PATH)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[[ -n $DATA ]] || DATA=$E2E/fixtures/envoy-1.40
((LIVE)) || [[ -f $DATA/access.log && -f $DATA/truth.json ]] || die "$DATA needs access.log and truth.json"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/logmetrics-prom-e2e.XXXXXX")
CHILD=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  # If the checker itself was killed, its processes are listed in WORK/pids:
  # stop those (and only those) that still run the program we started.
  if [[ -f $WORK/pids ]]; then
    while read -r pid exe; do
      if [[ -r /proc/$pid/cmdline ]] && [[ $(tr '\0' '\n' </proc/"$pid"/cmdline | head -n 1) == "$exe" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done <"$WORK/pids"
  fi
  if ((KEEP)); then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NAME=${DATA#"$ROOT"/}
if ((LIVE)); then
  echo "recording a fresh Envoy run (e2e/envoy/run.sh, 600 requests) ..." >&2
  "$E2E/envoy/run.sh" "$WORK/live" 600 || die "the Envoy run failed"
  DATA=$WORK/live
  NAME="a fresh Envoy run"
fi

"$PY" "$HERE/prom_e2e.py" --bin "$BIN" --data "$DATA" --data-name "$NAME" --workdir "$WORK" \
  --feed-seconds "$FEED" &
CHILD=$!
RC=0
wait "$CHILD" || RC=$?
CHILD=""
exit "$RC"
