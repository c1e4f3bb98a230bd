#!/usr/bin/env python3
"""Tests of the end-to-end tooling itself: compare.py's parser and verdicts,
the recorded fixture, and run-envoy-e2e.sh's plumbing.

  python3 e2e/tests/test_compare.py            (or: python3 -m unittest discover -s e2e/tests)

Uses the recorded run in e2e/fixtures/envoy-1.40 (E2E_RUN_DIR overrides it,
e.g. with a fresh e2e/envoy/run.sh output) and standin_logmetrics.py, a small
Python stand-in for `logmetrics report --format prometheus`.  Needs neither
Envoy nor the logmetrics binary.
"""
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.dont_write_bytecode = True  # keep the source tree clean
TESTS = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.dirname(TESTS)
sys.path.insert(0, E2E)
sys.path.insert(0, os.path.join(E2E, "envoy"))
import compare  # noqa: E402

RUN_DIR = os.environ.get("E2E_RUN_DIR", os.path.join(E2E, "fixtures", "envoy-1.40"))
STANDIN = os.path.join(TESTS, "standin_logmetrics.py")


def standin(input_name=None, stdin_name=None):
    args = [sys.executable, STANDIN, "report", "--format", "prometheus"]
    stdin = None
    if input_name:
        args.append(os.path.join(RUN_DIR, input_name))
    if stdin_name:
        stdin = open(os.path.join(RUN_DIR, stdin_name), "rb")
    try:
        return subprocess.run(args, stdin=stdin, check=True, stdout=subprocess.PIPE).stdout.decode()
    finally:
        if stdin:
            stdin.close()


def run_compare(text):
    """(exit status, stdout + stderr) of compare.py on this exposition text."""
    with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
        f.write(text)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = compare.main([RUN_DIR, f.name])
    finally:
        os.unlink(f.name)
    return rc, out.getvalue() + err.getvalue()


def truth():
    with open(os.path.join(RUN_DIR, "truth.json")) as f:
        return json.load(f)


def sample_line(labels, value):
    return "logmetrics_http_requests_total{%s} %d" % (
        ",".join('%s="%s"' % kv for kv in labels.items()), value)


class ParserTest(unittest.TestCase):
    def test_escaped_label_values_spaces_and_timestamps(self):
        text = ('# HELP m A help text with "quotes" and \\\\ backslash\n'
                '# TYPE m counter\n'
                'm{a="x\\"y",b="back\\\\slash", c="line\\nbreak",} 3 1700000000000\n'
                'm 1.5e3\n'
                'n{le="+Inf"} +Inf\n'
                'n{le="0.5"} NaN\n')
        samples, types = compare.parse_exposition(text)
        self.assertEqual(types, {"m": "counter"})
        self.assertEqual(samples[0], ("m", {"a": 'x"y', "b": "back\\slash", "c": "line\nbreak"}, 3.0))
        self.assertEqual(samples[1], ("m", {}, 1500.0))
        self.assertEqual(samples[2][2], float("inf"))

    def test_label_order_does_not_matter(self):
        a, _ = compare.parse_exposition('m{x="1",y="2"} 1\n')
        b, _ = compare.parse_exposition('m{y="2",x="1"} 1\n')
        self.assertEqual(a, b)

    def test_rejects_what_prometheus_rejects(self):
        for bad in ('m{a="1"} 1\nm{a="1"} 2\n',        # repeated series
                    'm{a="1} 1\n',                      # unterminated value
                    'm{a="\\t"} 1\n',                   # unknown escape
                    'm{a="1"}1\n',                      # no space before the value
                    'm{a="1"} one\n',                   # not a number
                    'm 1\n# TYPE m counter\n',          # TYPE after samples
                    '# TYPE m countr\nm 1\n',           # unknown type
                    '9m 1\n'):                          # bad metric name
            with self.subTest(bad=bad):
                with self.assertRaises(compare.ParseError):
                    compare.parse_exposition(bad)


class FixtureTest(unittest.TestCase):
    def test_recorded_run_is_consistent(self):
        """The fixture passes the same self-check as a live run."""
        p = subprocess.run([sys.executable, "selfcheck.py", RUN_DIR], cwd=os.path.join(E2E, "envoy"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_truth_covers_every_outcome(self):
        rows = truth()["http_requests_total"]
        seen = {(r["labels"]["response_code"], r["labels"]["response_flags"]) for r in rows}
        for want in [("200", "-"), ("201", "-"), ("202", "-"), ("204", "-"), ("301", "-"), ("404", "-"),
                     ("404", "NR"), ("429", "RL"), ("500", "-"), ("503", "UF"), ("503", "UF,URX"),
                     ("504", "UT"), ("0", "DC")]:
            self.assertIn(want, seen)
        self.assertIn("true", {r["labels"]["slow_request"] for r in rows})
        self.assertIn("/admin/login", {r["labels"]["route"] for r in rows})


class CompareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.good = standin("access.log")

    def test_standin_output_passes_for_every_input_form(self):
        for name, text in (("access.log", self.good), ("cri.log", standin("cri.log")),
                           ("docker-json.log", standin("docker-json.log")),
                           ("stdin", standin(stdin_name="access.log"))):
            with self.subTest(input=name):
                rc, out = run_compare(text)
                self.assertEqual(rc, 0, out)
                self.assertIn("compare: OK", out)

    def test_series_split_by_extra_labels_are_summed(self):
        # users_item GET 200 split over two values of an extra label
        row = next(r for r in truth()["http_requests_total"]
                   if r["labels"]["route"] == "users_item" and r["labels"]["response_code"] == "200")
        lines = [l for l in self.good.splitlines()
                 if not ('route="users_item"' in l and 'response_code="200"' in l and 'method="GET"' in l)]
        lines.append(sample_line(dict(row["labels"], pod="a"), row["value"] - 1))
        lines.append(sample_line(dict(row["labels"], pod="b"), 1))
        rc, out = run_compare("\n".join(lines) + "\n")
        self.assertEqual(rc, 0, out)

    def _mutate(self, pattern, repl, count=1):
        text, n = re.subn(pattern, repl, self.good, count=count, flags=re.M)
        self.assertEqual(n, count, "mutation did not apply: %s" % pattern)
        return run_compare(text)

    def test_wrong_count_fails(self):
        rc, out = self._mutate(r'^(logmetrics_http_requests_total\{[^}]*route="checkout"[^}]*\}) (\d+)$',
                               lambda m: "%s %d" % (m.group(1), int(m.group(2)) + 1))
        self.assertEqual(rc, 1)
        self.assertIn('wrong count     route="checkout"', out)
        self.assertIn("downstream_rq_5xx", out)  # the Envoy cross-check sees it too

    def test_missing_series_fails(self):
        rc, out = self._mutate(r'^logmetrics_http_requests_total\{[^}]*response_flags="DC"[^}]*\} \d+\n', "")
        self.assertEqual(rc, 1)
        self.assertIn('missing series  route="reports" method="GET" response_code="0" response_flags="DC"', out)
        self.assertIn("downstream_rq_rx_reset", out)

    def test_extra_series_fails(self):
        extra = sample_line({"route": "users_item", "method": "PATCH", "response_code": "405",
                             "response_flags": "-", "error_type": "client_error", "slow_request": "false"}, 1)
        rc, out = run_compare(self.good + extra + "\n")
        self.assertEqual(rc, 1)
        self.assertIn('extra series    route="users_item" method="PATCH"', out)
        self.assertIn("downstream_rq_total", out)

    def test_flags_in_log_order_fail(self):
        rc, out = self._mutate(r'response_flags="UF,URX"', 'response_flags="URX,UF"')
        self.assertEqual(rc, 1)
        self.assertIn('extra series    route="inventory" method="GET" response_code="503" response_flags="URX,UF"', out)

    def test_misclassified_code_caught_by_envoy_counters(self):
        # 503 -> 502 keeps the code class, but Envoy's per-route counters differ
        rc, out = self._mutate(r'^(logmetrics_http_requests_total\{[^}]*route="payments"[^}]*)response_code="503"',
                               r'\1response_code="502"')
        self.assertEqual(rc, 1)
        self.assertIn("vhost.shop.route.payments.upstream_rq_503", out)
        self.assertNotIn("downstream_rq_5xx", out)

    def test_missing_label_fails(self):
        rc, out = self._mutate(r'slow_request="(true|false)",?', "")
        self.assertEqual(rc, 1)
        self.assertIn("lacks label(s) slow_request", out)

    def test_parsed_lines_must_equal_requests(self):
        rc, out = self._mutate(r'^logmetrics_lines_total\{result="parsed"\} (\d+)$',
                               lambda m: 'logmetrics_lines_total{result="parsed"} %d' % (int(m.group(1)) - 1))
        self.assertEqual(rc, 1)
        self.assertIn('logmetrics_lines_total{result="parsed"} is %d, expected %d'
                      % (truth()["requests"] - 1, truth()["requests"]), out)

    def test_malformed_lines_fail(self):
        rc, out = self._mutate(r'^(logmetrics_lines_total\{result="malformed",reason="truncated_json"\}) 0$', r"\1 2")
        self.assertEqual(rc, 1)
        self.assertIn('"reason": "truncated_json", "result": "malformed"} = 2', out)

    def test_unparsable_output_is_an_input_error(self):
        rc, out = run_compare(self.good + "logmetrics_http_requests_total{route=} 1\n")
        self.assertEqual(rc, 2)
        self.assertIn("not valid Prometheus text", out)


class ScriptTest(unittest.TestCase):
    def test_missing_binary_fails_clearly(self):
        p = subprocess.run([os.path.join(E2E, "run-envoy-e2e.sh"), "--bin", "/nonexistent/logmetrics"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"logmetrics executable not found", p.stdout)

    def test_runs_all_four_inputs_against_a_recorded_run(self):
        p = subprocess.run([os.path.join(E2E, "run-envoy-e2e.sh"), "--bin", STANDIN, "--from", RUN_DIR],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertEqual(p.stdout.count(b"compare: OK"), 4, p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
