"""What the end-to-end scripts under e2e/ share: a named check, a free loopback port, an HTTP
GET, a Prometheus instant query, and the way a script reports failure.

Each script puts this directory on sys.path and imports from here."""

import json
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request


def check(condition, message):
    """Prints `ok: message`, or raises with the message when `condition` is false."""
    if not condition:
        raise AssertionError(message)
    print(f"  ok: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def query(base, expr):
    """The result of a Prometheus instant query; raises with Prometheus' error when it fails."""
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        body = json.load(error)
    if body.get("status") != "success":
        raise AssertionError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]


def stop_all(processes, timeout=30):
    """Sends SIGTERM to every process still running, then waits for each (all stop at once)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(timeout=timeout)


def run_main(main):
    """Runs `main`, turning a failed check into `FAIL: ...` on stderr and exit status 1."""
    try:
        main()
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        sys.exit(1)
