#!/usr/bin/env python3
"""Send the seeded plan through Envoy and collect what Envoy reported.

Steps: wait until Envoy's admin says /ready (LIVE) and find the listener port;
send the N planned requests from a pool of client threads; check that every
client saw the status the plan expects; wait until the access log holds N
lines; read the admin counters (/stats?format=json) and the Prometheus view
(/stats/prometheus).

Writes OUTDIR/envoy-stats.json and, for debugging, WORKDIR/envoy-stats.prom
and WORKDIR/client.jsonl (one line per request: case, status the client saw,
client-side milliseconds).  Exit status 0 only if every request was sent and
answered as planned and the access log is complete.

Never retries a request: a retry would add a log line the plan does not have.
"""
import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

import plan as planmod

LOOPBACK = ("127.0.0.1",)


class Client:
    """HTTP/1.1 over one keep-alive socket.

    Builds each request itself so that the request line, headers and body go
    out in a single send(): if the body came in a second segment, Envoy could
    answer a request for a refusing upstream (503 UF) before the body arrived,
    and bytes_received / downstream_rq_response_before_rq_complete would then
    depend on timing.
    """

    def __init__(self, host, port, timeout):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None

    @staticmethod
    def encode(req):
        lines = ["%s %s HTTP/1.1" % (req["method"], req["path"])]
        lines += ["%s: %s" % kv for kv in req["headers"]]
        body = req["body"] or b""
        if req["body"] is not None:
            lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def send(self, req):
        if self.sock is None:
            self.sock = socket.create_connection(self.addr, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(self.encode(req))
        resp = http.client.HTTPResponse(self.sock, method=req["method"])
        try:
            resp.begin()
            resp.read()
        finally:
            resp.close()
        if resp.will_close:
            self.close()
        return resp.status

    def hang_up(self, req):
        """Send the request on a fresh connection and close it before the
        response (the upstream is told to take longer): Envoy logs 0 DC."""
        with socket.create_connection(self.addr, timeout=self.timeout) as s:
            s.sendall(self.encode(req))
            time.sleep(req["abort_after_s"])
        return 0

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def admin_get(admin, path, timeout=10.0):
    host, port = admin.rsplit(":", 1)
    if host not in LOOPBACK:
        raise SystemExit("driver: admin address %r is not loopback" % admin)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise OSError("admin %s answered %d" % (path, resp.status))
        return body
    finally:
        conn.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def wait_ready(admin_file, envoy_pid, timeout):
    """Admin address from --admin-address-path, /ready == LIVE, listener port."""
    deadline = time.monotonic() + timeout
    last = "no admin address yet"
    while time.monotonic() < deadline:
        if not pid_alive(envoy_pid):
            raise SystemExit("driver: envoy (pid %d) exited during start-up; see envoy.log" % envoy_pid)
        try:
            with open(admin_file) as f:
                admin = f.read().strip()
            if admin and admin_get(admin, "/ready", 1.0).strip() == b"LIVE":
                listeners = json.loads(admin_get(admin, "/listeners?format=json", 1.0))
                for ls in listeners["listener_statuses"]:
                    if ls["name"] == "shop_ingress":
                        sa = ls["local_address"]["socket_address"]
                        if sa["address"] not in LOOPBACK or not sa.get("port_value"):
                            raise SystemExit("driver: unexpected listener address %r" % sa)
                        return admin, sa["address"], sa["port_value"]
                last = "listener shop_ingress not reported yet"
        except (OSError, ValueError, KeyError, http.client.HTTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        time.sleep(0.05)
    raise SystemExit("driver: envoy not ready after %.0f s (%s)" % (timeout, last))


def drive(requests, host, port, concurrency, budget_s, timeout):
    """Send every request once; returns [(status or None, error or None, ms)]."""
    results = [None] * len(requests)
    next_index = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def worker():
        client = Client(host, port, timeout)
        while True:
            with lock:
                i = next_index[0]
                if i >= len(requests) or time.monotonic() > deadline:
                    break
                next_index[0] = i + 1
            req = requests[i]
            t0 = time.monotonic()
            status, error = None, None
            try:
                status = client.hang_up(req) if req["abort_after_s"] else client.send(req)
            except (OSError, http.client.HTTPException) as e:
                error = "%s: %s" % (type(e).__name__, e)
                client.close()
            results[i] = (status, error, round((time.monotonic() - t0) * 1000.0, 1))
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + timeout + 5)
    stuck = sum(t.is_alive() for t in threads)
    return results, stuck


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


PROMETHEUS_KEPT = ("envoy_http_downstream_rq_total", "envoy_http_downstream_rq_xx", "envoy_http_no_route",
                   "envoy_vhost_route_upstream_rq", "envoy_http_local_rate_limit_rate_limited")


def parse_envoy_prometheus(text, envoy):
    """The series of Envoy's /stats/prometheus that the run self-check holds
    against the JSON counters: listener totals and classes, per-route codes
    and the rate limit, for this harness's listener, vhost and limiter only."""
    ours = ['envoy_http_conn_manager_prefix="%s"' % envoy["hcm_stat_prefix"],
            'envoy_virtual_host="%s"' % envoy["vhost"],
            'envoy_local_http_ratelimit_prefix="%s"' % envoy["routes"]["promo"]["rate_limit"]["stat_prefix"]]
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] in PROMETHEUS_KEPT and any(o in series for o in ours):
            out[series] = int(float(value))
    return dict(sorted(out.items()))


def read_stats(admin):
    def values(kind):
        doc = json.loads(admin_get(admin, "/stats?format=json&type=%s" % kind))
        return {s["name"]: s["value"] for s in doc["stats"] if "name" in s and "value" in s}

    counters = values("Counters")
    gauges = values("Gauges")
    prom = admin_get(admin, "/stats/prometheus").decode()
    info = json.loads(admin_get(admin, "/server_info"))
    return counters, gauges, prom, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--admin-file", required=True, help="file Envoy writes via --admin-address-path")
    ap.add_argument("--envoy-pid", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--budget", type=float, default=45.0, help="seconds allowed for sending")
    ap.add_argument("--request-timeout", type=float, default=10.0)
    ap.add_argument("--ready-timeout", type=float, default=20.0)
    ap.add_argument("--flush-timeout", type=float, default=15.0)
    a = ap.parse_args()

    access_log = os.path.join(a.outdir, "access.log")
    with open(os.path.join(a.outdir, "truth.json")) as f:
        truth = json.load(f)
    if (truth["requests"], truth["seed"]) != (a.n, a.seed):
        raise SystemExit("driver: truth.json was planned for n=%s seed=%s" % (truth["requests"], truth["seed"]))
    tokens = truth["envoy"]["routes"]["promo"]["rate_limit"]["tokens"]

    admin, host, port = wait_ready(a.admin_file, a.envoy_pid, a.ready_timeout)
    plan, counts = planmod.build_plan(a.n, a.seed)
    requests = [req for _, req in plan]

    t0 = time.monotonic()
    results, stuck = drive(requests, host, port, a.concurrency, a.budget, a.request_timeout)
    traffic_s = time.monotonic() - t0

    problems = []
    if stuck:
        problems.append("%d client threads did not finish" % stuck)
    promo_ok = 0
    with open(os.path.join(a.workdir, "client.jsonl"), "w") as log:
        for i, ((case, req), res) in enumerate(zip(plan, results)):
            status, error, ms = res if res else (None, "not sent (time budget exhausted)", None)
            log.write(json.dumps({"i": i, "case": case, "method": req["method"],
                                  "path": urlsplit(req["path"]).path[:200], "status": status,
                                  "error": error, "client_ms": ms}) + "\n")
            if error:
                problems.append("request %d (%s %s): %s" % (i, case, req["method"], error))
                continue
            if case == "promo":
                promo_ok += status == 200
                if status not in (200, 429):
                    problems.append("request %d (promo): status %s" % (i, status))
                continue
            want = planmod.expected_outcome(case)[1]
            if status != want:
                problems.append("request %d (%s %s %s): status %s, planned %s"
                                % (i, case, req["method"], req["path"][:80], status, want))
    if counts.get("promo") and promo_ok != min(tokens, counts["promo"]):
        problems.append("promo: %d requests passed the rate limit, planned %d" % (promo_ok, min(tokens, counts["promo"])))
    sent = sum(r is not None for r in results)

    # Envoy writes a log entry when a stream ends and flushes the file every
    # --file-flush-interval-msec; wait (bounded) until all entries are there.
    t1 = time.monotonic()
    lines = count_lines(access_log)
    while lines < sent and time.monotonic() - t1 < a.flush_timeout:
        time.sleep(0.05)
        lines = count_lines(access_log)
    # The log entry and the counters are updated when the stream completes;
    # also wait for Envoy to have no request in flight before reading them.
    hcm = "http.%s." % truth["envoy"]["hcm_stat_prefix"]
    while True:
        counters, gauges, prom, info = read_stats(admin)
        settled = (gauges.get(hcm + "downstream_rq_active") == 0
                   and counters.get(hcm + "downstream_rq_total") == sent)
        if settled or time.monotonic() - t1 > a.flush_timeout:
            break
        time.sleep(0.05)
    flush_s = time.monotonic() - t1
    if lines != sent:
        problems.append("access.log has %d lines after %.1f s, %d requests were sent" % (lines, flush_s, sent))
    if not settled:
        problems.append("envoy still reports requests in flight (or a different total) after %.1f s" % flush_s)

    with open(os.path.join(a.workdir, "envoy-stats.prom"), "w") as f:
        f.write(prom)
    stats = {
        "format": "logmetrics-e2e-envoy-stats/1",
        "envoy_version": info.get("version"),
        "source": "Envoy admin /stats?format=json&type=Counters|Gauges and /stats/prometheus, "
                  "read after the access log held every request",
        "note": "stats whose value is 0 are left out: a missing name reads as 0",
        "requests_sent": sent,
        "counters": {k: v for k, v in sorted(counters.items()) if v},
        "gauges": {k: v for k, v in sorted(gauges.items()) if v},
        "prometheus": parse_envoy_prometheus(prom, truth["envoy"]),
    }
    with open(os.path.join(a.outdir, "envoy-stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
        f.write("\n")

    print("driver: %d/%d requests in %.2f s (%.0f/s, %d clients); log complete after %.2f s; %d problems"
          % (sent, a.n, traffic_s, sent / traffic_s if traffic_s else 0, a.concurrency, flush_s, len(problems)),
          file=sys.stderr)
    for p in problems[:20]:
        print("driver: PROBLEM: " + p, file=sys.stderr)
    if len(problems) > 20:
        print("driver: ... %d more problems, see client.jsonl" % (len(problems) - 20), file=sys.stderr)
    sys.exit(1 if problems or sent != a.n else 0)


if __name__ == "__main__":
    main()
