#!/usr/bin/env python3
"""The Grafana dashboard's queries, the recording rules and the queries of docs/migration.md,
run by a real Prometheus against a real logmetrics (once with its own names, once with the
istio preset): every panel's and every documented query is valid PromQL that returns data for
the committed Envoy log, and the rules of deploy/overlays/monitoring/rules.yaml produce their
series from what logmetrics actually exposes (promtool test rules checks their arithmetic on
written series).

  python3 e2e/dashboard/test_dashboard.py --bin .build/debug/logmetrics
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, query, run_main, stop_all  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "e2e", "fixtures", "envoy-1.40", "access.log")
MONITORING = os.path.join(ROOT, "deploy", "overlays", "monitoring")


def substitute(expr):
    # What Grafana puts in for "All" and for its interval variables on a short range.
    for name, value in [("$namespace", ".*"), ("$gateway", ".*"), ("$route", ".*"),
                        ("$__rate_interval", "20s"), ("$__range", "1m")]:
        expr = expr.replace(name, value)
    return expr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-dashboard.")
    log = os.path.join(work, "access.log")
    open(log, "w").close()
    metrics_port, istio_port, prometheus_port = free_port(), free_port(), free_port()
    processes = []
    try:
        processes.append(subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{metrics_port}", "--from", "head", "--poll-interval-ms", "100",
             "--label", "namespace=istio-system", "--label", "workload=istio-ingressgateway", log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{istio_port}", "--from", "head", "--poll-interval-ms", "100",
             "--preset", "istio", log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        rules = os.path.join(work, "rules.yaml")
        # Evaluated every second here (every 30 s in the real file), so that the rules see the
        # few seconds of traffic this test has.
        with open(os.path.join(MONITORING, "rules.yaml")) as source, open(rules, "w") as sink:
            sink.write(source.read().replace("interval: 30s", "interval: 1s"))
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files: [{rules}]\n"
                    "scrape_configs:\n  - job_name: logmetrics\n    honor_labels: true\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
                    "  - job_name: istio-preset\n    honor_labels: true\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{istio_port}']}}]\n")
        processes.append(subprocess.Popen(
            [args.prometheus, f"--config.file={config}", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{prometheus_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if len(query(base, 'up == 1')) == 2:
                    break
            except (OSError, AssertionError):
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("Prometheus did not scrape logmetrics within 30 s")
        # The log grows for 12 s, so that every rate window has increases in it.
        lines = open(FIXTURE, "rb").read().splitlines(keepends=True)
        for k in range(12):
            with open(log, "ab") as sink:
                sink.writelines(lines[k * 50:(k + 1) * 50])
            time.sleep(1)
        time.sleep(2)

        dashboard = json.load(open(os.path.join(MONITORING, "grafana-dashboard.json")))
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            definition = variable["query"]["query"]
            inner = definition[len("label_values("):-1]
            selector, label = inner.rsplit(",", 1)
            values = {r["metric"].get(label.strip()) for r in query(base, substitute(selector))}
            check(values - {None}, f"variable {variable['name']}: {sorted(values - {None})[:4]}...")
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                result = query(base, substitute(target["expr"]))
                finite = [r for r in result if not math.isnan(float(r["value"][1]))]
                check(finite, f"panel \"{panel['title']}\" returns data ({len(result)} series)")

        # The queries the migration guide gives, in both namings.
        guide = open(os.path.join(ROOT, "docs", "migration.md")).read()
        documented = re.findall(r"```promql\n(.*?)```", guide, re.S)
        check(len(documented) >= 18, f"docs/migration.md has {len(documented)} queries")
        for expr in documented:
            result = query(base, expr)
            finite = [r for r in result if not math.isnan(float(r["value"][1]))]
            check(finite, f"docs/migration.md: {' '.join(expr.split())[:90]}... returns data")

        # Recording rules over what logmetrics really exposes.
        by_route = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            by_route = {r["metric"]["route"]: float(r["value"][1])
                        for r in query(base, "route:logmetrics_http_server_errors:ratio_rate5m")}
            if by_route.get("payments") == 1.0 and by_route.get("users_item") == 0.0:
                break
            time.sleep(0.5)
        check(by_route.get("payments") == 1.0 and by_route.get("users_item") == 0.0,
              "route:logmetrics_http_server_errors:ratio_rate5m: payments 1, users_item 0 (not missing)")
        check(query(base, 'route:logmetrics_http_requests:rate5m{namespace="istio-system",'
                          'workload="istio-ingressgateway",route="users_item"}'),
              "route:logmetrics_http_requests:rate5m keeps namespace, workload and route")
        p99 = {r["metric"]["route"]: float(r["value"][1])
               for r in query(base, "route:logmetrics_http_request_duration_seconds:p99_5m")}
        check(p99.get("reports", 0) > 0.1, f"the latency recording has the slow route's p99 ({p99.get('reports')})")
    finally:
        stop_all(processes, timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    print("dashboard and rules: all checks passed")


if __name__ == "__main__":
    run_main(main)
