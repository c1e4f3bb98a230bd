#!/usr/bin/env python3
"""Hostile access-log input through the real binary (`report --format prometheus`): label
injection through the path, the authority and the user agent; a 100 MB line; JSON nested a
million deep; invalid UTF-8 and NUL bytes; numbers such as 1e999, -0 and 2^64. Checks that
nothing crashes, the exposition stays valid (`promtool check metrics`), every line is
accounted for in logmetrics_lines_total, and memory stays bounded.

  python3 e2e/hostile/test_hostile_input.py --bin .build/debug/logmetrics
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, run_main  # noqa: E402

CONFIG = """labels:
  extract:
    agent: { field: user_agent, max_values: 50 }
  families:
    http_requests: [route, method, response_code, error_type, response_flags, slow_request, destination_service, agent]
"""


def record(path="/ok", authority="shop.example.com", agent="curl/8", duration="3", code="200", extra=""):
    return ('{"authority":"%s","duration":%s,"method":"GET","path":"%s","protocol":"HTTP/1.1",'
            '"response_code":%s,"response_flags":"-","route_name":null,"user_agent":"%s",'
            '"start_time":"2026-11-22T04:45:08.800Z"%s}\n' % (authority, duration, path, code, agent, extra))


def samples(text, name):
    out = []
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            out.append(line)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-hostile.")
    try:
        log = os.path.join(work, "hostile.log")
        lines = 0
        with open(log, "wb") as f:
            def put(text):
                nonlocal lines
                f.write(text if isinstance(text, bytes) else text.encode())
                lines += 1
            # Label injection: quotes, backslashes, newlines and braces in every label source.
            put(record(path='/a\\"} evil_metric{x=\\"1', authority='x\\"} 1\\nfake_total 99\\n#',
                       agent='ua\\\\\\"}\\n'))
            put(record(path="/b\\u0000nul", agent="\\u001b[31mred"))
            # Invalid UTF-8 and a raw NUL inside strings.
            put(b'{"authority":"\xff\xfe","duration":1,"method":"GET","path":"/c\xc3\x28","protocol":"HTTP/1.1",'
                b'"response_code":200,"response_flags":"-","route_name":null,"user_agent":"a\x00b"}\n')
            # Numbers at and past the edges.
            for value in ["1e999", "-0", "18446744073709551616", "-1", "9223372036854775807", "0.5", "1e3"]:
                put(record(path="/n", duration=value))
            put(record(path="/n", code="1e999"))
            put(record(path="/n", code="-0"))
            # A 100 MB line: one record whose path is 100 MB long.
            f.write(b'{"method":"GET","path":"/' + b"x" * (100 << 20) + b'","response_code":200}\n')
            lines += 1
            # JSON nested a million deep, in an object value and bare.
            put(b'{"method":"GET","nested":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b',"response_code":200}\n')
            put(b"{" * 1_000_000 + b"\n")
            # Not JSON at all, and truncated JSON.
            put(b"\x00\x01\x02 garbage \xff\n")
            put(b'{"method":"GET","path":"/trunc\n')
            # Many ordinary lines after all of that, to show the stream goes on.
            for k in range(1000):
                put(record(path=f"/after/{k % 7}"))
        size = os.path.getsize(log)
        print(f"{lines} lines, {size / 1e6:.0f} MB")
        config = os.path.join(work, "config.yaml")
        with open(config, "w") as f:
            f.write(CONFIG)
        # Lines up to 4 MiB are read, so that the million-deep nesting reaches the parser.
        command = [binary, "report", "--format", "prometheus", "--max-line-bytes", str(4 << 20), "--config", config, log]
        timing = os.path.join(work, "time.txt")
        result = subprocess.run(["/usr/bin/time", "-v", "-o", timing] + command, capture_output=True, timeout=600)
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timing).read()).group(1)) // 1024
        text = result.stdout.decode("utf-8", errors="strict")
        check(result.returncode == 0, f"exit status 0 ({result.stderr.decode()[-300:]})")
        check(peak < 100, f"peak RSS {peak} MiB for a {size / 1e6:.0f} MB input with a 100 MB line")
        counted = sum(float(l.rsplit(" ", 1)[1]) for l in samples(text, "logmetrics_lines_total"))
        check(counted == lines, f"every line accounted for: {counted:.0f} of {lines}")
        by = {}
        for l in samples(text, "logmetrics_lines_total"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', l))
            key = labels["result"] + ("/" + labels["reason"] if "reason" in labels else "")
            by[key] = by.get(key, 0) + float(l.rsplit(" ", 1)[1])
        check(by.get("oversized") == 1, "the 100 MB line is one oversized line")
        check(by.get("malformed/nesting_too_deep", 0) == 1, "arrays nested a million deep: malformed, nesting_too_deep")
        check(by.get("malformed/invalid_json", 0) >= 1, "a million opening braces: malformed, invalid_json")
        check(by.get("parsed", 0) >= 1000 + 12, f"the ordinary lines around them are parsed ({by.get('parsed')})")
        after = sum(float(l.rsplit(" ", 1)[1]) for l in samples(text, "logmetrics_http_requests_total")
                    if 'route="/after/' in l)
        check(after == 1000, "the 1 000 lines after the hostile ones are all counted")
        check("\nfake_total" not in text and "\nevil_metric" not in text, "no sample was injected")
        promtool = shutil.which("promtool")
        if promtool:
            lint = subprocess.run([promtool, "check", "metrics"], input=result.stdout, capture_output=True)
            problems = [l for l in lint.stderr.decode().splitlines()
                        if l.strip() and "no help text" not in l and "should have" not in l]
            check(lint.returncode == 0 or not problems,
                  f"promtool check metrics parses the exposition ({problems[:3]})")
        invalid = [l for l in samples(text, "logmetrics_invalid_number_records_total")]
        check(invalid and float(invalid[0].rsplit(" ", 1)[1]) >= 4,
              f"numbers that are no usable integer are counted ({invalid})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("hostile input: all checks passed")


if __name__ == "__main__":
    run_main(main)
