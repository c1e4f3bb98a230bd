#!/usr/bin/env python3
"""Where serve's memory goes with many series: resident memory read from /proc/PID/status at
moments around scrapes, split into anonymous (the process's own) and file-backed (pages of the
executable and libraries, shared and reclaimable).

  Benchmarks/series-memory.py --bin PATH [--routes 10000] [--scrapes 4] [--idle 60]

serve reads, from the head of a file, three passes over --routes route names (route r is
always line r of the recorded Envoy 1.40 run under the route name "r<r>"), with caps raised to
hold them and the size and upstream-time histograms without labels: one request series and one
20-bucket duration histogram per route, as follow-cpu.py's series case has. Then it is scraped
--scrapes times in each format and coding (OpenMetrics with gzip, as Prometheus scrapes;
OpenMetrics; text with gzip; text, as curl asks), with the CPU each scrape took, and left alone for --idle seconds, which shows whether anything grows while nothing happens.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import manyroutes

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
CURL = {"Accept": "*/*"}
KINDS = [  # Prometheus' own first
    ("OpenMetrics, gzip (Prometheus)", {"Accept": OPENMETRICS, "Accept-Encoding": "gzip"}),
    ("OpenMetrics", {"Accept": OPENMETRICS}),
    ("text, gzip", {"Accept": "*/*", "Accept-Encoding": "gzip"}),
    ("text (curl)", CURL),
]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status(pid):
    wanted = {"VmRSS": "rss", "VmHWM": "peak", "RssAnon": "anonymous", "RssFile": "file"}
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in wanted:
                values[wanted[key]] = int(rest.split()[0]) / 1024
    return values


def show(moment, values, extra=""):
    print(f"{moment:<45} rss {values['rss']:6.1f} MiB  anonymous {values['anonymous']:6.1f}  "
          f"file {values['file']:5.1f}  peak {values['peak']:6.1f}{extra}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--scrapes", type=int, default=4)
    ap.add_argument("--idle", type=float, default=60)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="logmetrics-memory.")
    try:
        log = os.path.join(work, "series.log")
        with open(log, "wb") as f:
            f.write(b"".join(manyroutes.lines(args.routes) * 3))
        config = os.path.join(work, "series.yaml")
        manyroutes.write_config(config, args.routes)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([args.bin, "--listen", f"127.0.0.1:{port}", "--config", config, "--from", "head", log],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/metrics"

            def scrape(headers):
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
                    return response.read(), response.headers.get("Content-Encoding") or "identity"

            # Counted when the parsed-line counter says so.
            expected = 3 * args.routes
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    body, _ = scrape(CURL)
                    match = re.search(rb'logmetrics_lines_total\{[^}]*result="parsed"[^}]*\} (\d+)', body)
                    if match and int(match.group(1)) >= expected:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            time.sleep(1)
            series = sum(1 for line in body.splitlines() if line.startswith(b"logmetrics_http_requests_total{"))
            show("counted (after one text scrape)", status(proc.pid), f"  ({series} request series)")
            for name, headers in KINDS:
                used = 0.0
                for k in range(args.scrapes):
                    before = cpu_seconds(proc.pid)
                    body, coding = scrape(headers)
                    time.sleep(0.5)  # what follows the response (giving memory back) included
                    used += cpu_seconds(proc.pid) - before
                show(f"after {args.scrapes} scrapes, {name}", status(proc.pid),
                     f"  (body {len(body) / 1e6:.1f} MB, {used / args.scrapes * 1000:.0f} ms CPU a scrape)")
            time.sleep(args.idle)
            show(f"then {args.idle:.0f} s later", status(proc.pid))
        finally:
            proc.terminate()
            proc.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
