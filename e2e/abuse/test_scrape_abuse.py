#!/usr/bin/env python3
"""The scrape port under abuse on loopback: 1 000 idle connections, slow header writers, an
oversized header, pipelined requests and a client that never reads, all at once, while a
normal scraper keeps scraping. Prints the normal scrape's latency under that load; the check
is that it answers, and promptly (well under a second; the figure goes to docs/reliability.md).

  python3 e2e/abuse/test_scrape_abuse.py --bin .build/debug/logmetrics
"""

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, run_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "envoy-1.40", "access.log")


def scrape(port):
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read()
    return time.monotonic() - started, response.status, body


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    server = subprocess.Popen(
        [os.path.abspath(args.bin), "--listen", "127.0.0.1:0", "--from", "head", FIXTURE],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard)))
    line = server.stderr.readline().decode()
    port = int(line.rsplit(":", 1)[1].split("/")[0])
    sockets = []
    stop = threading.Event()
    try:
        time.sleep(1)
        quiet = sorted(scrape(port)[0] for _ in range(20))
        rss_before = rss_kib(server.pid)
        print(f"normal scrape, no load: median {statistics.median(quiet) * 1000:.1f} ms")

        print("1 000 idle connections")
        for _ in range(1000):
            sockets.append(connect(port))
        seconds, status, _ = scrape(port)
        check(status == 200, f"a scrape still answers ({seconds * 1000:.1f} ms)")

        print("slow header writers, an oversized header, pipelining, a client that never reads")
        trickle = [connect(port) for _ in range(100)]
        sockets += trickle

        def trickling():
            k = 0
            while not stop.is_set():
                for s in trickle:
                    try:
                        s.send(b"GET /metrics HTTP/1.1\r\nX-Slow: "[k % 31:k % 31 + 1] or b"a")
                    except OSError:
                        pass
                k += 1
                time.sleep(0.5)
        writer = threading.Thread(target=trickling, daemon=True)
        writer.start()

        big = connect(port)
        big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        answer = big.recv(4096)
        check(answer.startswith(b"HTTP/1.1 431"), "a 1 MiB header gets 431")
        big.close()

        piped = connect(port)
        piped.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"HTTP/1.1 200") < 10 and time.monotonic() < deadline:
            received += piped.recv(65536)
        check(received.count(b"HTTP/1.1 200") == 10, "ten pipelined requests get ten answers, in order")
        piped.close()

        never = connect(port)
        never.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        never.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)
        sockets.append(never)

        time.sleep(1)
        loaded = []
        for _ in range(20):
            seconds, status, body = scrape(port)
            check(status == 200 and b"logmetrics_http_requests_total" in body, "a scrape answers in full") \
                if not loaded else None
            loaded.append(seconds)
        loaded.sort()
        median, worst = statistics.median(loaded), loaded[-1]
        print(f"normal scrape under all of it: median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
              f"of 20; server RSS {rss_before // 1024} -> {rss_kib(server.pid) // 1024} MiB")
        check(worst < 1.0, "every scrape under load answered within a second")
        metrics = scrape(port)[2].decode()
        evicted = [l for l in metrics.splitlines() if l.startswith("logmetrics_scrape_connections_evicted_total")]
        check(evicted and float(evicted[0].split()[1]) >= 700,
              f"the idle connections made room for the others ({evicted[0] if evicted else 'none'})")
        check(server.poll() is None, "the server is still running")
    finally:
        stop.set()
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass
        server.terminate()
        server.wait(timeout=30)
    print("scrape abuse: all checks passed")


if __name__ == "__main__":
    run_main(main)
