#!/usr/bin/env python3
"""CPU that `logmetrics` (serve) spends following files, measured from /proc/PID/stat.

  Benchmarks/follow-cpu.py --bin PATH [--seconds 30] [--cases idle,busy,series] [--routes 10000]
                           [--state-dir] [--every-family] [--evict-binary]

Three cases, each after a warm-up of a few seconds:
  idle    1000 files that exist and do not change (a node's container logs between requests);
  busy    one file growing at 10,000 lines/s of real Envoy JSON (the recorded 1.40 run,
          cycled), written in 100 appends a second;
  series  the same rate over 10,000 route names (each route always the same kind of request,
          so one request series and one 20-bucket duration histogram per route; the size and
          upstream-time histograms without labels), scraped every 15 s as Prometheus scrapes
          (OpenMetrics asked for first, gzip).
Prints CPU seconds per wall second (as % of one core), the peak RSS of each (VmHWM: the most
the process had resident at any moment, start included) and its RSS at the end, split into the
process's own (anonymous) memory and pages of the executable and libraries (file-backed).
"""
import argparse
import gzip
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import manyroutes

TICKS = os.sysconf("SC_CLK_TCK")
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;"
                     "q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_mib(pid):
    """VmHWM (the peak since start), VmRSS, RssAnon and RssFile, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def show_memory(values):
    return (f"peak RSS {values['VmHWM']:.1f} MiB, at the end {values['VmRSS']:.1f} MiB "
            f"({values['RssAnon']:.1f} anonymous, {values['RssFile']:.1f} file-backed)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Set from --evict-binary.
EVICT_BINARY = False


def evict(path):
    """Drops `path`'s pages from the page cache (they are clean: nothing is lost)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure(binary, args, seconds, warmup, scrape_every=None):
    """CPU % and peak RSS; with scrape_every, also the request series of the last scrape."""
    port = free_port()
    if EVICT_BINARY:
        evict(binary)
    proc = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}"] + args,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def scrape():
        # As Prometheus asks: OpenMetrics first, gzip.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={
            "Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body.decode()

    try:
        time.sleep(warmup)
        start_cpu, start = cpu_seconds(proc.pid), time.monotonic()
        body = ""
        if scrape_every is None:
            time.sleep(seconds)
        else:
            while (left := seconds - (time.monotonic() - start)) > 0:
                body = scrape()
                time.sleep(min(scrape_every, left))
        used = cpu_seconds(proc.pid) - start_cpu
        wall = time.monotonic() - start
        if scrape_every is not None:
            body = scrape()
        series = sum(1 for line in body.splitlines() if line.startswith("logmetrics_http_requests_total{"))
        return used / wall * 100, memory_mib(proc.pid), series
    finally:
        proc.terminate()
        proc.wait()


def follow(args, work, name, cycle, scrape_every, options=()):
    """Measures serve following one file that grows at args.rate lines/s, cycling `cycle`."""
    path = os.path.join(work, name)
    open(path, "wb").close()
    stop = threading.Event()

    def write():
        per_append = args.rate // 100
        written = 0
        start = time.monotonic()
        with open(path, "ab") as f:
            while not stop.is_set():
                f.write(b"".join(cycle[(written + k) % len(cycle)] for k in range(per_append)))
                f.flush()
                written += per_append
                ahead = written / args.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        return measure(args.bin, list(options) + [path], args.seconds, warmup=3, scrape_every=scrape_every)
    finally:
        stop.set()
        writer.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--cases", default="idle,busy,series",
                    help="which cases, comma-separated; a run of 330 s or more holds the status page's full window")
    ap.add_argument("--state-dir", action="store_true",
                    help="serve with --state-dir (a fresh directory), as the DaemonSet runs: checkpoints every 10 s "
                         "and scrapes answered from the last one")
    ap.add_argument("--every-family", action="store_true",
                    help="series case: every default family labelled by route (the size and upstream-time "
                         "histograms too), as a configuration that only raises the caps has it")
    ap.add_argument("--evict-binary", action="store_true",
                    help="drop the binary's pages from the page cache before each case, so that its "
                         "file-backed RSS is what this process touched, not what an earlier run left mapped")
    args = ap.parse_args()
    global EVICT_BINARY
    EVICT_BINARY = args.evict_binary
    cases = set(args.cases.split(","))
    work = tempfile.mkdtemp(prefix="logmetrics-follow.")
    try:
        lines = manyroutes.fixture_lines()
        idle = os.path.join(work, "idle")
        os.makedirs(idle)
        for k in range(1000):
            with open(os.path.join(idle, f"{k}.log"), "wb") as f:
                f.writelines(lines[:5])
        if "idle" in cases:
            pct, rss, _ = measure(args.bin, ["--from", "head", os.path.join(idle, "*.log")], args.seconds, warmup=5)
            print(f"idle: 1000 files, {pct:.2f} % of a core, {show_memory(rss)}", flush=True)

        if "busy" in cases:
            pct, rss, _ = follow(args, work, "busy.log", lines, scrape_every=None)
            print(f"busy: one file at {args.rate} lines/s, {pct:.2f} % of a core, {show_memory(rss)}", flush=True)

        if "series" not in cases:
            return
        many = manyroutes.lines(args.routes)
        config = os.path.join(work, "series.yaml")
        manyroutes.write_config(config, args.routes, every_family=args.every_family)
        options = ["--config", config]
        if args.state_dir:
            options += ["--state-dir", os.path.join(work, "state")]
        pct, rss, series = follow(args, work, "series.log", many, scrape_every=15, options=options)
        print(f"series: one file at {args.rate} lines/s over {args.routes} route names, {series} request series, "
              f"{pct:.2f} % of a core, {show_memory(rss)}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
