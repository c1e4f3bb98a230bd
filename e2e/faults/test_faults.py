#!/usr/bin/env python3
"""Faults around a running `logmetrics` (serve), each checked for exact counts afterwards:

  state     the state directory's disk fills up, then becomes read-only, with SIGKILL restarts
            in both: scrapes stay exact, the failed checkpoints are counted, and a restart
            resumes from the last checkpoint written without losing or doubling a line
  access    inputs that cannot be read (a file, then the directory holding it) while
            logmetrics runs as an unprivileged user: the error is counted, what is open goes on
            being read, and everything is counted once access is back
  directory the followed directories deleted (with lines not read yet) and recreated, several
            times: the unread lines and every line of the new files are counted
  reload    SIGHUP with a broken configuration, then with one naming an unknown key, then with a
            good one, during ingest: the configuration in force stays, no count is lost, no
            counter goes backwards

  python3 e2e/faults/test_faults.py --bin .build/debug/logmetrics [--only state] [--rounds N]

The state and access faults need root (a tmpfs to fill, a user to drop to); without it they are
reported as not run.
"""

import argparse
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, get, run_main  # noqa: E402

RECORD = ('{"method":"GET","path":"/%s/%d","protocol":"HTTP/1.1","response_code":200,'
          '"response_flags":"-","duration":3,"route_name":"%s"}\n')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
NOBODY = 65534
# The tailer's rescan interval: what events should beat by far.
RESCAN = 10


def say(text):
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


def records(route, count, start=0):
    return "".join(RECORD % (route, start + k, route) for k in range(count)).encode()


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


class Metrics:
    def __init__(self, text):
        self.samples = []
        for line in text.splitlines():
            m = SAMPLE.match(line)
            if m and not line.startswith("#"):
                self.samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))

    def sum(self, name, **labels):
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == want for k, want in labels.items()))

    def requests(self, route=None):
        return self.sum("logmetrics_http_requests_total", **({"route": route} if route else {}))


class Logmetrics:
    """One `logmetrics` serve process; started again (same arguments) after a kill."""

    def __init__(self, binary, work, arguments, user=None):
        self.port = free_port()
        self.argv = [binary, "--listen", f"127.0.0.1:{self.port}", "--from", "head"] + arguments
        if user is not None:
            self.argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"] + self.argv
        self.output = os.path.join(work, "logmetrics.out")
        self.process = None
        self.start()

    def start(self):
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(f"http://127.0.0.1:{self.port}/healthz")
                return
            except OSError:
                if self.process.poll() is not None:
                    raise AssertionError(f"logmetrics exited with {self.process.returncode}: {self.log()[-500:]}")
                time.sleep(0.05)
        raise AssertionError("logmetrics did not answer /healthz within 30 s")

    def metrics(self):
        return Metrics(get(f"http://127.0.0.1:{self.port}/metrics"))

    def wait(self, what, predicate, timeout=30):
        """Polls /metrics until `predicate(metrics)` holds; returns the seconds it took."""
        started = time.monotonic()
        while True:
            metrics = self.metrics()
            if predicate(metrics):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{what}: not within {timeout} s (requests by route: {self.routes(metrics)})")
            time.sleep(0.05)

    @staticmethod
    def routes(metrics):
        out = {}
        for n, l, v in metrics.samples:
            if n == "logmetrics_http_requests_total":
                out[l.get("route")] = out.get(l.get("route"), 0) + v
        return out

    def settled(self, expected, what):
        """Waits for `expected` requests by route, then checks they stay so (nothing doubled late)."""
        self.wait(what, lambda m: self.routes(m) == expected)
        time.sleep(1.5)
        routes = self.routes(self.metrics())
        check(routes == expected, f"{what}: {routes}")

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return self.process.returncode

    def log(self):
        with open(self.output, errors="replace") as f:
            return f.read()


def checkpoints(metrics, result):
    return metrics.sum("logmetrics_checkpoints_total", result=result)


def fill(directory):
    """Writes into `directory` until its file system is full; returns the filler's path."""
    filler = os.path.join(directory, "filler")
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    # tmpfs may still take a few bytes less than a block: take those too.
    with open(filler, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


def state_faults(binary, work, rounds):
    """The state directory on a small tmpfs: full, then read-only."""
    state = os.path.join(work, "state")
    os.mkdir(state)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", state], capture_output=True)
    if mount.returncode != 0:
        say(f"state: not run: cannot mount a tmpfs ({mount.stderr.decode().strip()})")
        return False
    app = os.path.join(work, "app.log")
    open(app, "w").close()
    server = None
    try:
        server = Logmetrics(binary, work, ["--state-dir", state, "--checkpoint-interval-seconds", "1", app])
        expected = 0
        for round in range(rounds):
            # A checkpoint written after these lines, while there is room.
            append(app, records("app", 1000, expected))
            expected += 1000
            server.wait("lines counted", lambda m: m.requests() == expected)
            written = checkpoints(server.metrics(), "written")
            server.wait("a checkpoint written", lambda m: checkpoints(m, "written") > written)

            filler = fill(state)
            append(app, records("app", 2000, expected))
            expected += 2000
            failed = checkpoints(server.metrics(), "failed")
            server.wait("a checkpoint failing on the full disk",
                        lambda m: checkpoints(m, "failed") > failed
                        and m.sum("logmetrics_last_checkpoint_timestamp_seconds") == 0)
            server.settled({"app": expected}, f"round {round}: the disk full, scrapes exact")
            server.kill()
            server.start()
            server.settled({"app": expected}, f"round {round}: killed and restarted on the full disk, "
                           "the lines after the last checkpoint read again, once")
            check(checkpoints(server.metrics(), "failed") > 0, "the new process counts its failed checkpoints")

            os.unlink(filler)
            server.wait("checkpoints written again once there is room",
                        lambda m: checkpoints(m, "written") > 0
                        and m.sum("logmetrics_last_checkpoint_timestamp_seconds") > 0)

            subprocess.run(["mount", "-o", "remount,ro", state], check=True)
            append(app, records("app", 500, expected))
            expected += 500
            failed = checkpoints(server.metrics(), "failed")
            server.wait("a checkpoint failing on the read-only state directory",
                        lambda m: checkpoints(m, "failed") > failed)
            server.settled({"app": expected}, f"round {round}: the state read-only, scrapes exact")
            server.kill()
            server.start()
            server.settled({"app": expected}, f"round {round}: killed and restarted on the read-only state")

            subprocess.run(["mount", "-o", "remount,rw", state], check=True)
            check(server.stop() == 0, "a stop once the state is writable again exits 0")
            server.start()
            server.settled({"app": expected}, f"round {round}: stopped and restarted, nothing doubled")
        log = server.log()
        check("checkpoint not written" in log and "No space left on device" in log,
              "the full disk is logged, naming the error")
        check("Read-only file system" in log, "the read-only state directory is logged, naming the error")
        # Logged once per failure streak, not once a second.
        check(log.count("checkpoint not written") <= 4 * rounds + 2,
              f"each failure streak is logged once ({log.count('checkpoint not written')} lines)")
    finally:
        if server:
            server.stop()
        subprocess.run(["umount", "-l", state], capture_output=True)


def access_faults(binary, work):
    """Files and a directory that logmetrics, running as nobody, cannot read for a while."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        say("access: not run: needs root and setpriv to run logmetrics as an unprivileged user")
        return False
    os.chmod(work, 0o755)
    logs = os.path.join(work, "logs")
    os.mkdir(logs, 0o755)
    a, b, c = (os.path.join(logs, name) for name in ("a.log", "b.log", "c.log"))
    append(a, records("a", 100))
    append(b, records("b", 200))
    os.chmod(b, 0)
    server = Logmetrics(binary, work, [os.path.join(logs, "*.log")], user=NOBODY)
    try:
        server.wait("the readable file counted", lambda m: m.requests("a") == 100)
        server.wait("the unreadable file reported", lambda m: m.sum("logmetrics_file_errors_total") >= 1)
        check(server.metrics().requests("b") == 0, "nothing counted from the unreadable file")
        os.chmod(b, 0o644)
        took = server.wait("the file counted once readable", lambda m: m.requests("b") == 200, timeout=70)
        say(f"access: b.log counted {took:.1f} s after it became readable")
        check(took < RESCAN / 2, "noticed from the permission change, not at the next rescan")

        # A file already open stays readable through its descriptor.
        os.chmod(a, 0)
        append(a, records("a", 50, 100))
        server.wait("lines appended to an open file made unreadable", lambda m: m.requests("a") == 150)

        # The directory itself: what is open goes on, a new file waits for access.
        os.chmod(logs, 0)
        append(a, records("a", 50, 150))
        append(c, records("c", 70))
        server.wait("lines appended while the directory is unreadable", lambda m: m.requests("a") == 200)
        time.sleep(1)
        check(server.metrics().requests("c") == 0, "a new file in the unreadable directory waits")
        os.chmod(logs, 0o755)
        took = server.wait("the new file counted once the directory is readable",
                           lambda m: m.requests("c") == 70, timeout=70)
        say(f"access: c.log counted {took:.1f} s after its directory became readable")
        check(took < RESCAN / 2, "noticed from the directory's permission change, not at the next rescan")
        server.settled({"a": 200, "b": 200, "c": 70}, "every line counted once")
    finally:
        server.stop()


def directory_faults(binary, work, rounds):
    """The followed directories removed, with lines still unread, and created again."""
    globbed, literal = os.path.join(work, "globbed"), os.path.join(work, "literal")
    os.mkdir(globbed)
    os.mkdir(literal)
    g, l = os.path.join(globbed, "app.log"), os.path.join(literal, "app.log")
    append(g, records("globbed", 100))
    append(l, records("literal", 100))
    server = Logmetrics(binary, work, [os.path.join(globbed, "*.log"), l])
    expected = {"globbed": 100, "literal": 100}
    try:
        server.settled(expected, "both inputs counted")
        for round in range(rounds):
            # Written and removed at once: the reader may not have seen these lines yet.
            append(g, records("globbed", 25, 1000 * round))
            append(l, records("literal", 25, 1000 * round))
            shutil.rmtree(globbed)
            shutil.rmtree(literal)
            expected = {k: v + 25 for k, v in expected.items()}
            server.wait("the lines of the removed files counted",
                        lambda m: server.routes(m) == expected)
            # Recreated at once, or after a pause (the watch on the directory is gone by then).
            if round % 2:
                time.sleep(1.5)
            os.mkdir(globbed)
            os.mkdir(literal)
            append(g, records("globbed", 100, 1000 * round + 100))
            append(l, records("literal", 100, 1000 * round + 100))
            expected = {k: v + 100 for k, v in expected.items()}
            took = server.wait("the new files in the recreated directories counted",
                               lambda m: server.routes(m) == expected)
            say(f"directory: round {round}: the new files counted after {took:.1f} s")
            check(took < RESCAN / 2, "noticed from the parent directory's events, not at the next rescan")
        server.settled(expected, f"{rounds} removals and re-creations, every line counted once")
    finally:
        server.stop()


BROKEN = ["routes:\n  - name: users\n    match: { path: \"/users/{id}\"\n",  # YAML syntax error
          "routes:\n  - name: users\n    match: { path: \"/users/{id}\", colour: red }\n"]  # unknown key
GOOD = "routes:\n  - name: users\n    match: { path: \"/users/{id}\" }\n"
CHANGED = GOOD + "slow_request: { threshold_ms: 2 }\n"


def reload_faults(binary, work):
    """SIGHUP with broken configurations while a writer appends."""
    app = os.path.join(work, "reload.log")
    config = os.path.join(work, "config.yaml")
    open(app, "w").close()
    with open(config, "w") as f:
        f.write(GOOD)
    server = Logmetrics(binary, work, ["--config", config, app])
    total, rate = 30000, 5000
    stop = threading.Event()
    decreases = []
    watched = {"scrapes": 0, "error": None}

    def watch():
        last = {}
        while not stop.is_set():
            try:
                samples = server.metrics().samples
            except Exception as error:  # noqa: BLE001 - reported by the check below
                watched["error"] = error
                return
            watched["scrapes"] += 1
            for n, l, v in samples:
                if n.endswith("_total") or n.endswith("_count") or n.endswith("_bucket"):
                    key = n + repr(sorted(l.items()))
                    if v < last.get(key, 0):
                        decreases.append(f"{key}: {last[key]} -> {v}")
                    last[key] = v
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        line = ('{"method":"GET","path":"/users/%d","protocol":"HTTP/1.1","response_code":200,'
                '"response_flags":"-","duration":3}\n')
        started = time.monotonic()
        steps = [(0.2, BROKEN[0]), (0.4, BROKEN[1]), (0.6, CHANGED)]
        written = 0
        with open(app, "ab") as f:
            while written < total:
                batch = min(rate // 20, total - written)
                f.write("".join(line % (written + k) for k in range(batch)).encode())
                f.flush()
                written += batch
                if steps and written >= steps[0][0] * total:
                    with open(config + ".new", "w") as c:
                        c.write(steps.pop(0)[1])
                    os.rename(config + ".new", config)
                    server.process.send_signal(signal.SIGHUP)
                time.sleep(max(0.0, written / rate - (time.monotonic() - started)))
        server.wait("every line counted", lambda m: m.requests() == total)
        time.sleep(1)
        metrics = server.metrics()
        check(server.process.poll() is None, "logmetrics kept running through the broken reloads")
        check(metrics.requests() == total and metrics.requests("users") == total,
              f"{total} of {total} requests counted, all under the route of the configuration in force")
        check(metrics.sum("logmetrics_config_reloads_total", result="failure") == 2, "two failed reloads counted")
        check(metrics.sum("logmetrics_config_reloads_total", result="success") == 1, "one reload applied")
        check(metrics.sum("logmetrics_http_requests_total", slow_request="true") > 0,
              "the good configuration's slow-request threshold is in force after its reload")
        log = server.log()
        check(f"{config}:4:1: not valid YAML" in log, "the syntax error is logged with the file, line and column")
        check(f"{config}:3:35: routes[0].match.colour: unknown key" in log, "the unknown key is logged by place and name")
    finally:
        stop.set()
        watcher.join()
        server.stop()
    check(watched["error"] is None, f"every scrape during the reloads answered ({watched['error']})")
    check(watched["scrapes"] >= 50, f"scraped throughout ({watched['scrapes']} scrapes)")
    check(not decreases, f"no counter went backwards through the reloads ({decreases[:3]})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    parser.add_argument("--only", choices=("state", "access", "directory", "reload"), action="append")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of the state and directory faults")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    chosen = args.only or ["state", "access", "directory", "reload"]
    skipped = []
    for name in chosen:
        work = tempfile.mkdtemp(prefix=f"logmetrics-faults-{name}.")
        say(f"{name}: in {work}")
        try:
            ran = None
            if name == "state":
                ran = state_faults(binary, work, args.rounds)
            elif name == "access":
                ran = access_faults(binary, work)
            elif name == "directory":
                directory_faults(binary, work, args.rounds)
            else:
                reload_faults(binary, work)
            if ran is False:
                skipped.append(name)
        except AssertionError:
            print(f"logmetrics' output is kept in {work}/logmetrics.out", file=sys.stderr)
            raise
        shutil.rmtree(work, ignore_errors=True)
    if skipped:
        print(f"faults: the checks that ran passed; NOT RUN (needs root): {', '.join(skipped)}")
    else:
        print("faults: all checks passed")


if __name__ == "__main__":
    run_main(main)
