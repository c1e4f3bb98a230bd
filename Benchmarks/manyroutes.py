"""The many-routes input that follow-cpu.py and series-memory.py share: route r is always line r
of the recorded Envoy 1.40 run (cycled) under the route name "r<r>", so each route has one
request series and one 20-bucket duration histogram, with a configuration that holds them."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(os.path.dirname(HERE), "e2e", "fixtures", "envoy-1.40", "access.log")


def fixture_lines():
    with open(FIXTURE, "rb") as f:
        return f.read().splitlines(keepends=True)


def lines(routes):
    fixture = fixture_lines()
    named = re.compile(rb'"route_name":"[^"]*"')
    return [named.sub(b'"route_name":"r%d"' % r, fixture[r % len(fixture)], count=1) for r in range(routes)]


def write_config(path, routes, every_family=False):
    with open(path, "w") as f:
        # The default caps (500 routes) would fold most of them into __overflow__.
        f.write(f"limits: {{ max_series_per_family: {2 * routes}, max_values_per_label: {{ route: {2 * routes} }} }}\n")
        if every_family:
            return
        # A request counter and a 20-bucket duration histogram per route, as the render
        # benchmark has; the size and upstream-time histograms by route would triple it.
        f.write("labels:\n  families: { http_request_size_bytes: [], http_response_size_bytes: [], "
                "http_upstream_service_time_seconds: [] }\n")
