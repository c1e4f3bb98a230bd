#!/usr/bin/env python3
"""A small stand-in for `logmetrics report --format prometheus`, for testing
the end-to-end tooling (compare.py, run-envoy-e2e.sh) without the real binary.

  standin_logmetrics.py report --format prometheus [FILE]     (stdin if no FILE)

Reads Istio JSON access-log lines, raw or wrapped by a container runtime (CRI
records with P/F joining, docker json-file objects joined until a "log"
value ends with a newline), and prints logmetrics_http_requests_total and
logmetrics_lines_total the way logmetrics' output contract describes them.
To exercise the parser of compare.py it also adds a destination_service label
(so several series must be summed), varies the label order, and escapes
label values.

Deliberately independent of e2e/envoy/*.py, so that it also cross-checks the
label rules written there.
"""
import json
import re
import sys
from collections import Counter

FLAG_ORDER = ["LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE",
              "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF",
              "DO", "DR", "UDO"]
CRI = re.compile(rb"^(\S+) (stdout|stderr) ([^ ]+) ?(.*)$", re.S)


def records(stream):
    """Yield (line bytes or None, malformed reason)."""
    partial = {}
    for raw in stream:
        raw = raw.rstrip(b"\n")
        if raw.startswith(b'{"log":'):
            try:
                obj = json.loads(raw)
            except ValueError:
                yield None, "bad_envelope"
                continue
            partial.setdefault(("docker", obj.get("stream")), []).append(obj.get("log", ""))
            if obj.get("log", "").endswith("\n"):
                yield "".join(partial.pop(("docker", obj.get("stream"))))[:-1].encode("utf-8"), None
            continue
        m = CRI.match(raw)
        if m and not raw.startswith(b"{"):
            key = ("cri", m.group(2))
            partial.setdefault(key, []).append(m.group(4))
            if m.group(3).split(b":")[0] == b"F":
                yield b"".join(partial.pop(key)), None
            continue
        yield raw, None
    for _ in partial:
        yield None, "truncated_partial"


def flags(value):
    if value in (None, "", "-"):
        return "-"
    fs = sorted({f for f in value.split(",") if f and f != "-"},
                key=lambda f: (FLAG_ORDER.index(f) if f in FLAG_ORDER else len(FLAG_ORDER), f))
    return ",".join(fs) or "-"


def escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main(argv):
    args = argv[1:]
    if args[:3] != ["report", "--format", "prometheus"] or len(args) > 4:
        sys.exit("usage: standin_logmetrics.py report --format prometheus [FILE]")
    stream = open(args[3], "rb") if len(args) == 4 else sys.stdin.buffer
    series, lines = Counter(), Counter()
    for line, problem in records(stream):
        if problem:
            lines[("malformed", problem)] += 1
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            lines[("malformed", "invalid_json")] += 1
            continue
        code = int(rec.get("response_code") or 0)
        route = rec.get("route_name") or (rec.get("path") or "").split("?")[0]
        labels = {
            "route": route,
            "method": rec.get("method") or "",
            "response_code": str(code),
            "response_flags": flags(rec.get("response_flags")),
            "error_type": "server_error" if code >= 500 else "client_error" if code >= 400 else "none",
            "slow_request": "true" if (rec.get("duration") or 0) > 1000 else "false",
            "destination_service": (rec.get("upstream_cluster") or "unknown").rsplit("|", 1)[-1],
        }
        series[tuple(sorted(labels.items()))] += 1
        lines[("parsed", None)] += 1

    out = ["# HELP logmetrics_http_requests_total HTTP requests by route and outcome.",
           "# TYPE logmetrics_http_requests_total counter"]
    for i, (labels, value) in enumerate(sorted(series.items())):
        items = list(labels)
        if i % 2:  # label order is not part of the contract
            items.reverse()
        out.append("logmetrics_http_requests_total{%s} %d"
                   % (",".join('%s="%s"' % (k, escape(v)) for k, v in items), value))
    out += ["# HELP logmetrics_lines_total Input lines by result.",
            "# TYPE logmetrics_lines_total counter",
            'logmetrics_lines_total{result="parsed"} %d' % lines[("parsed", None)]]
    for reason in ("bad_envelope", "invalid_json", "truncated_json", "truncated_partial"):
        out.append('logmetrics_lines_total{result="malformed",reason="%s"} %d' % (reason, lines[("malformed", reason)]))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv)
