#!/usr/bin/env python3
"""logmetrics scraped by a real Prometheus, checked over Prometheus' HTTP API.

Started by run-prometheus-e2e.sh (which owns the temporary directory); see
README.md next to this file for what is checked and why the bounds hold.

  prom_e2e.py --bin LOGMETRICS --data DIR --workdir TMPDIR [--feed-seconds 20]

DIR holds access.log and truth.json (a recorded or a fresh Envoy run).
Exit status: 0 all checks passed, 1 a check failed, 2 the harness could not run.
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "envoy"))
import checks  # noqa: E402
import labels  # noqa: E402  (e2e/envoy/labels.py: record -> logmetrics labels)

RANGE_S = 60  # the [1m] of the istio queries
LOCAL = "127.0.0.1"


class HarnessError(Exception):
    """The test could not be carried out (as opposed to a failed check)."""


class PhaseAbort(Exception):
    """A phase cannot go on (its logmetrics died, nothing to query)."""


# --- output ---------------------------------------------------------------------

class Report:
    def __init__(self):
        self.t0 = time.monotonic()
        self.passed = 0
        self.failed = []

    def elapsed(self):
        return time.monotonic() - self.t0

    def section(self, title):
        print(f"\n== {title}", flush=True)

    def note(self, text):
        print(f"   {text}", flush=True)

    def check(self, ok, title, details=()):
        print(f"{'PASS' if ok else 'FAIL'}  {title}", flush=True)
        for line in details:
            print(f"        {line}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(title)
        return ok


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- processes we start, and only those ---------------------------------------------

class Processes:
    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.started = []  # (name, Popen, logpath)

    def start(self, name, argv, logpath):
        with open(logpath, "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.started.append((name, proc, logpath))
        with open(self.pidfile, "a") as f:
            f.write(f"{proc.pid} {argv[0]}\n")
        return proc

    @staticmethod
    def describe_exit(proc):
        rc = proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exit status {rc}"

    def stop_all(self):
        for name, proc, _ in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for name, proc, _ in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {proc.pid}) ignored SIGTERM; sending SIGKILL")
                proc.kill()
                proc.wait()
        self.started = []


def crash_summary(logpath, limit=6):
    """The telling lines of a logmetrics that died: the error, the crashed frames."""
    try:
        with open(logpath, errors="replace") as f:
            text = f.read().splitlines()
    except OSError:
        return []
    picked = [l for l in text if re.search(r"Fatal error|Precondition failed|Assertion failed|^Error:|error:", l)]
    for i, line in enumerate(text):
        if re.match(r"Thread \d+ .*crashed:", line):
            frames = [re.sub(r"^\d+\s+(\[\w+\]\s+)*(0x[0-9a-f]+\s+)?", "", l.strip())
                      for l in text[i + 1:i + 30] if " in logmetrics at " in l]
            picked += [line.strip()] + frames[:3]
            break
    if not picked:
        picked = [l for l in text if not l.startswith("logmetrics: serving")][:limit]
    return picked[:limit]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, dict(resp.headers), resp.read()


# --- logmetrics -------------------------------------------------------------------------

class LogMetrics:
    def __init__(self, procs, binary, name, preset, path, workdir):
        self.name = name
        self.logpath = os.path.join(workdir, f"logmetrics-{name}.log")
        argv = [binary, "--preset", preset, "--listen", f"{LOCAL}:0", "--from", "head", path]
        self.proc = procs.start(f"logmetrics ({name})", argv, self.logpath)
        self.port = None

    def wait_listening(self, timeout=20):
        deadline = time.monotonic() + timeout
        pattern = re.compile(r"serving metrics on http://127\.0\.0\.1:(\d+)/metrics")
        while time.monotonic() < deadline:
            with open(self.logpath, errors="replace") as f:
                m = pattern.search(f.read())
            if m:
                self.port = int(m.group(1))
                return self.port
            if not self.alive():
                raise HarnessError(f"logmetrics ({self.name}) {Processes.describe_exit(self.proc)} before serving: "
                                   + " | ".join(crash_summary(self.logpath)))
            time.sleep(0.05)
        raise HarnessError(f"logmetrics ({self.name}) printed no 'serving metrics' line within {timeout} s")

    def alive(self):
        return self.proc.poll() is None

    def ensure_alive(self):
        if not self.alive():
            raise PhaseAbort(f"logmetrics --preset {self.name} {Processes.describe_exit(self.proc)}",
                             crash_summary(self.logpath))

    @property
    def target(self):
        return f"{LOCAL}:{self.port}"


# --- Prometheus ---------------------------------------------------------------------------

def prometheus_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise HarnessError(f"cannot tell the version of {binary}: {out[:200]!r}")
    return tuple(int(x) for x in m.groups())


class Prometheus:
    def __init__(self, procs, binary, version, name, native, targets, workdir):
        self.name = name
        self.native = native
        self.dir = os.path.join(workdir, f"prometheus-{name}")
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "prometheus.yml")
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:"]
        for job, target in targets.items():
            lines += [f"  - job_name: {job}", "    static_configs:", f"      - targets: ['{target}']"]
            if native and version >= (3, 8, 0):
                lines.append("    scrape_native_histograms: true")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.logpath = os.path.join(self.dir, "prometheus.log")
        for attempt in range(3):
            self.port = free_port()
            argv = [binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.dir}/data",
                    f"--web.listen-address={LOCAL}:{self.port}"]
            # Exemplar storage, to see that the exemplars logmetrics writes are read and kept.
            argv.append("--enable-feature=exemplar-storage")
            if native:
                argv.append("--enable-feature=native-histograms")
            self.proc = procs.start(f"prometheus ({name})", argv, self.logpath)
            if self._wait_ready():
                return
            with open(self.logpath, errors="replace") as f:
                text = f.read()
            if "address already in use" not in text:
                raise HarnessError(f"prometheus ({name}) {Processes.describe_exit(self.proc)}: "
                                   + " | ".join(text.splitlines()[-3:]))
        raise HarnessError(f"prometheus ({name}) found no free port")

    @property
    def base(self):
        return f"http://{LOCAL}:{self.port}"

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if http_get(self.base + "/-/ready", timeout=1)[0] == 200:
                    return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise HarnessError(f"prometheus ({self.name}) not ready within {timeout} s")

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            _, _, body = http_get(url, timeout=10)
        except urllib.error.HTTPError as e:
            body = e.read()
        except (urllib.error.URLError, OSError) as e:
            raise HarnessError(f"prometheus ({self.name}): {path}: {e}")
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise HarnessError(f"prometheus ({self.name}): {params.get('query', path)}: "
                               f"{doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, q, at=None):
        params = {"query": q}
        if at is not None:
            params["time"] = ms_text(at)
        return self.api("/api/v1/query", **params)["result"]

    def vector(self, q, at=None, by=()):
        """{tuple of label values in `by`: float}; one result per key is required."""
        out = {}
        for r in self.query(q, at):
            if "value" not in r:
                raise HarnessError(f"{q}: expected floats, got a histogram")
            key = tuple(r["metric"].get(l, "") for l in by) if len(by) != 1 else r["metric"].get(by[0], "")
            if key in out:
                raise HarnessError(f"{q}: two results for {key}")
            out[key] = checks.parse_value(r["value"][1])
        return out

    def scalar(self, q, at=None):
        v = self.vector(q, at)
        return v.get((), None) if v else None

    def scrape_times(self, job, lookback="10m", at=None):
        """Timestamps (ms) of the job's scrapes, from the raw samples of `up`."""
        res = self.query(f'up{{job="{job}"}}[{lookback}]', at)
        return sorted(ts_ms(ts) for r in res for ts, _ in r["values"])

    def targets_up(self, jobs):
        data = self.api("/api/v1/targets")
        health = {t["labels"]["job"]: (t["health"], t.get("lastError", "")) for t in data["activeTargets"]}
        return all(health.get(j, ("", ""))[0] == "up" for j in jobs), health


def ts_ms(ts):
    return int(round(float(ts) * 1000))


def ms_text(ms):
    return f"{ms // 1000}.{ms % 1000:03d}"


def poll(condition, timeout, interval=0.2, guard=None):
    """Calls condition() until it returns something truthy; None on timeout.
    guard() is called on every round (it raises to abort)."""
    deadline = time.monotonic() + timeout
    while True:
        if guard:
            guard()
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --- the data ------------------------------------------------------------------------

class Data:
    def __init__(self, directory):
        log_path = os.path.join(directory, "access.log")
        with open(log_path, "rb") as f:
            self.raw = f.read()
        if not self.raw.endswith(b"\n"):
            raise HarnessError(f"{log_path}: the last line has no newline")
        self.lines = self.raw.splitlines(keepends=True)
        self.records = [json.loads(l) for l in self.lines]
        with open(os.path.join(directory, "truth.json")) as f:
            self.truth = json.load(f)
        if self.truth["requests"] != len(self.records):
            raise HarnessError(f"truth.json plans {self.truth['requests']} requests, access.log has {len(self.records)}")
        self.totals = self.truth["totals"]

    @staticmethod
    def route(rec):
        return labels.route_label(rec.get("route_name"), rec.get("path"))

    @staticmethod
    def istio_key(rec):
        """The istio preset's request labels as docs/metrics.md derives them from
        a record: route_name, response_code, response_flags, slow_request (and
        error_type from the code); reporter and destination_service* from the
        cluster name, or for a server-side sidecar (an inbound| cluster) from
        the SNI or the authority; request_protocol and grpc_response_status
        from grpc_status.  Lines with equal keys share one series."""
        cluster = rec.get("upstream_cluster")
        inbound = (rec.get("requested_server_name"), rec.get("authority")) \
            if isinstance(cluster, str) and cluster.startswith("inbound|") else None
        return (Data.route(rec), int(rec.get("response_code") or 0), labels.normalize_flags(rec.get("response_flags")),
                (rec.get("duration") or 0) > labels.SLOW_THRESHOLD_MS, cluster, inbound, rec.get("grpc_status"))

    def durations_by(self, indexes, key):
        out = defaultdict(list)
        for i in indexes:
            out[key(self.records[i])].append(self.records[i]["duration"])
        return out


# --- checks shared by both presets -----------------------------------------------------------

def check_promtool(report, promtool, lm, allowed=()):
    status, headers, body = http_get(f"http://{lm.target}/metrics", {"Accept": "*/*"})  # what curl sends
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    res = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    out = (res.stdout + res.stderr).decode(errors="replace").strip().splitlines()
    problems = [l for l in out if l.strip() and l.strip() not in allowed]
    tolerated = [l for l in out if l.strip() in allowed]
    ok = status == 200 and ctype.startswith("text/plain; version=0.0.4") and not problems
    details = [f"{len(body)} bytes, Content-Type: {ctype}"] + [f"promtool: {p}" for p in problems[:20]]
    details += [f"tolerated: {t}" for t in tolerated]
    report.check(ok, f"promtool check metrics on /metrics (text) of logmetrics --preset {lm.name}: "
                     f"{'no problems' if not problems else f'{len(problems)} problem(s)'}", details)


def check_exemplars(report, prom, data, at):
    """Prometheus stored exemplars from logmetrics' OpenMetrics or protobuf scrapes: each names
    a request id of the log, sits on a series of the right family, and a duration exemplar lies
    inside the bucket it is attached to."""
    ids = {r.get("request_id") for r in data.records if r.get("request_id")}
    start, end = at / 1000 - 3600, time.time() + 60
    for family, is_histogram in (("logmetrics_http_requests_total", False),
                                 ("logmetrics_http_request_duration_seconds_bucket", True)):
        if is_histogram and not prom.query(f"count({family})", at):
            # Ingested as native histograms only: Prometheus keeps no classic buckets to attach
            # bucket exemplars to.
            continue
        results = prom.api("/api/v1/query_exemplars", query=family, start=f"{start:.3f}", end=f"{end:.3f}")
        exemplars = [(r["seriesLabels"], e) for r in results for e in r.get("exemplars", [])]
        problems = []
        for series, e in exemplars:
            rid = e["labels"].get("request_id")
            if rid not in ids:
                problems.append(f"exemplar labels {e['labels']} name no request id of the log")
            if is_histogram and float(e["value"]) > float(series.get("le", "+Inf")):
                problems.append(f"exemplar value {e['value']} above its bucket le={series.get('le')}")
            if not is_histogram and float(e["value"]) != 1:
                problems.append(f"request exemplar value {e['value']}, not 1")
        ok = bool(exemplars) and not problems
        report.check(ok, f"[{prom.name}] {len(exemplars)} exemplars stored for {family}, each a request id "
                         f"of the log{', inside its bucket' if is_histogram else ''}", problems[:10])


def check_format(report, prom, job, expected_format, at):
    """Every scrape of `job` by this Prometheus was answered in expected_format:
    logmetrics counts the scrapes it served per format (before the current one)."""
    served = prom.vector(f'logmetrics_scrape_duration_seconds_count{{job="{job}"}}', at, by=("format",))
    scrapes = len([t for t in prom.scrape_times(job, "1h", at) if t <= at])
    want = scrapes - 1
    ok = served.get(expected_format) == want
    report.check(ok, f"[{prom.name}] {job}: {checks.fmt_num(served.get(expected_format, 0))} of the {want} earlier "
                     f"scrapes were answered as {expected_format}",
                 [] if ok else [f"served per format: {served}; scrapes by this Prometheus: {scrapes}"])


def plus_inf_equals_count(report, prom, family, at):
    inf = {}
    for r in prom.query(f'{family}_bucket{{le="+Inf"}}', at):
        m = {k: v for k, v in r["metric"].items() if k not in ("__name__", "le")}
        inf[tuple(sorted(m.items()))] = float(r["value"][1])
    cnt = {}
    for r in prom.query(f"{family}_count", at):
        m = {k: v for k, v in r["metric"].items() if k != "__name__"}
        cnt[tuple(sorted(m.items()))] = float(r["value"][1])
    diffs = checks.diff_counts(cnt, inf, "+Inf bucket of ")
    report.check(not diffs and len(cnt) > 0,
                 f"[{prom.name}] {family}: +Inf bucket = _count for all {len(cnt)} series", diffs)


def check_le_set(report, prom, family, bounds, at):
    les = sorted({float(r["metric"]["le"]) for r in prom.query(f"{family}_bucket", at)})
    want = sorted(list(bounds) + [math.inf])
    report.check(les == want, f"[{prom.name}] {family}: bucket bounds are Envoy's ({len(want) - 1} + +Inf)",
                 [] if les == want else [f"got {les}", f"want {want}"])


def native_buckets_of(hist):
    """(zero_threshold, zero_count, {index: count}) of a histogram from the API."""
    zt, zero, counts = None, 0, {}
    for rule, lower, upper, count in hist["buckets"]:
        lower, upper, count = float(lower), float(upper), float(count)
        if lower < 0 < upper or rule == 3:
            zt, zero = upper, count
        else:
            counts[checks.index_of_upper(upper)] = count
    return zt, zero, counts


def check_native_content(report, prom, title, hist, values):
    """The buckets Prometheus holds equal the log's durations bucketed at schema 3."""
    zt, zero, counts = native_buckets_of(hist)
    base = checks.native_base()
    ratios = {round(float(u) / float(l), 9) for rule, l, u, _ in hist["buckets"] if float(l) > 0}
    schema_ok = ratios <= {round(base, 9)}
    threshold = zt if zt is not None else 2.0 ** -128
    want_zero, want = checks.native_buckets(values, threshold)
    diffs = checks.diff_counts({"zero": want_zero, **want} if want_zero else want,
                               {"zero": zero, **counts} if zero else counts, "bucket ")
    if float(hist["count"]) != len(values):
        diffs.insert(0, f"count {hist['count']}, expected {len(values)}")
    if not schema_ok:
        diffs.insert(0, f"bucket width ratios {sorted(ratios)}, schema 3 has {base:.9f}")
    report.check(not diffs, f"[{prom.name}] {title}: {len(want) + (1 if want_zero else 0)} native buckets "
                            f"(schema 3, zero threshold {threshold:.3g}) equal the log's {len(values)} durations",
                 diffs)
    return threshold


def describe_range(rng, unit):
    lo, hi, first, last = rng
    return f"[{lo:.6g}, {hi:.6g}] {unit}" + ("" if first == last else f" (buckets {first}..{last}: rank on an edge)")


# --- phase 1: the default preset on the whole log -------------------------------------------------

def settle_default(report, prom, lm, data, size):
    """Waits until this Prometheus has scraped logmetrics with the whole file read,
    then until two consecutive scrapes agree; returns the later scrape's time."""
    job = "default"

    def read_all():
        lm.ensure_alive()
        lines = prom.scalar(f'sum(logmetrics_lines_total{{job="{job}"}})')
        read = prom.scalar(f'sum(logmetrics_read_bytes_total{{job="{job}"}})')
        return (lines == len(data.records) and read == size), lines, read

    t_start = time.monotonic()
    if not poll(lambda: read_all()[0], 30):
        _, lines, read = read_all()
        report.check(False, f"[{prom.name}] logmetrics read the whole file",
                     [f"after 30 s: logmetrics_lines_total {lines} (want {len(data.records)}), "
                      f"logmetrics_read_bytes_total {read} (want {size})"])
    signature = ('sum by (route, method, response_code, response_flags, error_type, slow_request) '
                 '(logmetrics_http_requests_total)')

    def sig(at):
        return prom.vector(signature, at, by=("route", "method", "response_code", "response_flags",
                                              "error_type", "slow_request"))
    last = prom.scrape_times(job)[-1]
    previous = sig(last)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        newer = poll(lambda: [t for t in prom.scrape_times(job) if t > last], 5, guard=lm.ensure_alive)
        if not newer:
            break
        last = newer[0]
        current = sig(last)
        if current == previous:
            report.note(f"[{prom.name}] settled after {time.monotonic() - t_start:.1f} s; "
                        f"evaluating at the scrape of {ms_text(last)}")
            return last
        previous = current
    raise PhaseAbort(f"[{prom.name}] values of job default never stable over two scrapes", [])


def phase_default(report, ctx):
    data, lm = ctx.data, ctx.lm_default
    size = len(data.raw)
    report.section(f"logmetrics --preset default following a copy of {ctx.data_name} "
                   f"({len(data.records)} requests) --from head")
    durations_ms = [r["duration"] for r in data.records]
    seconds = [d / 1000 for d in durations_ms]
    per_series = data.durations_by(range(len(data.records)),
                                   lambda r: (Data.route(r), r.get("method") or "", labels.error_type(int(r.get("response_code") or 0))))
    for prom in ctx.proms:
        at = settle_default(report, prom, lm, data, size)
        check_format(report, prom, "default", prom.expected_format, at)

        # -- counters against truth.json
        for label in ("route", "response_code", "response_flags", "error_type"):
            got = prom.vector(f"sum by ({label}) (logmetrics_http_requests_total)", at, by=(label,))
            want = data.totals[f"by_{label}"]
            diffs = checks.diff_counts(want, got, f"{label}=")
            report.check(not diffs, f"[{prom.name}] sum by ({label}) (logmetrics_http_requests_total) = "
                                    f"truth totals.by_{label} ({len(want)} values)", diffs)
        keys = ("route", "method", "response_code", "response_flags", "error_type", "slow_request")
        got = prom.vector(f"sum by ({', '.join(keys)}) (logmetrics_http_requests_total)", at, by=keys)
        want = {tuple(s["labels"][k] for k in keys): s["value"] for s in data.truth["http_requests_total"]}
        diffs = checks.diff_counts(want, got)
        report.check(not diffs, f"[{prom.name}] logmetrics_http_requests_total by ({', '.join(keys)}) = "
                                f"truth http_requests_total ({len(want)} series)", diffs)

        check_exemplars(report, prom, data, at)

        # -- classic buckets
        family = "logmetrics_http_request_duration_seconds"
        has_classic = bool(prom.query(f"count({family}_bucket)", at))
        has_native = bool(prom.query(f"{family}", at))
        if has_classic:
            check_le_set(report, prom, family, checks.ENVOY_SECONDS, at)
            got = prom.vector(f"sum by (le) ({family}_bucket)", at, by=("le",))
            got = {float(k): v for k, v in got.items()}
            cumulative = checks.classic_cumulative(seconds, checks.ENVOY_SECONDS)
            want = dict(zip(list(checks.ENVOY_SECONDS) + [math.inf], cumulative))
            diffs = checks.diff_counts(want, got, "le=")
            report.check(not diffs, f"[{prom.name}] sum by (le) ({family}_bucket) = the log's cumulative counts", diffs)
            plus_inf_equals_count(report, prom, family, at)
            got = prom.vector(f"sum by (route, method, error_type) ({family}_count)", at,
                              by=("route", "method", "error_type"))
            want = {k: len(v) for k, v in per_series.items()}
            diffs = checks.diff_counts(want, got)
            report.check(not diffs, f"[{prom.name}] {family}_count by (route, method, error_type) = the log "
                                    f"({len(want)} series)", diffs)
            for q in (0.99, 0.5):
                est = prom.scalar(f"histogram_quantile({q}, sum by (le) ({family}_bucket))", at)
                x = checks.true_quantile(seconds, q)
                rng = checks.quantile_range(q, checks.classic_buckets(seconds, checks.ENVOY_SECONDS))
                ok = est is not None and rng[0] <= est <= rng[1]
                interp = checks.promql_classic_quantile(q, checks.ENVOY_SECONDS, cumulative)
                report.check(ok, f"[{prom.name}] classic p{round(q * 100)}: estimate {checks.fmt_num(est)} s, "
                                 f"exact {x:g} s (rank {math.ceil(checks.exact_q(q) * len(seconds))} of "
                                 f"{len(seconds)}), bucket {describe_range(rng, 's')}",
                             [f"linear interpolation of the log's own bucket counts: {interp:.6g} s"])
            ctx.figures[f"default classic p99 [{prom.name}]"] = (
                checks.true_quantile(seconds, 0.99),
                prom.scalar(f"histogram_quantile(0.99, sum by (le) ({family}_bucket))", at))
        elif prom.native and has_native:
            report.note(f"[{prom.name}] {family}_bucket: not stored; Prometheus "
                        f"{ctx.version_text} keeps only the native histogram of a family that has one")
        else:
            report.check(False, f"[{prom.name}] {family}_bucket exists", ["no classic bucket series at all"])

        # -- native histogram (only over protobuf)
        if prom.native:
            if not has_native:
                report.check(False, f"[{prom.name}] native histogram {family} exists "
                                    f"(Prometheus negotiated protobuf, which carries native histograms)",
                             [f"no series named {family} (without _bucket) in this Prometheus: logmetrics "
                              f"answered the protobuf scrapes without native buckets for this family",
                              "docs/metrics.md lists it as 'histogram (+ native)'; the istio preset's duration "
                              "family does carry them"])
                ctx.figures[f"default native p99 [{prom.name}]"] = (checks.true_quantile(seconds, 0.99), None)
                continue
            res = prom.query(f"sum({family})", at)
            threshold = check_native_content(report, prom, f"sum({family})", res[0]["histogram"][1], seconds)
            base = checks.native_base()
            for q in (0.99, 0.5):
                est = prom.scalar(f"histogram_quantile({q}, sum({family}))", at)
                x = checks.true_quantile(seconds, q)
                if x > threshold:
                    ok = est is not None and 1 / base <= est / x <= base
                    bound = f"estimate/exact {est / x if est else float('nan'):.4f} within [1/base, base] = " \
                            f"[{1 / base:.4f}, {base:.4f}]"
                else:
                    ok = est is not None and 0 <= est <= threshold
                    bound = f"exact value in the zero bucket: estimate within [0, {threshold:.3g}]"
                rng = checks.quantile_range(q, checks.native_bucket_list(seconds, threshold))
                inside = est is not None and rng[0] <= est <= rng[1]
                report.check(ok and inside, f"[{prom.name}] native p{round(q * 100)}: estimate {checks.fmt_num(est)} s, "
                                            f"exact {x:g} s; {bound}",
                             [f"native bucket of the exact value: {describe_range(rng, 's')}"])
                if q == 0.99:
                    ctx.figures[f"default native p99 [{prom.name}]"] = (x, est)
    check_promtool(report, ctx.promtool, lm)


# --- phase 2: the istio preset on a file that grows --------------------------------------------

class Feeder(threading.Thread):
    """Appends lines to the followed file in batches, spread over `seconds`."""

    def __init__(self, path, lines, seconds, batches=30):
        super().__init__(daemon=True)
        self.path, self.lines, self.seconds = path, lines, seconds
        self.batches = max(1, min(batches, len(lines)))
        self.stop = threading.Event()
        self.done_at = None
        self.error = None

    def run(self):
        try:
            size = math.ceil(len(self.lines) / self.batches)
            interval = self.seconds / self.batches
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                start = time.monotonic()
                for b in range(self.batches):
                    chunk = b"".join(self.lines[b * size:(b + 1) * size])
                    if chunk:
                        os.write(fd, chunk)
                    wake = start + (b + 1) * interval
                    while not self.stop.is_set() and time.monotonic() < wake:
                        time.sleep(min(0.05, max(0, wake - time.monotonic())))
                    if self.stop.is_set():
                        return
            finally:
                os.close(fd)
            self.done_at = time.monotonic()
        except Exception as e:  # reported by the main thread
            self.error = e


def per_scrape_sums(prom, selector, at=None, lookback="5m"):
    """{scrape time ms: sum of the selector's samples at that scrape}."""
    sums = defaultdict(float)
    for r in prom.query(f"{selector}[{lookback}]", at):
        for ts, v in r["values"]:
            sums[ts_ms(ts)] += float(v)
    return sums


def prime_istio(report, ctx):
    """Writes one line per istio series and waits until every Prometheus has
    scraped them all; returns {prom name: time (ms) of the first scrape that did}."""
    data = ctx.data
    prime, rest = checks.prime_split(data.records, Data.istio_key)
    ctx.prime, ctx.rest = prime, rest
    with open(ctx.istio_path, "ab") as f:
        f.write(b"".join(data.lines[i] for i in prime))
    t0 = {}
    for prom in ctx.proms:
        def primed():
            return prom.scalar('sum(istio_requests_total{job="istio"})') == len(prime)
        if not poll(primed, 20, guard=ctx.lm_istio.ensure_alive):
            got = prom.scalar('sum(istio_requests_total{job="istio"})')
            raise PhaseAbort(f"[{prom.name}] sum(istio_requests_total) is {got} 20 s after writing the "
                             f"{len(prime)} priming lines", [])
        sums = per_scrape_sums(prom, 'istio_requests_total{job="istio"}')
        t0[prom.name] = min(t for t, s in sums.items() if s == len(prime))
    series = ctx.proms[0].scalar('count(istio_requests_total{job="istio"})', t0[ctx.proms[0].name])
    ctx.prime_check = (series == len(prime), series)
    return t0


def window_geometry(result, eval_ms):
    """[(first ms, last ms, samples)] per series of a range-vector result."""
    out = []
    for r in result:
        points = r.get("values") or r.get("histograms") or []
        stamps = [ts_ms(p[0]) for p in points if ts_ms(p[0]) <= eval_ms]
        if stamps:
            out.append((stamps[0], stamps[-1], len(stamps)))
    return out


def phase_istio(report, ctx, t0):
    data = ctx.data
    feeder = ctx.feeder
    feeder.join(ctx.feed_seconds + 30)
    if feeder.error or feeder.is_alive():
        raise HarnessError(f"appending to {ctx.istio_path} failed: {feeder.error or 'timeout'}")
    n = len(data.records)
    report.section(f"logmetrics --preset istio following a file that grows: {len(ctx.prime)} lines first "
                   f"(one per series), then {len(ctx.rest)} in 30 batches over {ctx.feed_seconds:g} s")
    route_all = data.durations_by(range(n), Data.route)
    route_rest = data.durations_by(ctx.rest, Data.route)
    fed5 = defaultdict(int)
    for i in ctx.rest:
        if int(data.records[i].get("response_code") or 0) >= 500:
            fed5[Data.route(data.records[i])] += 1
    routes5 = {Data.route(r) for r in data.records if int(r.get("response_code") or 0) >= 500}

    ok, series = ctx.prime_check
    report.check(ok, f"the {len(ctx.prime)} priming lines (one per label set docs/metrics.md derives) made "
                     f"{checks.fmt_num(series)} istio_requests_total series, one each")
    for prom in ctx.proms:
        if not poll(lambda: prom.scalar('sum(istio_requests_total{job="istio"})') == n,
                    30, guard=ctx.lm_istio.ensure_alive):
            got = prom.scalar('sum(istio_requests_total{job="istio"})')
            raise PhaseAbort(f"[{prom.name}] sum(istio_requests_total) is {got}, not {n}, 30 s after the last batch",
                             [])
    for prom in ctx.proms:
        at = t0[prom.name] + RANGE_S * 1000 - 1
        wait = (at - time.time() * 1000) / 1000
        if wait > 0:
            report.note(f"[{prom.name}] waiting {wait:.0f} s for the window [{ms_text(t0[prom.name])}, {ms_text(at)}] "
                        f"(first scrape with all priming lines + 1m - 1ms) to be scraped")
        if not poll(lambda: any(t > at for t in prom.scrape_times("istio", "2m")), RANGE_S + 15, interval=0.5,
                    guard=ctx.lm_istio.ensure_alive):
            raise PhaseAbort(f"[{prom.name}] no scrape after {ms_text(at)}", [])
        check_format(report, prom, "istio", prom.expected_format, at)
        istio_checks(report, ctx, prom, at, route_all, route_rest, fed5, routes5)
    check_promtool(report, ctx.promtool, ctx.lm_istio,
                   allowed=('istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"',))


def istio_checks(report, ctx, prom, at, route_all, route_rest, fed5, routes5):
    data = ctx.data
    n = len(data.records)
    total = prom.scalar("sum(istio_requests_total)", at)
    if total != n:
        raise PhaseAbort(f"[{prom.name}] at {ms_text(at)} sum(istio_requests_total) is {total}, not {n}: "
                         f"the growing file was not fully scraped inside the 1m window", [])
    got = prom.vector("sum by (route_name) (istio_requests_total)", at, by=("route_name",))
    diffs = checks.diff_counts(data.totals["by_route"], got, "route_name=")
    report.check(not diffs, f"[{prom.name}] sum by (route_name) (istio_requests_total) = truth totals.by_route "
                            f"({len(got)} routes, {checks.fmt_num(sum(got.values()))} requests)", diffs)

    # The window: every series' first sample in it is the priming scrape.
    raw = prom.query("istio_requests_total[1m]", at)
    geometry = window_geometry(raw, at)
    env = checks.window_envelope(geometry, at, RANGE_S * 1000)
    if env is None:
        raise PhaseAbort(f"[{prom.name}] fewer than two samples per series in the window", [])
    f_max, rho = env
    firsts = {g[0] for g in geometry}
    report.note(f"[{prom.name}] window at {ms_text(at)}: {len(geometry)} series, first sample "
                f"{', '.join(ms_text(f) for f in sorted(firsts))}, {geometry[0][2]} samples each; "
                f"extrapolation factor in [1, {f_max:.5f}], ratio between series <= {rho:.7f}")
    increase = defaultdict(float)
    for r in raw:
        pts = [float(v) for ts, v in r["values"] if ts_ms(ts) <= at]
        increase[r["metric"]["route_name"]] += pts[-1] - pts[0]
    want_increase = {r: len(route_rest.get(r, [])) for r in data.totals["by_route"]}
    diffs = checks.diff_counts(want_increase, dict(increase), "route_name=")
    report.check(not diffs, f"[{prom.name}] raw samples: increase over the window per route = the lines appended "
                            f"after the priming scrape ({len(ctx.rest)})", diffs)

    def rate_check(title, q, expected, universe):
        got = prom.vector(q, at, by=("route_name",))
        problems = []
        if set(got) != set(universe):
            problems.append(f"routes: missing {sorted(set(universe) - set(got))}, "
                            f"unexpected {sorted(set(got) - set(universe))}")
        zero_routes = []
        for route in sorted(set(got) & set(universe)):
            d, v = expected.get(route, 0), got[route]
            lo, hi = d / RANGE_S, d * f_max / RANGE_S
            if not (lo * (1 - 1e-7) <= v <= hi * (1 + 1e-7)):
                problems.append(f"{route}: {v:.6g}/s, expected [{lo:.6g}, {hi:.6g}] ({d} appended requests / 60 s)")
            if d == 0:
                zero_routes.append(route)
        positive = sum(1 for r in got if got[r] > 0)
        details = problems or [f"{positive} routes > 0" + (f"; 0 (no request after the priming line) for "
                                                           f"{', '.join(zero_routes)}" if zero_routes else "")]
        report.check(not problems, f"[{prom.name}] {title}: {len(got)} routes, each = appended requests / 60 s "
                                   f"x [1, {f_max:.4f}]", details)
        return got

    rates = rate_check("sum(rate(istio_requests_total[1m])) by (route_name)",
                       "sum(rate(istio_requests_total[1m])) by (route_name)", want_increase, data.totals["by_route"])
    ctx.figures.setdefault("istio rate by route", {})[prom.name] = rates
    rate_check('sum(rate(istio_requests_total{response_code=~"5.."}[1m])) by (route_name)',
               'sum(rate(istio_requests_total{response_code=~"5.."}[1m])) by (route_name)', fed5, routes5)
    ratio = prom.vector('sum(rate(istio_requests_total{response_code=~"5.."}[1m])) by (route_name) / '
                        'sum(rate(istio_requests_total[1m])) by (route_name)', at, by=("route_name",))
    problems = []
    if set(ratio) != routes5:
        problems.append(f"routes {sorted(ratio)}, expected {sorted(routes5)}")
    for route, v in sorted(ratio.items()):
        d = want_increase.get(route, 0)
        if d == 0:
            if not math.isnan(v):
                problems.append(f"{route}: {v}, expected NaN (no request in the window)")
            continue
        exact = fed5.get(route, 0) / d
        if not (exact / rho * (1 - 1e-7) <= v <= exact * rho * (1 + 1e-7)):
            problems.append(f"{route}: {v:.6g}, expected {exact:.6g} (x/÷ {rho:.7f})")
    report.check(not problems, f"[{prom.name}] 5xx ratio by route: only the routes with 5xx in the truth "
                               f"({', '.join(sorted(routes5))}), each = appended 5xx / appended requests",
                 problems or [", ".join(f"{r} {v:.3f}" for r, v in sorted(ratio.items()))])

    if prom.native:
        native_istio(report, ctx, prom, at, route_all, route_rest)
    else:
        classic_istio(report, ctx, prom, at, route_all, route_rest)


def classic_istio(report, ctx, prom, at, route_all, route_rest):
    family = "istio_request_duration_milliseconds"
    bounds = checks.ENVOY_MS
    check_le_set(report, prom, family, bounds, at)
    plus_inf_equals_count(report, prom, family, at)
    got = prom.vector(f"sum by (route_name, le) ({family}_bucket)", at, by=("route_name", "le"))
    got = {(r, float(le)): v for (r, le), v in got.items()}
    want = {}
    for route, values in route_all.items():
        for le, c in zip(list(bounds) + [math.inf], checks.classic_cumulative(values, bounds)):
            want[(route, le)] = c
    diffs = checks.diff_counts(want, got)
    report.check(not diffs, f"[{prom.name}] sum by (route_name, le) ({family}_bucket) = the log's cumulative "
                            f"counts ({len(route_all)} routes x {len(bounds) + 1} bounds)", diffs)

    raw = prom.query(f"{family}_bucket[1m]", at)
    f_max, rho = checks.window_envelope(window_geometry(raw, at), at, RANGE_S * 1000)
    inc = defaultdict(float)
    for r in raw:
        pts = [float(v) for ts, v in r["values"] if ts_ms(ts) <= at]
        inc[(r["metric"]["route_name"], float(r["metric"]["le"]))] += pts[-1] - pts[0]
    want_inc = {}
    for route in route_all:
        values = route_rest.get(route, [])
        for le, c in zip(list(bounds) + [math.inf], checks.classic_cumulative(values, bounds)):
            want_inc[(route, le)] = c
    diffs = checks.diff_counts(want_inc, dict(inc))
    report.check(not diffs, f"[{prom.name}] raw samples: increase of every route/le bucket over the window = "
                            f"the appended lines' cumulative counts", diffs)

    q = 0.95
    query = f"histogram_quantile({q}, sum(rate({family}_bucket[1m])) by (route_name, le))"
    got = prom.vector(query, at, by=("route_name",))
    problems, rows = [], []
    for route in sorted(route_all):
        window = route_rest.get(route, [])
        est = got.get(route)
        rng = checks.quantile_range(q, checks.classic_buckets(window, bounds), rho)
        overall = checks.true_quantile(route_all[route], q)
        ob = checks.classic_bucket(overall, bounds)
        overall_bucket = checks.classic_edges(ob, bounds)
        overall_text = f"{'[' if ob == 0 else '('}{overall_bucket[0]:g}, {overall_bucket[1]:g}]"
        if rng is None:
            ok = est is not None and math.isnan(est)
            want_text = "NaN (no request in the window)"
        else:
            ok = est is not None and math.isfinite(est) and rng[0] <= est <= rng[1]
            want_text = describe_range(rng, "ms")
        x = checks.true_quantile(window, q)
        rows.append(f"{route:16} n={len(window):3}  estimate {checks.fmt_num(est):>9}  window p95 "
                    f"{'-' if x is None else x:>5} -> {want_text};  all-lines p95 {overall} in {overall_text}")
        if not ok:
            problems.append(rows[-1])
    ctx.figures.setdefault("istio classic p95", {}).update({r: got.get(r) for r in route_all})
    report.check(not problems, f"[{prom.name}] {query}: every route inside the bucket of its true p95 over the "
                               f"window (factor ratio <= {rho:.7f})", problems + ["--"] + rows)


def native_istio(report, ctx, prom, at, route_all, route_rest):
    family = "istio_request_duration_milliseconds"
    if not prom.query(family, at):
        report.check(False, f"[{prom.name}] native histogram {family} exists",
                     ["no series: Prometheus negotiated protobuf, but logmetrics sent no native buckets"])
        return
    res = prom.query(f"sum by (route_name) ({family})", at)
    # The zero threshold as Prometheus reports it (the zero bucket's upper edge),
    # else logmetrics' documented default, 2^-128.
    thresholds = {native_buckets_of(r["histogram"][1])[0] for r in res} - {None}
    threshold = max(thresholds) if thresholds else 2.0 ** -128
    diffs = []
    for r in res:
        route = r["metric"]["route_name"]
        hist = r["histogram"][1]
        zt, zero, counts = native_buckets_of(hist)
        want_zero, want = checks.native_buckets(route_all.get(route, []), threshold)
        diffs += checks.diff_counts({"zero": want_zero, **want} if want_zero else want,
                                    {"zero": zero, **counts} if zero else counts, f"{route} bucket ")
    missing = set(route_all) - {r["metric"]["route_name"] for r in res}
    diffs += [f"missing route {m}" for m in sorted(missing)]
    report.check(not diffs, f"[{prom.name}] sum by (route_name) ({family}) native buckets (schema 3) = the log "
                            f"({len(res)} routes)", diffs)

    raw = prom.query(f"{family}[1m]", at)
    f_max, rho = checks.window_envelope(window_geometry(raw, at), at, RANGE_S * 1000)
    q = 0.95
    query = f"histogram_quantile({q}, sum by (route_name) (rate({family}[1m])))"
    got = prom.vector(query, at, by=("route_name",))
    base = checks.native_base()
    problems, rows = [], []
    for route in sorted(route_all):
        window = route_rest.get(route, [])
        est = got.get(route)
        rng = checks.quantile_range(q, checks.native_bucket_list(window, threshold), rho)
        x = checks.true_quantile(window, q)
        if rng is None:
            ok = est is not None and math.isnan(est)
            want_text = "NaN (no request in the window)"
        else:
            ok = est is not None and math.isfinite(est) and rng[0] <= est <= rng[1]
            if rng[2] == rng[3] and x > threshold:
                ok = ok and 1 / base <= est / x <= base
            want_text = describe_range(rng, "ms")
        rows.append(f"{route:16} n={len(window):3}  estimate {checks.fmt_num(est):>9}  window p95 "
                    f"{'-' if x is None else x:>5} -> {want_text}")
        if not ok:
            problems.append(rows[-1])
    report.check(not problems, f"[{prom.name}] {query}: every route inside the native bucket of its true p95 "
                               f"over the window (estimate/exact within [1/base, base])", problems + ["--"] + rows)


# --- main ------------------------------------------------------------------------------

class Context:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True, help="directory with access.log and truth.json")
    ap.add_argument("--data-name", default=None)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--feed-seconds", type=float, default=20)
    args = ap.parse_args()
    if not 1 <= args.feed_seconds <= 40:
        ap.error("--feed-seconds must be between 1 and 40: the whole file must be scraped inside the 1m window")

    report = Report()
    ctx = Context()
    ctx.figures = {}
    ctx.promtool = args.promtool
    ctx.feed_seconds = args.feed_seconds
    ctx.data_name = args.data_name or args.data
    procs = Processes(os.path.join(args.workdir, "pids"))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    status = 0
    try:
        ctx.data = Data(args.data)
        version = prometheus_version(args.prometheus)
        ctx.version_text = ".".join(map(str, version))
        default_path = os.path.join(args.workdir, "default.access.log")
        shutil.copyfile(os.path.join(args.data, "access.log"), default_path)
        ctx.istio_path = os.path.join(args.workdir, "istio.access.log")
        open(ctx.istio_path, "wb").close()

        log(f"starting logmetrics ({args.bin}) twice: --preset default on a copy of the log, "
            f"--preset istio on an empty file")
        ctx.lm_default = LogMetrics(procs, args.bin, "default", "default", default_path, args.workdir)
        ctx.lm_istio = LogMetrics(procs, args.bin, "istio", "istio", ctx.istio_path, args.workdir)
        ctx.lm_default.wait_listening()
        ctx.lm_istio.wait_listening()
        targets = {"default": ctx.lm_default.target, "istio": ctx.lm_istio.target}
        log(f"logmetrics listening on {targets['default']} (default) and {targets['istio']} (istio)")

        ctx.proms = [Prometheus(procs, args.prometheus, version, "native", True, targets, args.workdir),
                     Prometheus(procs, args.prometheus, version, "classic", False, targets, args.workdir)]
        ctx.proms[0].expected_format = "protobuf"
        ctx.proms[1].expected_format = "openmetrics"
        def both_alive():
            for lm in (ctx.lm_default, ctx.lm_istio):
                if not lm.alive():
                    raise HarnessError(f"logmetrics ({lm.name}) {Processes.describe_exit(lm.proc)}: "
                                       + " | ".join(crash_summary(lm.logpath)))
        for p in ctx.proms:
            log(f"prometheus {ctx.version_text} ({p.name}{', --enable-feature=native-histograms' if p.native else ''})"
                f" on {LOCAL}:{p.port}, pid {p.proc.pid}")
        for p in ctx.proms:
            if not poll(lambda: p.targets_up(["default", "istio"])[0], 30, guard=both_alive):
                raise HarnessError(f"prometheus ({p.name}) targets not up within 30 s: {p.targets_up([])[1]}")
        log(f"all targets up after {report.elapsed():.1f} s")

        istio_error = None
        t0 = None
        try:
            t0 = prime_istio(report, ctx)
            ctx.feeder = Feeder(ctx.istio_path, [ctx.data.lines[i] for i in ctx.rest], args.feed_seconds)
            ctx.feeder.start()
            log(f"istio: {len(ctx.prime)} priming lines scraped (first complete scrape: "
                f"{', '.join(f'{k} {ms_text(v)}' for k, v in t0.items())}); appending {len(ctx.rest)} more "
                f"over {args.feed_seconds:g} s")
        except PhaseAbort as e:
            istio_error = e

        try:
            phase_default(report, ctx)
        except PhaseAbort as e:
            report.check(False, f"default preset: {e.args[0]}", e.args[1])

        if istio_error is None:
            try:
                phase_istio(report, ctx, t0)
            except PhaseAbort as e:
                istio_error = e
        if istio_error is not None:
            report.section("logmetrics --preset istio following a file that grows")
            report.check(False, f"istio preset: {istio_error.args[0]}", istio_error.args[1])
    except HarnessError as e:
        print(f"\nERROR: {e}", flush=True)
        status = 2
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e})", flush=True)
        status = 130
    finally:
        feeder = getattr(ctx, "feeder", None)
        if feeder is not None:
            feeder.stop.set()
        procs.stop_all()

    summary(report, ctx, status)
    if status == 0 and report.failed:
        status = 1
    return status


def summary(report, ctx, status):
    unfinished = {2: " (could not finish: see ERROR above)", 130: " (interrupted)"}.get(status, "")
    print(f"\n== {report.passed} passed, {len(report.failed)} failed, {report.elapsed():.1f} s{unfinished}",
          flush=True)
    for title in report.failed:
        print(f"   FAILED: {title}")
    for name, value in ctx.figures.items():
        if isinstance(value, tuple):
            exact, est = value
            print(f"   {name}: exact {exact:g}, estimate {'-' if est is None else f'{est:.6g}'}")


if __name__ == "__main__":
    sys.exit(main())
