#!/usr/bin/env bash
# End-to-end check of logmetrics against a real Envoy.
#
#   e2e/run-envoy-e2e.sh [--bin PATH] [--from DIR] [-n N] [--keep]
#
#   --bin PATH   the logmetrics executable (default: .build/release/logmetrics
#                in the repository)
#   --from DIR   skip Envoy and use an earlier run.sh output or a fixture
#                directory, e.g. e2e/fixtures/envoy-1.40
#   -n N         requests in the Envoy run (default 2000); SEED=… is passed on
#   --keep       keep the work directory even when everything passes
#
# Runs e2e/envoy/run.sh into a temporary directory, then
#   logmetrics report --format prometheus FILE
# for FILE = access.log, cri.log and docker-json.log, and once more reading
# access.log from stdin, and holds each output to the run's ground truth with
# e2e/compare.py.  Exit status 0 only if all four agree.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1 # keep the source tree clean
BIN=$REPO/.build/release/logmetrics
FROM=""
N=2000
KEEP=0

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --bin) [[ $# -ge 2 ]] || usage; BIN=$2; shift 2 ;;
    --bin=*) BIN=${1#--bin=}; shift ;;
    --from) [[ $# -ge 2 ]] || usage; FROM=$2; shift 2 ;;
    --from=*) FROM=${1#--from=}; shift ;;
    -n) [[ $# -ge 2 ]] || usage; N=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    *) echo "run-envoy-e2e.sh: unknown argument: $1" >&2; usage ;;
  esac
done

say() { printf '[e2e] %s\n' "$*" >&2; }

# Fail before spending time on Envoy if there is nothing to test.
if [[ ! -f $BIN || ! -x $BIN ]]; then
  say "ERROR: logmetrics executable not found (or not executable): $BIN"
  say "       build it first (swift build -c release) or pass --bin PATH"
  exit 1
fi
[[ $BIN == /* ]] || BIN=$PWD/$BIN

WORK=$(mktemp -d "${TMPDIR:-/tmp}/logmetrics-e2e.XXXXXX")
finish() {
  local rc=$?
  if ((rc == 0 && KEEP == 0)); then
    rm -rf "$WORK"
  else
    say "work directory kept: $WORK"
  fi
}
trap finish EXIT

if [[ -n $FROM ]]; then
  [[ -f $FROM/truth.json && -f $FROM/envoy-stats.json ]] || { say "ERROR: $FROM has no truth.json / envoy-stats.json"; exit 1; }
  RUN=$(cd "$FROM" && pwd)
  say "using the recorded run in $RUN"
else
  RUN=$WORK/run
  "$HERE/envoy/run.sh" "$RUN" "$N"
fi

FAILED=0
RESULTS=()
check() { # NAME INPUT-FILE MODE(file|stdin)
  local name=$1 input=$2 mode=$3 out=$WORK/$1.prom err=$WORK/$1.stderr rc=0
  if [[ $mode == stdin ]]; then
    timeout --foreground 300 "$BIN" report --format prometheus <"$input" >"$out" 2>"$err" || rc=$?
  else
    timeout --foreground 300 "$BIN" report --format prometheus "$input" >"$out" 2>"$err" || rc=$?
  fi
  if ((rc != 0)); then
    say "FAIL $name: logmetrics exited with status $rc"
    sed 's/^/    /' "$err" | tail -n 20 >&2
    RESULTS+=("FAIL  $name (logmetrics exit $rc)")
    FAILED=1
    return 0
  fi
  if "$PY" "$HERE/compare.py" "$RUN" "$out"; then
    RESULTS+=("ok    $name")
  else
    RESULTS+=("FAIL  $name (see above; output in $out)")
    FAILED=1
  fi
}

check access.log "$RUN/access.log" file
check cri.log "$RUN/cri.log" file
check docker-json.log "$RUN/docker-json.log" file
check stdin "$RUN/access.log" stdin

say "summary ($BIN):"
for r in "${RESULTS[@]}"; do say "  $r"; done
exit $FAILED
