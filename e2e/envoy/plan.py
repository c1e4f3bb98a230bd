#!/usr/bin/env python3
"""The seeded request plan and its a-priori ground truth.

build_plan(n, seed) returns exactly the same n requests for the same
arguments.  Each request's outcome follows from bootstrap.yaml.in and
upstream.py alone (never from timing), so the expected counts are written to
truth.json before any traffic is sent.

  case               request                               route            code  flags
  healthz            GET|HEAD /healthz                     healthz          200   -
  user_get           GET /users/<1..50000>                 users_item       200   -
  user_get_missing   GET /users/<90000..99999>             users_item       404   -
  user_put           PUT /users/<id> (JSON body)           users_item       200   -
  user_delete        DELETE /users/<id>                    users_item       204   -
  orders_get         GET /users/<id>/orders                users_orders     200   -
  orders_post        POST /users/<id>/orders               users_orders     201   -
  events_post        POST /events (1..8 KiB body)          events           202   -
  catalog_get        GET /catalog/items/<sku>?...          catalog          200   -
  catalog_gone       GET /catalog/discontinued/<sku>       catalog          404   -
  checkout_fail      POST /checkout/quote                  checkout         500   -
  reports_fast       GET /reports/daily?delay_ms=1..150    reports          200   -
  reports_timeout    GET /reports/export?delay_ms=600..900 reports_export   504   UT   (route timeout 250 ms)
  promo              GET /promo                            promo            200 for the first RL tokens,
                                                                            then 429 RL (bucket never refills)
  payments           GET|POST /payments/...                payments         503   UF   (port refuses)
  inventory          GET /inventory/sku-<n>                inventory        503   UF,URX (2 retries, all refused)
  redirect           GET /old/users/<id>                   legacy_redirect  301   -
  noroute            GET|POST /nope, /.env, /admin/login?.. path w/o query  404   NR
  -- fixed counts, only when n >= 200 --
  reports_slow       GET /reports/daily?delay_ms=1300      reports          200   -    slow_request=true
  client_abort       GET /reports/daily?delay_ms=800,      reports          0     DC
                     client hangs up after 150 ms
  long_user_agent    GET /users/<id>, 17..37 KB UA         users_item       200   -    log line > 16 KiB
  long_query         GET /search?q=<20 KiB>                /search          404   NR   log line > 16 KiB

Only reports_slow takes longer than SLOW_THRESHOLD_MS; every other request is
designed to finish in well under 1 s.

Usage: plan.py OUTDIR N SEED    writes OUTDIR/truth.json and prints the
                                values render.py needs for the bootstrap.
"""
import json
import os
import random
import sys
from collections import Counter

from labels import LABELS, SLOW_THRESHOLD_MS, flag_set, key_to_labels, series_key
import statmap

TRUTH_FORMAT = "logmetrics-e2e-truth/1"

# What the bootstrap template is rendered with, and what statmap.py needs to
# know about each route.  Route names, clusters and stat prefixes must match
# bootstrap.yaml.in (the run self-check verifies the clusters from the log).
HCM_STAT_PREFIX = "ingress_http"
VHOST = "shop"
EXPORT_TIMEOUT_MS = 250
NUM_RETRIES = 2
RL_STAT_PREFIX = "promo_rl"


def _svc(name, port=8080):
    return "outbound|%d||%s.shop.svc.cluster.local" % (port, name)


ROUTES = {
    "healthz": {"cluster": _svc("users"), "stat_prefix": "healthz"},
    "users_orders": {"cluster": _svc("orders"), "stat_prefix": "users_orders"},
    "users_item": {"cluster": _svc("users"), "stat_prefix": "users_item"},
    "events": {"cluster": _svc("events"), "stat_prefix": "events"},
    "catalog": {"cluster": _svc("catalog"), "stat_prefix": "catalog"},
    "checkout": {"cluster": _svc("checkout"), "stat_prefix": "checkout"},
    "reports_export": {"cluster": _svc("reports"), "stat_prefix": "reports_export",
                       "timeout_ms": EXPORT_TIMEOUT_MS},
    "reports": {"cluster": _svc("reports"), "stat_prefix": "reports", "timeout_ms": 5000},
    "promo": {"cluster": _svc("promo"), "stat_prefix": "promo",
              "rate_limit": {"stat_prefix": RL_STAT_PREFIX}},
    "payments": {"cluster": _svc("payments", 9090), "stat_prefix": "payments"},
    "inventory": {"cluster": _svc("inventory"), "stat_prefix": "inventory", "num_retries": NUM_RETRIES},
    "legacy_redirect": {"direct_response": True},
}

# case: (weight, route, code, flags).  promo's code depends on its position.
WEIGHTED = {
    "healthz": (80, "healthz", 200, "-"),
    "user_get": (190, "users_item", 200, "-"),
    "user_get_missing": (30, "users_item", 404, "-"),
    "user_put": (35, "users_item", 200, "-"),
    "user_delete": (20, "users_item", 204, "-"),
    "orders_get": (110, "users_orders", 200, "-"),
    "orders_post": (30, "users_orders", 201, "-"),
    "events_post": (50, "events", 202, "-"),
    "catalog_get": (70, "catalog", 200, "-"),
    "catalog_gone": (20, "catalog", 404, "-"),
    "checkout_fail": (30, "checkout", 500, "-"),
    "reports_fast": (45, "reports", 200, "-"),
    "reports_timeout": (18, "reports_export", 504, "UT"),
    "promo": (45, "promo", None, None),
    "payments": (35, "payments", 503, "UF"),
    "inventory": (22, "inventory", 503, "URX,UF"),
    "redirect": (15, "legacy_redirect", 301, "-"),
    "noroute": (40, None, 404, "NR"),
}
FIXED = {
    "reports_slow": ("reports", 200, "-"),
    "client_abort": ("reports", 0, "DC"),
    "long_user_agent": ("users_item", 200, "-"),
    "long_query": (None, 404, "NR"),
}
SLOW_DELAY_MS = 1300
ABORT_DELAY_MS = 800
ABORT_AFTER_S = 0.15

USER_AGENTS = [
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    # quotes and a backslash: Envoy must JSON-escape these in the log
    'shop-cli/2.1 (build "nightly"; path C:\\tools\\shop)',
]
HOSTS = ["shop.example.com", "api.shop.example.com", "users.shop.svc.cluster.local:8080"]
# No ids, digits or hex: the null-route label is the path without its query.
NOROUTE = [
    ("GET", "/nope"), ("GET", "/wp-login.php"), ("POST", "/wp-login.php"), ("GET", "/.env"),
    ("GET", "/favicon.ico"), ("GET", "/robots.txt"), ("GET", "/admin/login?next=/account&lang=en"),
]


def fixed_counts(n):
    if n < 200:
        return {k: 0 for k in FIXED}
    clamp = lambda v, lo, hi: max(lo, min(hi, v))
    return {
        "reports_slow": clamp(n // 500, 1, 5),
        "client_abort": clamp(n // 250, 1, 8),
        "long_user_agent": clamp(n // 700, 1, 3),
        "long_query": clamp(n // 1000, 1, 2),
    }


def apportion(total, weights):
    """Largest-remainder split of total into integers proportional to weights."""
    wsum = sum(weights.values())
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[:total - sum(out.values())]:
        out[k] += 1
    return out


def rate_limit_tokens(promo_requests):
    """About a third of /promo requests pass, so both 200 and 429 occur."""
    return max(1, (promo_requests + 2) // 3)


def long_user_agent(rng, size):
    base = "Mozilla/5.0 (X11; Linux x86_64) shop-app/7.3 "
    parts = [base]
    total = len(base)
    while total < size:
        # quotes and backslashes make Envoy escape them, so container-runtime
        # splits can land inside an escape sequence
        tok = rng.choice(['ext/%d.%d' % (rng.randint(0, 99), rng.randint(0, 99)), 'feature="%s"' % rng.choice("abcdefgh"),
                          'tag\\%s' % rng.choice("xyz"), 'plugin-%s' % rng.choice(["alpha", "beta", "gamma"])])
        parts.append(tok + " ")
        total += len(tok) + 1
    return "".join(parts)[:size]


def build_plan(n, seed):
    """[(case, request dict)] in send order; request: method, path, headers, body, abort_after_s."""
    if not 1 <= n <= 1_000_000:
        raise ValueError("n must be in 1..1000000")
    rng = random.Random(seed)
    counts = fixed_counts(n)
    counts.update(apportion(n - sum(counts.values()), {k: w[0] for k, w in WEIGHTED.items()}))
    cases = [c for c in sorted(counts) for _ in range(counts[c])]
    rng.shuffle(cases)
    # 3, 2 and 2 container-log records once Envoy has logged them
    long_ua_sizes = [37_000, 17_500, 24_000]
    long_ua_done = 0
    plan = []
    for case in cases:
        method, body, ctype, abort = "GET", None, None, None
        uid = rng.randint(1, 50_000)
        ua = rng.choice(USER_AGENTS)
        if case == "healthz":
            method = "HEAD" if rng.random() < 0.15 else "GET"
            path, ua = "/healthz", "kube-probe/1.30"
        elif case == "user_get":
            path = "/users/%d" % uid
        elif case == "user_get_missing":
            path = "/users/%d" % rng.randint(90_000, 99_999)
        elif case == "user_put":
            method, path = "PUT", "/users/%d" % uid
            body = json.dumps({"id": uid, "name": "n" * rng.randint(1, 300)}).encode()
            ctype = "application/json"
        elif case == "user_delete":
            method, path = "DELETE", "/users/%d" % uid
        elif case == "orders_get":
            path = "/users/%d/orders" % uid
        elif case == "orders_post":
            method, path = "POST", "/users/%d/orders" % uid
            body = json.dumps({"sku": rng.randint(1, 99_999), "qty": rng.randint(1, 5)}).encode()
            ctype = "application/json"
        elif case == "events_post":
            method, path = "POST", "/events"
            body = rng.randbytes(rng.randint(1, 8192))
            ctype = "application/octet-stream"
        elif case == "catalog_get":
            path = "/catalog/items/sku-%05d?view=%s&lang=en" % (rng.randint(0, 99_999), rng.choice(["full", "card"]))
        elif case == "catalog_gone":
            path = "/catalog/discontinued/sku-%05d" % rng.randint(0, 99_999)
        elif case == "checkout_fail":
            method, path = "POST", "/checkout/quote"
            body = json.dumps({"cart": uid, "items": rng.randint(1, 9)}).encode()
            ctype = "application/json"
        elif case == "reports_fast":
            path = "/reports/daily?delay_ms=%d&format=%s" % (rng.randint(1, 150), rng.choice(["csv", "json"]))
        elif case == "reports_slow":
            path = "/reports/daily?delay_ms=%d&format=csv" % SLOW_DELAY_MS
        elif case == "client_abort":
            path = "/reports/daily?delay_ms=%d&format=json" % ABORT_DELAY_MS
            abort = ABORT_AFTER_S
        elif case == "reports_timeout":
            path = "/reports/export?delay_ms=%d" % rng.randint(600, 900)
        elif case == "promo":
            path = "/promo"
        elif case == "payments":
            if rng.random() < 0.5:
                method, path = "POST", "/payments/charge"
                body = json.dumps({"order": uid, "amount_cents": rng.randint(100, 99_999)}).encode()
                ctype = "application/json"
            else:
                path = "/payments/status/%d" % uid
        elif case == "inventory":
            path = "/inventory/sku-%05d" % rng.randint(0, 99_999)
        elif case == "redirect":
            path = "/old/users/%d" % uid
        elif case == "noroute":
            method, path = rng.choice(NOROUTE)
        elif case == "long_user_agent":
            path = "/users/%d" % uid
            ua = long_user_agent(rng, long_ua_sizes[long_ua_done % len(long_ua_sizes)])
            long_ua_done += 1
        elif case == "long_query":
            path = "/search?q=" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz+") for _ in range(20_000))
        else:
            raise AssertionError(case)
        headers = [("Host", rng.choice(HOSTS)), ("User-Agent", ua), ("Accept", "*/*")]
        r = rng.random()
        if r < 0.15:
            headers.append(("X-Forwarded-For", "203.0.113.%d" % rng.randint(1, 254)))
        elif r < 0.25:
            headers.append(("X-Forwarded-For", "198.51.100.%d, 10.1.%d.%d" % (
                rng.randint(1, 254), rng.randint(0, 255), rng.randint(1, 254))))
        if ctype:
            headers.append(("Content-Type", ctype))
        plan.append((case, {"method": method, "path": path, "headers": headers, "body": body,
                            "abort_after_s": abort}))
    return plan, counts


def expected_outcome(case):
    """(route_name, code, flags) for every case but promo."""
    if case in WEIGHTED:
        _, route, code, flags = WEIGHTED[case]
    else:
        route, code, flags = FIXED[case]
    return route, code, flags


def build_truth(n, seed):
    plan, counts = build_plan(n, seed)
    tokens = rate_limit_tokens(counts.get("promo", 0))
    series = Counter()
    case_rows = Counter()
    promo_seen = 0
    for case, req in plan:
        if case == "promo":
            promo_seen += 1
            route, code, flags = ("promo", 200, "-") if promo_seen <= tokens else ("promo", 429, "RL")
        else:
            route, code, flags = expected_outcome(case)
        # Durations are not known in advance; only reports_slow is designed to
        # exceed the threshold (by 300 ms), everything else to stay far below.
        duration = SLOW_THRESHOLD_MS + 1 if case == "reports_slow" else 0
        key = series_key(route, req["path"], req["method"], code, flags, duration)
        series[key] += 1
        case_rows[(case, key.route, key.method, key.response_code, key.response_flags)] += 1

    envoy = {
        "hcm_stat_prefix": HCM_STAT_PREFIX,
        "vhost": VHOST,
        "routes": json.loads(json.dumps(ROUTES)),
    }
    envoy["routes"]["promo"]["rate_limit"]["tokens"] = tokens
    expected = statmap.expected_counters(series, envoy)
    # Counters that must stay 0 whatever the traffic: a retry skipped by the
    # retry circuit breaker would turn UF,URX into UF.
    inv = "cluster.%s." % ROUTES["inventory"]["cluster"]
    expected[inv + "upstream_rq_retry_overflow"] = (0, "retry circuit breaker never trips")
    expected["http.%s.downstream_rq_response_before_rq_complete" % HCM_STAT_PREFIX] = (
        0, "every request body arrives with its headers")

    def total_by(fn):
        c = Counter()
        for k, v in series.items():
            c[fn(k)] += v
        return dict(sorted(c.items()))

    by_flag = Counter()
    for k, v in series.items():
        for f in flag_set(k.response_flags):
            by_flag[f] += v
    return {
        "format": TRUTH_FORMAT,
        "requests": n,
        "seed": seed,
        "slow_threshold_ms": SLOW_THRESHOLD_MS,
        "labels": list(LABELS),
        "label_rules": {
            "route": "Envoy route_name; if null, the request path without its query string",
            "response_code": "decimal string, \"0\" when no response was sent",
            "response_flags": "set of Envoy flags in Envoy's enum order (UF,URX), \"-\" for none",
            "error_type": "server_error if code >= 500, client_error if >= 400, else none",
            "slow_request": "true if duration > %d ms" % SLOW_THRESHOLD_MS,
        },
        "http_requests_total": [
            {"labels": key_to_labels(k), "value": v}
            for k, v in sorted(series.items())
        ],
        "totals": {
            "requests": sum(series.values()),
            "by_code_class": total_by(lambda k: "0" if k.response_code == "0" else k.response_code[0] + "xx"),
            "by_response_code": total_by(lambda k: k.response_code),
            "by_flag": dict(sorted(by_flag.items())),
            "by_response_flags": total_by(lambda k: k.response_flags),
            "by_error_type": total_by(lambda k: k.error_type),
            "by_slow_request": total_by(lambda k: k.slow_request),
            "by_route": total_by(lambda k: k.route),
        },
        "cases": [
            {"case": c, "route": r, "method": m, "response_code": code, "response_flags": f, "count": v}
            for (c, r, m, code, f), v in sorted(case_rows.items())
        ],
        "envoy": envoy,
        "expected_envoy_stats": {name: v for name, (v, _) in sorted(expected.items())},
    }


def bootstrap_values(truth):
    """NAME=VALUE pairs for render.py (everything except ports and paths)."""
    return {
        "HCM_STAT_PREFIX": HCM_STAT_PREFIX,
        "VHOST": VHOST,
        "EXPORT_TIMEOUT": "%.3fs" % (EXPORT_TIMEOUT_MS / 1000.0),
        "NUM_RETRIES": str(NUM_RETRIES),
        "RL_STAT_PREFIX": RL_STAT_PREFIX,
        "RL_TOKENS": str(truth["envoy"]["routes"]["promo"]["rate_limit"]["tokens"]),
    }


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    outdir, n, seed = argv[1], int(argv[2]), int(argv[3])
    truth = build_truth(n, seed)
    tmp = os.path.join(outdir, "truth.json.tmp")
    with open(tmp, "w") as f:
        json.dump(truth, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, os.path.join(outdir, "truth.json"))
    for k, v in bootstrap_values(truth).items():
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main(sys.argv)
