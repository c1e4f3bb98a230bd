#!/usr/bin/env python3
"""Cardinality under attack: N lines, each with a path never seen before and no route_name, so
every one would be a new `route` value. Checks that the series stay within the caps, that
`__overflow__` holds the rest (every request still counted), and that peak RSS does not grow
with N.

  Benchmarks/distinct-paths.py --bin PATH [--lines 1000000]

Runs `logmetrics report` on 1/5 of the lines and on all of them, with the default caps (500
route values, 10,000 series per family), under /usr/bin/time -v.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(os.path.dirname(HERE), "e2e", "fixtures", "envoy-1.40", "access.log")
LETTERS = "ghijklmnopqrstuvwxyz"  # no hex digits: auto templates leave these paths alone


def word(k):
    out = ""
    while True:
        out += LETTERS[k % len(LETTERS)]
        k //= len(LETTERS)
        if k == 0:
            return out


def run(binary, path):
    res = subprocess.run(["/usr/bin/time", "-v", binary, "report", "--format", "prometheus", path], capture_output=True, text=True)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1)) / 1024
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", res.stderr).group(1)
    return res.stdout, rss, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    template = json.loads(open(FIXTURE).readline())
    template["route_name"] = None
    work = tempfile.mkdtemp(prefix="logmetrics-paths.")
    small, large = os.path.join(work, "small.log"), os.path.join(work, "large.log")
    with open(small, "w") as s, open(large, "w") as l:
        for k in range(args.lines):
            template["path"] = "/" + word(k)
            line = json.dumps(template, separators=(",", ":")) + "\n"
            l.write(line)
            if k < args.lines // 5:
                s.write(line)
    failures = []
    for name, path, n in (("1/5", small, args.lines // 5), ("all", large, args.lines)):
        out, rss, wall = run(args.bin, path)
        requests = [l for l in out.splitlines() if l.startswith("logmetrics_http_requests_total{")]
        total = sum(float(l.rsplit(" ", 1)[1]) for l in requests)
        overflow = sum(float(l.rsplit(" ", 1)[1]) for l in requests if 'route="__overflow__"' in l)
        routes = {re.search(r'route="([^"]*)"', l).group(1) for l in requests}
        dropped = re.search(r'logmetrics_label_values_dropped_total\{label="route"\} (\S+)', out).group(1)
        print(f"{name}: {n} lines with distinct paths; {len(requests)} request series, {len(routes)} route values, "
              f"{overflow:g} requests in __overflow__, route values dropped {dropped}; peak RSS {rss:.1f} MiB; "
              f"wall {wall}", flush=True)
        if total != n:
            failures.append(f"{name}: {total:g} requests counted, not {n}")
        if len(routes) > 501:
            failures.append(f"{name}: {len(routes)} route values, over the cap of 500 + __overflow__")
        if name == "1/5":
            first_rss = rss
        elif rss > first_rss * 1.25 + 4:
            failures.append(f"RSS grew from {first_rss:.1f} to {rss:.1f} MiB")
    for f in failures:
        print("FAIL", f)
    for p in (small, large):
        os.remove(p)
    os.rmdir(work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
