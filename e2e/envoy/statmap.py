"""Which Envoy admin counter equals which sum of logmetrics_http_requests_total.

Envoy counts the same traffic that it logs, so sums of the per-request series
(by code class, by flag, by route) must equal its own counters.  The plan uses
this to write the counters it expects (truth.json), the run self-check uses it
to hold Envoy to the plan, and compare.py uses it to hold logmetrics' output
to the counters Envoy reported during the run.

`envoy` is the "envoy" section of truth.json: the listener's stat prefix, the
virtual host, and per route its cluster, stat_prefix, retries, rate limit or
direct response.  Notation below: code = response_code, flags = the set in
response_flags, R(route) = that route's num_retries.

Listener (http.<hcm>.*, connection manager and router filter):
  downstream_rq_total            all requests, including code 0
  downstream_rq_completed        code != 0  (a request whose client hung up,
                                 0 DC, never completes)
  downstream_rq_1xx .. _5xx      code in that class; code 0 is in none of them
  downstream_rq_rx_reset         DC in flags  (the client reset the stream)
  no_route                       NR in flags
  rq_total                       all requests except RL: the local rate limit
                                 filter answers before the router filter runs
  rq_direct_response             requests on routes answered by Envoy itself
                                 (the redirect route)
Local rate limit (<rl prefix>.http_local_rate_limit.*):
  rate_limited                   RL in flags
  ok                             requests on the rate-limited route without RL
Per route (vhost.<vhost>.route.<stat_prefix>.*) and per cluster
(cluster.<name>.*, summed over the routes that use that cluster).  Both only
see requests the router sent upstream, so they exclude RL, code 0 (the
router never charges a code when the client hangs up) and direct responses:
  upstream_rq_completed          code != 0 and RL not in flags
  upstream_rq_<code>, _<N>xx     same, by code and by class; this includes
                                 the router's own 503 UF / 504 UT replies
  upstream_rq_timeout            UT in flags
  upstream_rq_retry_limit_exceeded   URX in flags
  upstream_rq_retry (route)      R(route) x requests with URX
Per cluster only:
  upstream_rq_pending_failure_eject
                                 1 per UF request, 1 + R(route) per UF,URX
                                 request: every attempt waited for a
                                 connection that failed.  (Not
                                 upstream_cx_connect_fail: under concurrency
                                 one failed connection attempt can fail two
                                 waiting requests, so that counter may be lower.)
"""
import re

from labels import flag_set

CODE_STAT = re.compile(r"^upstream_rq_(\d{3}|\dxx)$")


def _sum(series, pred):
    return sum(v for k, v in series.items() if pred(k))


def _routed_upstream(k):
    """The request went through the router to a cluster (not RL, not code 0)."""
    return k.response_code != "0" and "RL" not in flag_set(k.response_flags)


def expected_counters(series, envoy):
    """{counter name: (expected value, why)} for a {SeriesKey: count} dict."""
    out = {}

    def put(name, value, why):
        out[name] = (value, why)

    routes = envoy["routes"]
    hcm = "http.%s." % envoy["hcm_stat_prefix"]
    put(hcm + "downstream_rq_total", _sum(series, lambda k: True), "all requests, code 0 included")
    put(hcm + "downstream_rq_completed", _sum(series, lambda k: k.response_code != "0"), "code != 0")
    for c in range(1, 6):
        put(hcm + "downstream_rq_%dxx" % c,
            _sum(series, lambda k, c=c: k.response_code != "0" and k.response_code[0] == str(c)),
            "code %dxx (code 0 excluded)" % c)
    put(hcm + "downstream_rq_rx_reset", _sum(series, lambda k: "DC" in flag_set(k.response_flags)),
        "DC in flags")
    put(hcm + "no_route", _sum(series, lambda k: "NR" in flag_set(k.response_flags)), "NR in flags")
    put(hcm + "rq_total", _sum(series, lambda k: "RL" not in flag_set(k.response_flags)),
        "RL not in flags (rate-limited requests never reach the router)")
    direct = [r for r, info in routes.items() if info.get("direct_response")]
    put(hcm + "rq_direct_response", _sum(series, lambda k: k.route in direct),
        "route in %s (answered by Envoy)" % ",".join(direct))

    for route, info in routes.items():
        rl = info.get("rate_limit")
        if rl:
            base = "%s.http_local_rate_limit." % rl["stat_prefix"]
            put(base + "rate_limited", _sum(series, lambda k, r=route: k.route == r and "RL" in flag_set(k.response_flags)),
                "route=%s, RL in flags" % route)
            put(base + "ok", _sum(series, lambda k, r=route: k.route == r and "RL" not in flag_set(k.response_flags)),
                "route=%s, RL not in flags" % route)

    def upstream_stats(prefix, route_names, with_retry):
        mine = {k: v for k, v in series.items() if k.route in route_names and _routed_upstream(k)}
        what = "route in {%s}, code != 0, RL not in flags" % ",".join(sorted(route_names))
        put(prefix + "upstream_rq_completed", sum(mine.values()), what)
        for k, v in mine.items():
            code = k.response_code
            for name in ("upstream_rq_" + code, "upstream_rq_%sxx" % code[0]):
                value, _ = out.get(prefix + name, (0, None))
                put(prefix + name, value + v, "%s, by code" % what)
        put(prefix + "upstream_rq_timeout", _sum(mine, lambda k: "UT" in flag_set(k.response_flags)),
            "route in {%s}, UT in flags" % ",".join(sorted(route_names)))
        put(prefix + "upstream_rq_retry_limit_exceeded",
            _sum(mine, lambda k: "URX" in flag_set(k.response_flags)),
            "route in {%s}, URX in flags" % ",".join(sorted(route_names)))
        if with_retry:
            retries = routes[route_names[0]].get("num_retries", 0)
            put(prefix + "upstream_rq_retry",
                retries * _sum(mine, lambda k: "URX" in flag_set(k.response_flags)),
                "%d x (route=%s, URX in flags)" % (retries, route_names[0]))
        else:
            failed_attempts = 0
            for k, v in mine.items():
                f = flag_set(k.response_flags)
                if "UF" in f:
                    failed_attempts += v * (1 + routes[k.route].get("num_retries", 0) if "URX" in f else 1)
            put(prefix + "upstream_rq_pending_failure_eject", failed_attempts,
                "route in {%s}: 1 per UF, 1 + num_retries per UF,URX" % ",".join(sorted(route_names)))

    for route, info in sorted(routes.items()):
        if info.get("stat_prefix"):
            upstream_stats("vhost.%s.route.%s." % (envoy["vhost"], info["stat_prefix"]), [route], True)
    by_cluster = {}
    for route, info in routes.items():
        if info.get("cluster"):
            by_cluster.setdefault(info["cluster"], []).append(route)
    for cluster, route_names in sorted(by_cluster.items()):
        upstream_stats("cluster.%s." % cluster, sorted(route_names), False)
    return out


def code_stat_prefixes(envoy):
    """Scopes whose upstream_rq_<code> / _<N>xx counters must all be explained."""
    prefixes = ["vhost.%s.route.%s." % (envoy["vhost"], info["stat_prefix"])
                for info in envoy["routes"].values() if info.get("stat_prefix")]
    prefixes += sorted({"cluster.%s." % info["cluster"] for info in envoy["routes"].values() if info.get("cluster")})
    return prefixes


def check(expected, counters, envoy):
    """Compare expected_counters() output with Envoy's counters.

    Returns [(name, expected, actual, why)] for every check, in a stable order.
    A counter Envoy never created counts as 0.  Any per-route or per-cluster
    upstream_rq_<code> counter that Envoy reports but the expectation lacks is
    checked against 0, so an unexplained code cannot slip through.
    """
    rows = [(name, exp, counters.get(name, 0), why) for name, (exp, why) in expected.items()]
    for prefix in code_stat_prefixes(envoy):
        for name, value in counters.items():
            if name.startswith(prefix) and CODE_STAT.match(name[len(prefix):]) and name not in expected:
                rows.append((name, 0, value, "no such request expected"))
    return rows
