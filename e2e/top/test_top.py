#!/usr/bin/env python3
"""Drives `logmetrics top` through a pseudo-terminal, as a person at a terminal would.

Checks that it draws the table, redraws it as the followed log grows, quits on `q` and on
Ctrl-C with the terminal given back (cursor shown, main screen, echo and line mode on), and
that without a terminal it prints plain tables and exits when standard input ends.

  python3 e2e/top/test_top.py --bin .build/debug/logmetrics
"""

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, run_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "envoy-1.40", "access.log")
LEAVE = b"\x1b[?25h\x1b[?1049l"


class Session:
    """A child on a pseudo-terminal of 40 rows and 120 columns."""

    def __init__(self, argv, stdin_path=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if stdin_path:
                # Standard input is the log; the terminal stays the controlling tty (keys).
                os.dup2(os.open(stdin_path, os.O_RDONLY), 0)
            os.execv(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.output = b""

    def read_until(self, needle, timeout=20.0):
        """Reads until `needle` has appeared after the current end; returns what came."""
        start = len(self.output)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.output += chunk
                if needle in self.output[start:]:
                    return self.output[start:]
        raise AssertionError(f"{needle!r} did not appear within {timeout}s; got {self.output[start:][-2000:]!r}")

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                # Drain what the child wrote last (the terminal restore sequence).
                while True:
                    ready, _, _ = select.select([self.fd], [], [], 0.2)
                    if not ready:
                        break
                    try:
                        chunk = os.read(self.fd, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    self.output += chunk
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("top did not exit")

    def terminal_modes(self):
        lflag = termios.tcgetattr(self.fd)[3]
        return bool(lflag & termios.ICANON), bool(lflag & termios.ECHO)


def following_a_file(binary, work):
    print("top following a file, quit with q")
    log = os.path.join(work, "access.log")
    open(log, "w").close()
    session = Session([binary, "top", "--from", "head", "--refresh", "0.2", log])
    session.read_until(b"\x1b[?1049h")
    session.read_until(b"no requests in the window yet")
    check(True, "draws on the alternate screen before any request")
    with open(FIXTURE, "rb") as source, open(log, "ab") as sink:
        sink.write(source.read())
    frame = session.read_until(b"600 requests")
    check(b"users_item" in frame and b" 186 " in frame, "the table shows the log's requests by route")
    with open(FIXTURE, "rb") as source, open(log, "ab") as sink:
        sink.write(source.read())
    frame = session.read_until(b"1200 requests")
    check(b" 372 " in frame, "it redraws as the log grows (users_item 186 -> 372)")
    check(all(len(line) <= 120 + 16 for line in frame.split(b"\r\n")), "no line is wider than the terminal")
    # Twice: the second Ctrl-Z must be caught like the first once the default action was used.
    for round in ("first", "second"):
        print(f"top suspended (Ctrl-Z) and resumed (fg), {round} time")
        os.kill(session.pid, signal.SIGTSTP)
        session.read_until(LEAVE)
        time.sleep(0.3)
        check(session.terminal_modes() == (True, True), "SIGTSTP gives the terminal back before stopping")
        os.kill(session.pid, signal.SIGCONT)
        session.read_until(b"\x1b[?1049h")
        frame = session.read_until(b"1200 requests")
        check(b"users_item" in frame, "SIGCONT takes the screen again and redraws")
    session.send(b"q")
    status = session.wait()
    check(status == 0, f"q exits with status 0 (got {status})")
    check(session.output.endswith(LEAVE), "the cursor and the main screen are restored last")
    check(session.terminal_modes() == (True, True), "line mode and echo are back on")


def behind_a_pipe(binary, work):
    print("top reading standard input (kubectl logs -f | logmetrics top), quit with Ctrl-C")
    fifo = os.path.join(work, "stdin.fifo")
    os.mkfifo(fifo)
    # The writer keeps the pipe open, as `kubectl logs -f` does.
    writer_ready = os.fork()
    if writer_ready == 0:
        with open(fifo, "wb") as sink, open(FIXTURE, "rb") as source:
            sink.write(source.read())
            sink.flush()
            time.sleep(30)
        os._exit(0)
    session = Session([binary, "top", "--refresh", "0.2"], stdin_path=fifo)
    frame = session.read_until(b"600 requests")
    check(b"reports_export" in frame, "lines from standard input are counted")
    session.send(b"\x03")
    status = session.wait()
    check(status == 0, f"Ctrl-C exits with status 0 (got {status})")
    check(session.output.endswith(LEAVE), "the terminal is restored after Ctrl-C")
    check(session.terminal_modes() == (True, True), "line mode and echo are back on after Ctrl-C")
    os.kill(writer_ready, signal.SIGKILL)
    os.waitpid(writer_ready, 0)


def standard_input_from_the_terminal(binary):
    print("top with no log piped in, at a terminal")
    session = Session([binary, "top"])
    session.read_until(b"pipe a log in")
    status = session.wait()
    check(status != 0, "refuses to read the keyboard as the log, and says what to do")


def without_a_terminal(binary):
    print("top with its output to a pipe")
    with open(FIXTURE, "rb") as source:
        result = subprocess.run(
            [binary, "top", "--refresh", "5"], stdin=source, capture_output=True, timeout=60)
    out = result.stdout.decode()
    check(result.returncode == 0, "exits when standard input ends")
    check("\x1b[" not in out, "plain output has no terminal control sequences")
    check(out.rstrip().endswith("600 requests · lines: 600 parsed, 0 skipped, 0 malformed, 0 oversized"),
          "the last table has every request of the log")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-top.")
    try:
        following_a_file(binary, work)
        behind_a_pipe(binary, work)
        standard_input_from_the_terminal(binary)
        without_a_terminal(binary)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("top: all checks passed")


if __name__ == "__main__":
    run_main(main)
