#!/usr/bin/env python3
"""Loopback test upstream for the logmetrics Envoy end-to-end harness.

One threaded HTTP/1.1 server (keep-alive, every response has a Content-Length)
that plays every "shop" service behind Envoy.  The answer depends only on the
method and path, so the outcome of each planned request is known in advance:

  GET|HEAD /healthz                     200
  GET      /users/<id>                  200, or 404 when <id> >= 90000
  PUT      /users/<id>                  200
  DELETE   /users/<id>                  204 (no body)
  GET      /users/<id>/orders           200
  POST     /users/<id>/orders           201
  POST     /events                      202
  GET      /catalog/discontinued/...    404
  GET      /catalog/...                 200
  POST     /checkout/quote              500
  GET      /reports/..., /promo         200
  anything else                         404

A `delay_ms=N` query parameter (any path) makes the handler sleep N ms (capped
at 10 s) before answering: that is how the plan produces slow requests, route
timeouts and client hang-ups without depending on machine speed.

The server also reserves "refused" loopback ports: TCP sockets that are bound
but never listen(), so a connect() to them fails at once with ECONNREFUSED for
as long as this process lives, and no other process can take the port.  Envoy
clusters pointing there fail with UF (and URX,UF with retries).

Usage: upstream.py --ready-file FILE [--refused-ports 2] [--max-lifetime S]

FILE is written atomically once the server accepts connections:
  {"pid": ..., "port": ..., "refused_ports": [...]}
"""
import argparse
import json
import os
import re
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USER_ITEM = re.compile(r"^/users/([^/]+)$")
USER_ORDERS = re.compile(r"^/users/([^/]+)/orders$")
MAX_BODY = 8 * 1024 * 1024
MAX_DELAY_MS = 10_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shop-upstream/1"
    sys_version = ""
    # Headers and body are written separately; without TCP_NODELAY, Nagle plus
    # Envoy's delayed ACK would add ~40 ms to many responses.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # Envoy's access log is the record of the traffic

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if not 0 <= n <= MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""

    def _reply(self, code, body=b"", ctype="application/json"):
        try:
            self.send_response(code)
            if code != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and code != 204 and self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # Envoy already gave up on this request (route timeout, client
            # hang-up); its log line is written either way.
            self.close_connection = True

    def _json(self, code, obj):
        self._reply(code, json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def _handle(self):
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            return self._json(400, {"error": "bad request"})
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        method = self.command

        if "delay_ms" in query:
            try:
                delay = max(0, min(MAX_DELAY_MS, int(query["delay_ms"][0])))
            except ValueError:
                delay = 0
            time.sleep(delay / 1000.0)

        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._reply(200, b"ok\n", "text/plain")
        m = USER_ITEM.match(path)
        if m:
            uid = m.group(1)
            if method == "GET":
                if uid.isdigit() and int(uid) >= 90000:
                    return self._json(404, {"error": "no such user", "id": uid})
                return self._json(200, {"id": uid, "name": "user-" + uid})
            if method == "PUT":
                return self._json(200, {"id": uid, "updated": True, "bytes": len(body)})
            if method == "DELETE":
                return self._reply(204)
            return self._json(405, {"error": "method not allowed"})
        m = USER_ORDERS.match(path)
        if m:
            uid = m.group(1)
            if method == "GET":
                return self._json(200, {"user": uid, "orders": [{"id": "%s-%d" % (uid, i)} for i in range(3)]})
            if method == "POST":
                return self._json(201, {"user": uid, "created": True})
        if path == "/events" and method == "POST":
            return self._json(202, {"accepted": len(body)})
        if path.startswith("/catalog/discontinued/"):
            return self._json(404, {"error": "discontinued"})
        if path.startswith("/catalog/"):
            return self._json(200, {"item": path.rsplit("/", 1)[-1]})
        if path == "/checkout/quote":
            return self._json(500, {"error": "pricing backend unavailable"})
        if path.startswith("/reports/") or path == "/promo":
            return self._json(200, {"ok": True})
        return self._json(404, {"error": "no such endpoint"})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def reserve_refused_port():
    """A bound, never-listening socket: connects to its port are refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--refused-ports", type=int, default=2)
    ap.add_argument("--max-lifetime", type=float, default=600.0,
                    help="exit by itself after this many seconds, in case nobody stops it")
    args = ap.parse_args()

    refused = [reserve_refused_port() for _ in range(args.refused_ports)]
    server = Server(("127.0.0.1", 0), Handler)  # port 0: the kernel picks a free port
    info = {"pid": os.getpid(), "port": server.server_address[1],
            "refused_ports": [s.getsockname()[1] for s in refused]}
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, args.ready_file)

    def shutdown(*_):
        # serve_forever() must be stopped from another thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    watchdog = threading.Timer(args.max_lifetime, shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for s in refused:
            s.close()
    # Handler threads may still be sleeping on a delay; they are daemons, but
    # interpreter shutdown would wait for the watchdog timer, so leave now.
    os._exit(0)


if __name__ == "__main__":
    main()
