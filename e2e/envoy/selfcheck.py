#!/usr/bin/env python3
"""Check that a harness run produced what the plan promised.

  selfcheck.py OUTDIR

Before any output is used to judge logmetrics, the run itself must agree with
the plan and with Envoy:

  1. access.log: N lines, each a JSON object with exactly the 24 keys of
     Istio's default format, integer response_code / bytes / duration,
     distinct request ids.
  2. The series derived from access.log (labels.py) equal truth.json, so
     Envoy did what the plan said (including: only the planned requests took
     longer than the slow threshold).
  3. Each route's upstream_cluster in the log is the one truth.json names.
  4. Envoy's counters equal truth.json's expected_envoy_stats, and the
     statmap.py relations hold between the log-derived series and the
     counters (the relations compare.py applies to logmetrics' output).
  5. Envoy's /stats/prometheus agrees with its JSON counters.
  6. cri.log and docker-json.log reassemble to access.log byte for byte, and
     lines over 16 KiB were really logged (when the plan has them).

Exit status 0 if everything holds; otherwise the differences are printed.
"""
import json
import os
import re
import sys
from collections import Counter

import statmap
from containerlog import SPLIT_BYTES, join_cri, join_docker
from labels import key_of_record, key_to_labels, labels_to_key

ISTIO_JSON_KEYS = {
    "start_time", "method", "path", "protocol", "response_code", "response_flags", "response_code_details",
    "connection_termination_details", "upstream_transport_failure_reason", "bytes_received", "bytes_sent",
    "duration", "upstream_service_time", "x_forwarded_for", "user_agent", "request_id", "authority",
    "upstream_host", "upstream_cluster", "upstream_local_address", "downstream_local_address",
    "downstream_remote_address", "requested_server_name", "route_name",
}
INT_KEYS = {"response_code", "bytes_received", "bytes_sent", "duration"}


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def expect(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("selfcheck: FAIL %s%s" % (what, ("\n" + detail) if detail else ""))


def series_diff(expected, actual, limit=40):
    rows = []
    for k in sorted(set(expected) | set(actual)):
        e, a = expected.get(k, 0), actual.get(k, 0)
        if e != a:
            rows.append("    %-90s expected %6d  got %6d" % (json.dumps(key_to_labels(k)), e, a))
    return "\n".join(rows[:limit] + (["    ... %d more" % (len(rows) - limit)] if len(rows) > limit else []))


def prometheus_to_json_name(series):
    """Envoy's tag-extracted Prometheus series -> its JSON counter name."""
    name, _, rest = series.partition("{")
    tags = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    hcm = tags.get("envoy_http_conn_manager_prefix")
    if name == "envoy_http_downstream_rq_xx":
        return "http.%s.downstream_rq_%sxx" % (hcm, tags["envoy_response_code_class"])
    if name == "envoy_http_downstream_rq_total":
        return "http.%s.downstream_rq_total" % hcm
    if name == "envoy_http_no_route":
        return "http.%s.no_route" % hcm
    if name == "envoy_vhost_route_upstream_rq":
        return "vhost.%s.route.%s.upstream_rq_%s" % (
            tags["envoy_virtual_host"], tags["envoy_route"], tags["envoy_response_code"])
    if name == "envoy_http_local_rate_limit_rate_limited":
        return "%s.http_local_rate_limit.rate_limited" % tags["envoy_local_http_ratelimit_prefix"]
    return None


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = argv[1]
    with open(os.path.join(out, "truth.json")) as f:
        truth = json.load(f)
    with open(os.path.join(out, "envoy-stats.json")) as f:
        stats = json.load(f)
    counters = stats["counters"]
    c = Checks()

    # 1. the log itself
    with open(os.path.join(out, "access.log"), "rb") as f:
        raw_lines = [line.rstrip(b"\n") for line in f]
    records, bad = [], []
    for i, line in enumerate(raw_lines, 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            bad.append("line %d: not JSON (%s)" % (i, e))
            continue
        if set(rec) != ISTIO_JSON_KEYS:
            bad.append("line %d: keys differ: %s" % (i, sorted(set(rec) ^ ISTIO_JSON_KEYS)))
        for k in INT_KEYS:
            if type(rec.get(k)) is not int:
                bad.append("line %d: %s is %r, not an integer" % (i, k, rec.get(k)))
        records.append(rec)
    c.expect("access.log has %d lines" % truth["requests"], len(raw_lines) == truth["requests"],
             "    it has %d" % len(raw_lines))
    c.expect("access.log lines are Istio JSON records", not bad, "\n".join("    " + b for b in bad[:20]))
    ids = Counter(r.get("request_id") for r in records)
    c.expect("request ids are distinct", len(ids) == len(records),
             "    repeated: %s" % [k for k, v in ids.items() if v > 1][:5])

    # 2. the log matches the plan
    expected = {labels_to_key(s["labels"]): s["value"] for s in truth["http_requests_total"]}
    from_log = Counter(key_of_record(r) for r in records)
    c.expect("series from access.log == truth.json", dict(from_log) == expected, series_diff(expected, from_log))

    # 3. clusters
    routes = truth["envoy"]["routes"]
    wrong = Counter()
    for r in records:
        info = routes.get(r.get("route_name") or "")
        if info is not None and info.get("cluster") != r.get("upstream_cluster"):
            wrong[(r.get("route_name"), r.get("upstream_cluster"))] += 1
    c.expect("upstream_cluster per route as in truth.json", not wrong, "    %s" % dict(wrong))

    # 4. Envoy's counters
    planned = {k: (v, "planned") for k, v in truth["expected_envoy_stats"].items()}
    for name, exp, act, why in statmap.check(planned, counters, truth["envoy"]):
        c.expect("envoy %s == %d (%s)" % (name, exp, why), exp == act, "    envoy reported %s" % act)
    for name, exp, act, why in statmap.check(statmap.expected_counters(from_log, truth["envoy"]),
                                             counters, truth["envoy"]):
        c.expect("envoy %s == %d from access.log (%s)" % (name, exp, why), exp == act,
                 "    envoy reported %s" % act)

    # 5. Prometheus view of the same counters
    for series, value in stats["prometheus"].items():
        name = prometheus_to_json_name(series)
        c.expect("prometheus %s == json %s" % (series, name), name is not None and counters.get(name, 0) == value,
                 "    %s vs %s" % (value, counters.get(name)))
    kinds = {s.split("{")[0] for s in stats["prometheus"]}
    c.expect("prometheus view read", len(kinds) == 5, "    found %s" % sorted(kinds))

    # 6. container-log forms
    for name, join in (("cri.log", join_cri), ("docker-json.log", join_docker)):
        with open(os.path.join(out, name), "rb") as f:
            records_in = f.read().splitlines()
        try:
            joined = list(join(records_in))
        except ValueError as e:
            c.expect("%s reassembles" % name, False, "    %s" % e)
            continue
        same = joined == raw_lines
        first_diff = next((i for i, (x, y) in enumerate(zip(joined, raw_lines)) if x != y), None)
        c.expect("%s reassembles to access.log" % name, same,
                 "    %d lines vs %d; first difference at line %s" % (len(joined), len(raw_lines), first_diff))
        c.expect("%s splits some lines into several records" % name, len(records_in) > len(raw_lines))
    long_planned = sum(row["count"] for row in truth["cases"] if row["case"] in ("long_user_agent", "long_query"))
    long_logged = sum(len(line) > SPLIT_BYTES for line in raw_lines)
    c.expect("%d access.log lines longer than 16 KiB" % long_planned, long_logged == long_planned,
             "    found %d" % long_logged)

    print("selfcheck: %d checks passed, %d failed" % (c.passed, c.failed))
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main(sys.argv)
