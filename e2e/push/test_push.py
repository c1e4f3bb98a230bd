#!/usr/bin/env python3
"""logmetrics handing its metrics on: to a real Prometheus Pushgateway (Debian's
prometheus-pushgateway) on loopback, and to a textfile for node_exporter's collector.

  python3 e2e/push/test_push.py --bin .build/debug/logmetrics
"""

import argparse
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, get, run_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "envoy-1.40", "access.log")


def samples(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    pattern = re.compile(r"^" + re.escape(name) + r"(\{(.*)\})? (\S+)")
    for line in text.splitlines():
        match = pattern.match(line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def pushgateway(work):
    port = free_port()
    process = subprocess.Popen(
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
         f"--persistence.file={os.path.join(work, 'pushgateway.state')}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not wait_for(lambda: get(url + "/-/ready") is not None):
        process.kill()
        raise AssertionError("the pushgateway did not start")
    return process, url


def push_at_exit(binary, url):
    print("one push at exit: standard input to its end")
    with open(FIXTURE, "rb") as source:
        result = subprocess.run(
            [binary, "--listen", "127.0.0.1:0", "--exit-on-eof", "--push-gateway", url,
             "--push-grouping", "instance=node-a/gw", "--push-grouping", "cluster=prod"],
            stdin=source, capture_output=True, timeout=60)
    check(result.returncode == 0, f"exits 0 after the final push ({result.stderr.decode()[-300:]})")
    text = get(url + "/metrics")
    group = dict(job="logmetrics", instance="node-a/gw", cluster="prod")
    check(samples(text, "logmetrics_http_requests_total", **group) == 600,
          "the gateway holds all 600 requests under job, instance (with a slash) and cluster")
    check(samples(text, "logmetrics_http_request_duration_seconds_count", **group) == 600,
          "histograms arrive whole")
    check(samples(text, "push_time_seconds", **group) > 0, "the gateway recorded the push")
    check(samples(text, "push_failure_time_seconds", **group) == 0, "and no failed push")


def push_on_interval(binary, url, work):
    print("pushes on an interval while following a file")
    log = os.path.join(work, "access.log")
    lines = open(FIXTURE, "rb").read().splitlines(keepends=True)
    with open(log, "wb") as sink:
        sink.writelines(lines[:100])
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--from", "head", "--push-gateway", url,
         "--push-interval-seconds", "1", "--push-grouping", "instance=follow", log],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    group = dict(job="logmetrics", instance="follow")
    try:
        check(wait_for(lambda: samples(get(url + "/metrics"), "logmetrics_http_requests_total", **group) == 100),
              "the first push has the first 100 lines")
        with open(log, "ab") as sink:
            sink.writelines(lines[100:])
        check(wait_for(lambda: samples(get(url + "/metrics"), "logmetrics_http_requests_total", **group) == 600),
              "a later push has all 600 (the group is replaced, not added to)")
        check(wait_for(lambda: samples(get(url + "/metrics"), "logmetrics_pushes_total",
                                       result="success", **group) >= 2),
              "the pushes count themselves in logmetrics_pushes_total")
    finally:
        process.terminate()
        process.wait(timeout=20)


def batch_push_failure(binary):
    print("a batch run whose one push fails")
    dead = f"http://127.0.0.1:{free_port()}"
    with open(FIXTURE, "rb") as source:
        result = subprocess.run(
            [binary, "--listen", "127.0.0.1:0", "--exit-on-eof", "--push-gateway", dead,
             "--push-timeout-seconds", "1"], stdin=source, capture_output=True, timeout=60)
    check(result.returncode != 0 and b"failed" in result.stderr,
          f"exits non-zero and says so, after its tries (status {result.returncode})")


def push_failures(binary):
    print("a gateway that is not there")
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--push-gateway", dead, "--push-interval-seconds", "1",
         "--push-timeout-seconds", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # The listening line names the port of the scrape server.
    line = process.stderr.readline().decode()
    port = re.search(r":(\d+)/metrics", line).group(1)
    try:
        check(wait_for(lambda: samples(get(f"http://127.0.0.1:{port}/metrics"), "logmetrics_pushes_total",
                                       result="failure") >= 2, timeout=30),
              "failed pushes are counted, and retried on the next interval")
        text = get(f"http://127.0.0.1:{port}/metrics")
        check(samples(text, "logmetrics_http_requests_total") == 0, "serving goes on regardless")
    finally:
        process.terminate()
        process.stdin.close()
        process.wait(timeout=30)
    errors = process.stderr.read().decode()
    check(errors.count("failed") == 1, "the failure is logged once, not every interval")
    check(time.monotonic() - started < 40, "a stop is not held up by the dead gateway for long")


def gateway_with_basic_auth(binary, work):
    print("a gateway behind basic authentication, a password with an @ in it")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        hashed = crypt.crypt("p@ss:word", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 4))
    config = os.path.join(work, "web.yml")
    with open(config, "w") as sink:
        sink.write(f"basic_auth_users:\n  pusher: '{hashed}'\n")
    port = free_port()
    gateway = subprocess.Popen(
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={config}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def ready():
            try:
                get(f"http://127.0.0.1:{port}/-/ready")
            except urllib.error.HTTPError as error:
                return error.code == 401
            return False
        check(wait_for(ready), "the gateway asks for a password")
        url = f"http://pusher:p%40ss%3Aword@127.0.0.1:{port}"
        with open(FIXTURE, "rb") as source:
            result = subprocess.run(
                [binary, "--listen", "127.0.0.1:0", "--exit-on-eof", "--push-gateway", url,
                 "--push-grouping", "instance=auth"],
                stdin=source, capture_output=True, timeout=60)
        check(result.returncode == 0 and b"failed" not in result.stderr,
              f"the push authenticates ({result.stderr.decode()[-300:]})")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        import base64
        request.add_header("Authorization", "Basic " + base64.b64encode(b"pusher:p@ss:word").decode())
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
        check(samples(text, "logmetrics_http_requests_total", job="logmetrics", instance="auth") == 600,
              "and the gateway holds its 600 requests")
        bad = subprocess.run(
            [binary, "--listen", "127.0.0.1:0", "--exit-on-eof", "--push-gateway",
             f"http://pusher:wrong@127.0.0.1:{port}"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(b"HTTP 401" in bad.stderr and b"wrong" not in bad.stderr,
              "a wrong password is reported as 401, and the password is not logged")
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def gateway_that_never_answers(binary):
    print("a gateway that accepts the connection and never answers")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--push-gateway", f"http://127.0.0.1:{port}",
         "--push-interval-seconds", "1", "--push-timeout-seconds", "60"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)  # a push is in flight, waiting for an answer
        started = time.monotonic()
        process.terminate()
        process.wait(timeout=30)
        took = time.monotonic() - started
        check(took < 8, f"SIGTERM ends it in {took:.1f} s: the push in flight is cancelled, the last one bounded")
    finally:
        if process.poll() is None:
            process.kill()
        process.stdin.close()
        listener.close()


def textfile(binary, work):
    print("--textfile for node_exporter's textfile collector")
    target = os.path.join(work, "textfile", "logmetrics.prom")
    os.makedirs(os.path.dirname(target))
    with open(FIXTURE, "rb") as source:
        result = subprocess.run(
            [binary, "--listen", "127.0.0.1:0", "--exit-on-eof", "--textfile", target,
             "--textfile-interval-seconds", "1"],
            stdin=source, capture_output=True, timeout=60)
    check(result.returncode == 0, "exits 0 after the final write")
    text = open(target).read()
    check(samples(text, "logmetrics_http_requests_total") == 600, "the file has all 600 requests")
    check(os.listdir(os.path.dirname(target)) == ["logmetrics.prom"], "no temporary file is left behind")
    promtool = shutil.which("promtool")
    if promtool:
        lint = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        check(lint.returncode == 0, f"promtool check metrics accepts it {lint.stderr.decode()[-300:]}")
    missing = subprocess.run([binary, "--textfile", "/nonexistent/dir/x.prom"], capture_output=True)
    check(missing.returncode != 0 and b"does not exist" in missing.stderr,
          "a textfile in a directory that does not exist is refused at start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-push.")
    gateway = None
    try:
        textfile(binary, work)
        gateway, url = pushgateway(work)
        push_at_exit(binary, url)
        push_on_interval(binary, url, work)
        push_failures(binary)
        batch_push_failure(binary)
        gateway_with_basic_auth(binary, work)
        gateway_that_never_answers(binary)
    finally:
        if gateway:
            gateway.terminate()
            gateway.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print("push and textfile: all checks passed")


if __name__ == "__main__":
    run_main(main)
