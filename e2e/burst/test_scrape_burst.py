#!/usr/bin/env python3
"""A real Prometheus scraping every 100 ms while a burst of 1 000 000 lines lands in the
followed log: no scrape fails, no counter ever goes backwards (PromQL resets() is 0 on every
series), and the final counts are exact. Prints how long the burst took to count and how
long scrapes took meanwhile.

  python3 e2e/burst/test_scrape_burst.py --bin .build/debug/logmetrics [--lines 1000000]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, get, query, run_main, stop_all  # noqa: E402

ROUTES = [("users", "GET", 200, "-"), ("users", "GET", 404, "NR"), ("orders", "POST", 201, "-"),
          ("orders", "POST", 503, "UF"), ("search", "GET", 200, "-"), ("payments", "POST", 504, "UT"),
          ("health", "GET", 200, "-")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="logmetrics-burst.")
    processes = []
    try:
        log = os.path.join(work, "access.log")
        open(log, "w").close()
        metrics_port, prometheus_port = free_port(), free_port()
        processes.append(subprocess.Popen(
            [os.path.abspath(args.bin), "--listen", f"127.0.0.1:{metrics_port}", "--from", "head", log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\nscrape_configs:\n"
                    "  - job_name: logmetrics\n    honor_labels: true\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n")
        processes.append(subprocess.Popen(
            [args.prometheus, f"--config.file={config}", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{prometheus_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if query(base, 'up{job="logmetrics"} == 1'):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("Prometheus did not start scraping")
        time.sleep(1)

        # The burst: one write of every line, as a proxy flushing a large buffer would.
        expected = {}
        chunk = []
        for k in range(args.lines):
            route, method, code, flags = ROUTES[k % len(ROUTES)]
            expected[(route, str(code))] = expected.get((route, str(code)), 0) + 1
            chunk.append('{"method":"%s","path":"/%s/%d","protocol":"HTTP/1.1","response_code":%d,'
                         '"response_flags":"%s","duration":%d,"route_name":"%s"}\n'
                         % (method, route, k % 97, code, flags, k % 300, route))
        data = "".join(chunk).encode()
        print(f"{args.lines} lines, {len(data) / 1e6:.0f} MB in one write")
        started = time.monotonic()
        with open(log, "ab") as sink:
            sink.write(data)
        parsed = 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            text = get(f"http://127.0.0.1:{metrics_port}/metrics")
            for line in text.splitlines():
                if line.startswith('logmetrics_lines_total{result="parsed"}'):
                    parsed = int(float(line.split()[1]))
            if parsed >= args.lines:
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        check(parsed == args.lines, f"all {args.lines} lines counted, in {took:.1f} s ({args.lines / took:,.0f} lines/s)")
        time.sleep(1.5)  # a few more scrapes after the last line

        window = f"{int(took) + 30}s"
        scrapes = query(base, f'count_over_time(up{{job="logmetrics"}}[{window}])')
        succeeded = query(base, f'sum_over_time(up{{job="logmetrics"}}[{window}])')
        total, good = float(scrapes[0]["value"][1]), float(succeeded[0]["value"][1])
        # A scrape that misses its 100 ms timeout on a loaded machine is a late answer, not a
        # lost count: it is reported, and bounded, but the counts are what must be exact.
        check(good >= 0.9 * total, f"{int(good)} of {int(total)} scrapes answered within their 100 ms timeout")
        durations = query(base, f'max_over_time(scrape_duration_seconds{{job="logmetrics"}}[{window}])')
        average = query(base, f'avg_over_time(scrape_duration_seconds{{job="logmetrics"}}[{window}])')
        print(f"  {int(float(scrapes[0]['value'][1]))} scrapes; duration average "
              f"{float(average[0]['value'][1]) * 1000:.1f} ms, max {float(durations[0]['value'][1]) * 1000:.1f} ms")
        resets = query(base, f"sum(resets(logmetrics_http_requests_total[{window}]))")
        check(resets and float(resets[0]["value"][1]) == 0, "no counter went backwards (resets() = 0 on every series)")
        buckets = query(base, f"sum(resets(logmetrics_http_request_duration_seconds_bucket[{window}]))")
        check(buckets and float(buckets[0]["value"][1]) == 0, "nor any histogram bucket")
        got = {}
        for series in query(base, "sum by (route, response_code) (logmetrics_http_requests_total)"):
            key = (series["metric"]["route"], series["metric"]["response_code"])
            got[key] = int(float(series["value"][1]))
        check(got == expected, "the final counts per route and code, as Prometheus has them, are exact")
    finally:
        stop_all(processes)
        shutil.rmtree(work, ignore_errors=True)
    print("scrapes during a burst: all checks passed")


if __name__ == "__main__":
    run_main(main)
