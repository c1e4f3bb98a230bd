#!/usr/bin/env python3
"""Hold logmetrics' Prometheus output to a harness run's ground truth.

  compare.py [--namespace logmetrics] OUTDIR METRICS

OUTDIR is a run of e2e/envoy/run.sh (or a fixture directory): it holds
truth.json and envoy-stats.json.  METRICS is a file with logmetrics' output
in Prometheus text format 0.0.4 ("-" reads stdin).

Checks:
 (a) logmetrics_http_requests_total, summed by (route, method, response_code,
     response_flags, error_type, slow_request) over any other labels, equals
     truth.json exactly: no series missing, none extra, every count equal.
 (b) Sums of those series equal the counters Envoy itself reported during the
     run (envoy-stats.json), by code class, by flag and by route.  The
     relations, and their exceptions, are in envoy/statmap.py; in short:
       http.<hcm>.downstream_rq_total        all requests
       http.<hcm>.downstream_rq_completed    code != 0
       http.<hcm>.downstream_rq_<N>xx        code class N (code 0 is in no class)
       http.<hcm>.downstream_rq_rx_reset     DC      http.<hcm>.no_route      NR
       http.<hcm>.rq_total                   all but RL (rejected before the router)
       http.<hcm>.rq_direct_response         the redirect route
       <rl>.http_local_rate_limit.rate_limited / .ok   RL / not RL on the limited route
       vhost.<vhost>.route.<r>.upstream_rq_<code>|_<N>xx|_completed, and the same
       per cluster: the route's (or cluster's) requests, excluding RL and code 0
       ..._upstream_rq_timeout  UT   ..._retry_limit_exceeded  URX
       ..._upstream_rq_retry    num_retries x URX
       cluster.<c>.upstream_rq_pending_failure_eject  1 per UF, 1 + num_retries per UF,URX
 (c) logmetrics_lines_total{result="parsed"} equals the number of requests,
     and every other result (malformed by reason, skipped) is 0.

Prints what differs and exits 1 on any mismatch, 2 on unusable input.
"""
import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "envoy"))
import statmap  # noqa: E402
from labels import LABELS, key_to_labels, labels_to_key  # noqa: E402


class ParseError(Exception):
    pass


METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _parse_value(text, lineno):
    special = {"NaN": math.nan, "+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ParseError("line %d: bad sample value %r" % (lineno, text)) from None


def _parse_labels(line, pos, lineno):
    """Parse '{name="value",...}' starting at line[pos] == '{'.  Returns
    (labels, position after '}').  Values unescape \\\\, \\" and \\n."""
    labels = {}
    pos += 1
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(line, pos)
        if not m:
            raise ParseError("line %d: expected a label name at column %d" % (lineno, pos + 1))
        name = m.group(0)
        pos = m.end()
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if line[pos:pos + 2] != '="':
            raise ParseError("line %d: expected =\" after label %s" % (lineno, name))
        pos += 2
        value = []
        while True:
            if pos >= len(line):
                raise ParseError("line %d: unterminated value of label %s" % (lineno, name))
            ch = line[pos]
            if ch == "\\":
                nxt = line[pos + 1:pos + 2]
                if nxt == "n":
                    value.append("\n")
                elif nxt in ('"', "\\"):
                    value.append(nxt)
                else:
                    raise ParseError("line %d: bad escape \\%s in label %s" % (lineno, nxt, name))
                pos += 2
            elif ch == '"':
                pos += 1
                break
            else:
                value.append(ch)
                pos += 1
        if name in labels:
            raise ParseError("line %d: label %s given twice" % (lineno, name))
        labels[name] = "".join(value)
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        else:
            raise ParseError("line %d: expected , or } after label %s" % (lineno, name))


def parse_exposition(text):
    """Prometheus text format 0.0.4 -> (samples, types).

    samples: [(metric name, {label: value}, float value)]; types: {name: type}.
    Rejects what a Prometheus server would reject: malformed lines, a
    repeated series, a TYPE after the family's first sample.
    """
    samples, types, seen, names_seen = [], {}, set(), set()
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                if len(parts) != 4 or parts[3].strip() not in METRIC_TYPES:
                    raise ParseError("line %d: bad TYPE line" % lineno)
                if parts[2] in types:
                    raise ParseError("line %d: second TYPE for %s" % (lineno, parts[2]))
                family = {parts[2], parts[2] + "_bucket", parts[2] + "_sum", parts[2] + "_count"}
                if family & names_seen:
                    raise ParseError("line %d: TYPE for %s after its samples" % (lineno, parts[2]))
                types[parts[2]] = parts[3].strip()
            continue  # HELP and other comments
        m = METRIC_NAME.match(line)
        if not m:
            raise ParseError("line %d: expected a metric name: %r" % (lineno, line[:80]))
        name, pos = m.group(0), m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos, lineno)
        rest = line[pos:].split()
        if not 1 <= len(rest) <= 2 or (pos < len(line) and line[pos] not in " \t"):
            raise ParseError("line %d: expected 'value [timestamp]' after the series: %r" % (lineno, line[:120]))
        value = _parse_value(rest[0], lineno)
        series = (name, tuple(sorted(labels.items())))
        if series in seen:
            raise ParseError("line %d: series repeated: %s" % (lineno, line[:120]))
        seen.add(series)
        names_seen.add(name)
        samples.append((name, labels, value))
    return samples, types


def as_count(value, what):
    if not (value >= 0 and value == int(value)):
        raise ParseError("%s has value %r, not a non-negative integer" % (what, value))
    return int(value)


def requests_series(samples, metric):
    """Sum the request counter by the six compared labels."""
    out, problems = {}, []
    for name, labels, value in samples:
        if name != metric:
            continue
        missing = [n for n in LABELS if n not in labels]
        if missing:
            problems.append("%s%s lacks label(s) %s" % (name, json.dumps(labels), ",".join(missing)))
            continue
        key = labels_to_key(labels)
        out[key] = out.get(key, 0) + as_count(value, "%s%s" % (name, json.dumps(labels)))
    return out, problems


def fmt_key(key):
    return " ".join('%s="%s"' % (k, v) for k, v in key_to_labels(key).items())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", help="a run of e2e/envoy/run.sh or a fixture directory")
    ap.add_argument("metrics", help="logmetrics' Prometheus text output, or - for stdin")
    ap.add_argument("--namespace", default="logmetrics")
    ap.add_argument("--quiet", action="store_true", help="print only failures and the verdict")
    a = ap.parse_args(argv)

    try:
        with open(os.path.join(a.outdir, "truth.json")) as f:
            truth = json.load(f)
        with open(os.path.join(a.outdir, "envoy-stats.json")) as f:
            counters = json.load(f)["counters"]
        if a.metrics == "-":
            text = sys.stdin.buffer.read().decode("utf-8")
        else:
            with open(a.metrics, "rb") as f:
                text = f.read().decode("utf-8")
    except (OSError, ValueError, KeyError) as e:
        print("compare: cannot read input: %s" % e, file=sys.stderr)
        return 2
    requests_metric = a.namespace + "_http_requests_total"
    lines_metric = a.namespace + "_lines_total"
    try:
        samples, types = parse_exposition(text)
        got, label_problems = requests_series(samples, requests_metric)
    except ParseError as e:
        print("compare: %s: not valid Prometheus text: %s" % (a.metrics, e), file=sys.stderr)
        return 2

    failures = []

    def fail(section, message):
        failures.append((section, message))

    for name in (requests_metric, lines_metric):
        if name in types and types[name] != "counter":
            fail("format", "# TYPE %s is %s, expected counter" % (name, types[name]))
    if not any(s[0] == requests_metric for s in samples):
        fail("a", "no %s samples in the output" % requests_metric)
    for p in label_problems:
        fail("a", p)

    # (a) exact series
    want = {labels_to_key(s["labels"]): s["value"] for s in truth["http_requests_total"]}
    for key in sorted(set(want) | set(got)):
        w, g = want.get(key), got.get(key)
        if w is None:
            fail("a", "extra series    %s = %d" % (fmt_key(key), g))
        elif g is None:
            fail("a", "missing series  %s (expected %d)" % (fmt_key(key), w))
        elif w != g:
            fail("a", "wrong count     %s: expected %d, got %d" % (fmt_key(key), w, g))

    # (b) sums vs Envoy's own counters
    envoy = truth["envoy"]
    rows = statmap.check(statmap.expected_counters(got, envoy), counters, envoy)
    for name, from_metrics, from_envoy, why in rows:
        if from_metrics != from_envoy:
            fail("b", "%s: envoy %d, logmetrics sum %d  [%s]" % (name, from_envoy, from_metrics, why))

    # (c) line accounting
    parsed, others = None, []
    for name, labels, value in samples:
        if name != lines_metric:
            continue
        if labels.get("result") == "parsed":
            try:
                parsed = (parsed or 0) + as_count(value, "%s%s" % (name, json.dumps(labels, sort_keys=True)))
            except ParseError as e:
                others.append(str(e))
        elif value != 0:
            others.append("%s%s = %g" % (name, json.dumps(labels, sort_keys=True), value))
    if parsed is None:
        fail("c", '%s{result="parsed"} is missing' % lines_metric)
    elif parsed != truth["requests"]:
        fail("c", '%s{result="parsed"} is %d, expected %d' % (lines_metric, parsed, truth["requests"]))
    for o in others:
        fail("c", "expected 0: %s" % o)

    total = sum(got.values())
    if failures:
        titles = {"format": "exposition", "a": "(a) series vs truth.json",
                  "b": "(b) sums vs Envoy's admin counters", "c": "(c) lines_total"}
        print("compare: FAIL %s against %s" % (a.metrics, a.outdir))
        for section in ("format", "a", "b", "c"):
            msgs = [m for s, m in failures if s == section]
            if msgs:
                print("  %s: %d problem(s)" % (titles[section], len(msgs)))
                for m in msgs[:60]:
                    print("    " + m)
                if len(msgs) > 60:
                    print("    ... %d more" % (len(msgs) - 60))
        return 1
    if not a.quiet:
        print("compare: OK %s: %d series / %d requests equal truth.json; %d Envoy counters agree; "
              "%d lines parsed, none malformed" % (a.metrics, len(got), total, len(rows), parsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
