#!/usr/bin/env python3
"""logmetrics killed with SIGKILL and restarted, again and again, while its log is written and
rotated: the totals at the end equal the lines written, and neither a scraper polling every
100 ms nor a real Prometheus sees any counter go down.

  restart_e2e.py --bin LOGMETRICS [--style rename|kubelet|copytruncate] [--kills 10]
                 [--rate 20000] [--rotate-every 3000] [--seconds 20] [--keep]

The lines are the recorded Envoy 1.40 run (e2e/fixtures/envoy-1.40/access.log), written over and
over, and the log is rotated every few thousand lines:
  rename        access.log -> access.log.N and a new access.log (logrotate's create mode);
  kubelet       pods/<ns>_<pod>_<uid>/<container>/0.log in CRI format, renamed to
                0.log.<YYYYMMDD-HHMMSS>, and at the next rotation the older one gzipped
                (kubelet's own scheme); the pod labels are checked too;
  copytruncate  access.log copied to access.log.N, then truncated in place. The lines written
                between the copy and the truncation are in no file: that loss is expected,
                is printed with logmetrics_file_missed_bytes_total (a lower bound: bytes
                written after the last size check and before the truncation were seen by no
                one). Rotating again before the reader has caught up loses more; not checked.
Each kill comes at a random moment, including while rotations happen; the next start finds the
state directory and goes on from it. Totals must be exact for rename and kubelet.

Exit status: 0 every check passed, 1 a check failed, 2 the test could not run.
"""
import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(os.path.dirname(HERE), "fixtures", "envoy-1.40", "access.log")
LOCAL = "127.0.0.1"
FAMILIES = ("logmetrics_http_requests_total", "logmetrics_lines_total", "logmetrics_file_missed_bytes_total",
            "logmetrics_http_request_duration_seconds_count", "logmetrics_http_response_flags_total")


def log(text):
    print(f"[restart {time.strftime('%H:%M:%S')}] {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def samples(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m and m.group(1) in FAMILIES:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class Writer(threading.Thread):
    """Appends lines at `rate` lines/s, rotating every `rotate_every` lines in `style`."""

    def __init__(self, path, lines, rate, rotate_every, total, style):
        super().__init__(daemon=True)
        self.path, self.lines, self.rate, self.rotate_every, self.total = path, lines, rate, rotate_every, total
        self.style = style
        self.written = 0
        self.rotations = 0
        self.lost_in_copy = 0
        self.done = threading.Event()
        self.rotated = []

    def line(self, k):
        text = self.lines[k % len(self.lines)]
        if self.style != "kubelet":
            return text
        # CRI: containerd's timestamp, the stream, F for a full line.
        return b"2026-12-01T10:00:00.%09dZ stdout F " % (k % 1_000_000_000) + text

    def rotate(self, f):
        self.rotations += 1
        if self.style == "rename":
            f.close()
            os.rename(self.path, f"{self.path}.{self.rotations}")
            return open(self.path, "ab")
        if self.style == "kubelet":
            f.close()
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(1_796_000_000 + self.rotations))
            rotated = f"{self.path}.{stamp}"
            os.rename(self.path, rotated)
            new = open(self.path, "ab")
            # kubelet keeps the newest rotated file as it is and compresses the ones before it.
            if self.rotated:
                older = self.rotated[-1]
                with open(older, "rb") as src, gzip.open(older + ".gz.tmp", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.rename(older + ".gz.tmp", older + ".gz")
                os.remove(older)
            self.rotated.append(rotated)
            return new
        # copytruncate: the copy, then lines that land after the copy and before the truncation
        # (written here on purpose, as a busy writer would), then the truncation.
        shutil.copyfile(self.path, f"{self.path}.{self.rotations}")
        gap = min(5, self.total - self.written)
        f.write(b"".join(self.line(self.written + k) for k in range(gap)))
        f.flush()
        self.written += gap
        self.lost_in_copy += gap
        os.truncate(self.path, 0)
        return f

    def run(self):
        start = time.monotonic()
        f = open(self.path, "ab")
        since_rotation = 0
        batch = 200
        while self.written < self.total:
            n = min(batch, self.total - self.written, self.rotate_every - since_rotation)
            f.write(b"".join(self.line(self.written + k) for k in range(n)))
            f.flush()
            self.written += n
            since_rotation += n
            if since_rotation >= self.rotate_every and self.written < self.total:
                f = self.rotate(f)
                since_rotation = 0
            ahead = self.written / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        f.close()
        self.done.set()


class Scraper(threading.Thread):
    """Scrapes every 100 ms and records every value that went down between two scrapes."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.last = {}
        self.decreases = []
        self.scrapes = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                current = samples(get(self.url))
            except OSError:
                current = None  # down between a kill and its restart
            if current is not None:
                self.scrapes += 1
                for key, value in current.items():
                    if value < self.last.get(key, 0):
                        self.decreases.append(f"{key}: {self.last[key]:g} -> {value:g}")
                    self.last[key] = max(value, self.last.get(key, 0))
            self.stop.wait(0.1)


def start_logmetrics(binary, port, state, path, logfile, config=None):
    argv = [binary, "--listen", f"{LOCAL}:{port}", "--from", "head", "--state-dir", state,
            "--checkpoint-interval-seconds", "1", path]
    if config:
        argv += ["--config", config]
    out = open(logfile, "ab")
    proc = subprocess.Popen(argv, stdout=out, stderr=out)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            get(f"http://{LOCAL}:{port}/healthz", timeout=0.5)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"logmetrics exited with {proc.returncode}; see {logfile}")
            time.sleep(0.05)
    raise RuntimeError("logmetrics did not answer /healthz within 20 s")


def start_prometheus(port, workdir):
    binary = shutil.which("prometheus")
    if not binary:
        return None, None
    prom_port = free_port()
    config = os.path.join(workdir, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global: { scrape_interval: 250ms, scrape_timeout: 250ms }\n"
                f"scrape_configs:\n  - job_name: logmetrics\n    static_configs: [{{ targets: ['{LOCAL}:{port}'] }}]\n")
    out = open(os.path.join(workdir, "prometheus.log"), "ab")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={workdir}/prometheus",
                             f"--web.listen-address={LOCAL}:{prom_port}"], stdout=out, stderr=out)
    base = f"http://{LOCAL}:{prom_port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get(base + "/-/ready", timeout=0.5)
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    return None, None


def query(base, q):
    body = get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=5)
    return json.loads(body)["data"]["result"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--style", choices=("rename", "kubelet", "copytruncate"), default="rename")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--rotate-every", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=20, help="how long the writer writes")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "1")))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    random.seed(args.seed)
    binary = os.path.abspath(args.bin)
    with open(FIXTURE, "rb") as f:
        lines = [l if l.endswith(b"\n") else l + b"\n" for l in f.read().splitlines(keepends=True) if l.strip()]

    workdir = tempfile.mkdtemp(prefix="logmetrics-restart.")
    config = None
    if args.style == "kubelet":
        container = os.path.join(workdir, "pods", "shop_checkout-7d9f8c6b5-x2x4q_6b1c", "istio-proxy")
        os.makedirs(container)
        path = os.path.join(container, "0.log")
        watched = os.path.join(workdir, "pods", "*", "*", "*.log")
        config = os.path.join(workdir, "config.yaml")
        with open(config, "w") as f:
            f.write("labels: { source: [namespace, pod, container, workload] }\n")
    else:
        path = os.path.join(workdir, "access.log")
        watched = path
    state = os.path.join(workdir, "state")
    open(path, "wb").close()
    port = free_port()
    logfile = os.path.join(workdir, "logmetrics.log")
    failures = []
    procs = []
    try:
        proc = start_logmetrics(binary, port, state, watched, logfile, config)
        prom, prom_base = start_prometheus(port, workdir)
        if prom:
            procs.append(prom)
        scraper = Scraper(f"http://{LOCAL}:{port}/metrics")
        scraper.start()
        total = int(args.rate * args.seconds)
        writer = Writer(path, lines, args.rate, args.rotate_every, total, args.style)
        writer.start()
        log(f"writing {total} lines at {args.rate}/s, rotating ({args.style}) every {args.rotate_every}; "
            f"{args.kills} kills (seed {args.seed}); work directory {workdir}")
        kills = 0
        while kills < args.kills:
            time.sleep(random.uniform(0.5, args.seconds / args.kills))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            down = random.uniform(0, 0.8)
            time.sleep(down)  # the writer goes on, and may rotate, while logmetrics is down
            proc = start_logmetrics(binary, port, state, watched, logfile, config)
            log(f"kill {kills}: down {down * 1000:.0f} ms, {writer.written} lines written, "
                f"{writer.rotations} rotations")
        writer.done.wait()
        log(f"writer done: {writer.written} lines, {writer.rotations} rotations; waiting for logmetrics to catch up")
        fixture_requests = len(lines)
        want = writer.written
        deadline = time.monotonic() + 60
        got = {}
        last, still_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            try:
                got = samples(get(f"http://{LOCAL}:{port}/metrics"))
            except OSError as e:
                log(f"scrape failed ({e}); trying again")
                time.sleep(0.5)
                continue
            parsed = got.get('logmetrics_lines_total{result="parsed"}', 0)
            if parsed >= want:
                break
            if parsed != last:
                last, still_since = parsed, time.monotonic()
            elif time.monotonic() - still_since > 5:
                break  # caught up with everything it will ever read
            time.sleep(0.2)
        time.sleep(1.5)  # a few more scrapes of the final values
        got = samples(get(f"http://{LOCAL}:{port}/metrics"))
        parsed = got.get('logmetrics_lines_total{result="parsed"}', 0)
        requests = sum(v for k, v in got.items() if k.startswith("logmetrics_http_requests_total"))
        other = sum(v for k, v in got.items() if k.startswith("logmetrics_lines_total") and "parsed" not in k)
        log(f"counted: {parsed:g} lines parsed, {requests:g} requests, {other:g} lines with another outcome; "
            f"written: {want} ({fixture_requests}-line fixture cycled)")
        if args.style == "copytruncate":
            # Only lines in no file may be missing, and a loss must show in the self metric.
            missed = got.get("logmetrics_file_missed_bytes_total", 0)
            lost = want - parsed
            log(f"copytruncate: {writer.lost_in_copy} lines written between copy and truncation (in no file), "
                f"{lost:g} not counted ({lost / want * 100:.3f} %), logmetrics_file_missed_bytes_total {missed:g}")
            if parsed > want:
                failures.append(f"lines parsed {parsed:g} > lines written {want}: doubled")
            if lost > writer.lost_in_copy:
                failures.append(f"{lost:g} lines lost, more than the {writer.lost_in_copy} in no file")
        elif parsed != want:
            failures.append(f"lines parsed {parsed:g} != lines written {want} "
                            f"({'lost' if parsed < want else 'doubled'} {abs(parsed - want):g})")
        if args.style != "copytruncate" and requests != want:
            failures.append(f"requests counted {requests:g} != lines written {want}")
        if args.style == "kubelet":
            unlabelled = [k for k in got if k.startswith("logmetrics_http_requests_total")
                          and 'pod="checkout-7d9f8c6b5-x2x4q"' not in k]
            if unlabelled:
                failures.append(f"{len(unlabelled)} request series without the pod's labels, e.g. {unlabelled[0]}")
        if other:
            failures.append(f"{other:g} lines counted as skipped, malformed or oversized")
        scraper.stop.set()
        scraper.join()
        log(f"scraper: {scraper.scrapes} scrapes, {len(scraper.decreases)} values that went down")
        failures += [f"a scrape saw {d}" for d in scraper.decreases[:10]]
        if prom_base:
            resets = query(prom_base, 'sum(resets({__name__=~"logmetrics_http_requests_total|logmetrics_lines_total|'
                                      'logmetrics_http_request_duration_seconds_count"}[10m]))')
            value = float(resets[0]["value"][1]) if resets else 0
            ups = query(prom_base, 'count_over_time(up{job="logmetrics"}[10m])')
            scrapes = float(ups[0]["value"][1]) if ups else 0
            log(f"prometheus: {scrapes:g} scrapes, resets() over the counters = {value:g}")
            if value != 0:
                failures.append(f"Prometheus saw {value:g} counter resets")
            if scrapes < 10:
                failures.append(f"Prometheus scraped only {scrapes:g} times")
        else:
            log("prometheus not found: the no-reset check ran with the built-in scraper only")
        if writer.rotations < 50 and args.seconds * args.rate / args.rotate_every > 51:
            failures.append(f"only {writer.rotations} rotations")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    except (RuntimeError, OSError) as e:
        print(f"ERROR: {e}", flush=True)
        return 2
    finally:
        for p in procs + [locals().get("proc")]:
            if p and p.poll() is None:
                p.kill()
    for failure in failures:
        print(f"FAIL  {failure}", flush=True)
    if failures or args.keep:
        log(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not failures:
        log("OK: totals exact after every kill, no counter went down")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
