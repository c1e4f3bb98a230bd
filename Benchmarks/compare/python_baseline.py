#!/usr/bin/env python3
"""The Python baseline for Benchmarks/compare: each line decoded whole (the standard library's
json, or orjson), counted by (route, method, response_code, response_flags), with a per-route
duration histogram on Envoy's millisecond buckets. The route is route_name, or the path when it
is null. Output as simdjson_reference.cpp writes it.

  python_baseline.py [--orjson] ACCESS_LOG > counts.tsv
"""

import bisect
import sys

BOUNDS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
          600000, 1800000, 3600000]


def main():
    args = sys.argv[1:]
    if args and args[0] == "--orjson":
        import orjson
        loads = orjson.loads
        args = args[1:]
    else:
        import json
        loads = json.loads
    requests = {}
    durations = {}
    malformed = 0
    with open(args[0], "rb") as f:
        for line in f:
            try:
                r = loads(line)
                route = r["route_name"]
                if route is None:
                    route = r["path"]
                key = (route, r["method"], r["response_code"], r["response_flags"])
                duration = r["duration"]
            except (ValueError, KeyError, TypeError):
                malformed += 1
                continue
            requests[key] = requests.get(key, 0) + 1
            h = durations.get(route)
            if h is None:
                h = durations[route] = [[0] * (len(BOUNDS) + 1), 0, 0]
            h[0][bisect.bisect_left(BOUNDS, duration)] += 1
            h[1] += 1
            h[2] += duration
    out = sys.stdout
    for (route, method, code, flags), count in requests.items():
        out.write(f"requests\t{route}\t{method}\t{code}\t{flags}\t{count}\n")
    for route, (_, count, total) in durations.items():
        out.write(f"duration\t{route}\t{count}\t{total}\n")
    out.write(f"malformed\t{malformed}\n")


if __name__ == "__main__":
    main()
