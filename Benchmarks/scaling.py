#!/usr/bin/env python3
"""How `logmetrics` (serve) scales with cores: FILES busy files, already written, read from
their heads with --readers 1 and then with --readers 2 (one reader per file, each into its own
shard); the wall time until every line is counted, and the speed-up.

  Benchmarks/scaling.py --bin .build/release/logmetrics [--files 2] [--lines 1000000] [--runs 3]

Each file is the make-corpus corpus of --lines lines with its own seed. The time runs from the
process start to the scrape that shows every line parsed (polled every 20 ms), so it includes the
start-up (a few milliseconds) and one scrape.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PARSED = re.compile(r'^logmetrics_lines_total\{[^}]*result="parsed"[^}]*\} (\S+)$', re.M)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parsed(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return -1
    return sum(float(v) for v in PARSED.findall(text))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(binary, files, readers, total):
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--from", "head", "--readers", str(readers)]
                               + files, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while parsed(port) < total:
            if process.poll() is not None:
                sys.exit(f"logmetrics exited with {process.returncode}")
            if time.monotonic() - started > 600:
                sys.exit("not every line counted within 600 s")
            time.sleep(0.02)
        return time.monotonic() - started, cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--files", type=int, default=2)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    make_corpus = os.path.join(HERE, ".build", "release", "make-corpus")
    if not os.path.exists(make_corpus):
        subprocess.run(["swift", "build", "-c", "release", "--package-path", HERE, "--product", "make-corpus"],
                       check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="logmetrics-scaling.")
    try:
        files = []
        for k in range(args.files):
            path = os.path.join(work, f"access-{k}.log")
            subprocess.run([make_corpus, "--lines", str(args.lines), "--seed", str(k + 1), path], check=True,
                           stderr=subprocess.DEVNULL)
            files.append(path)
        total = args.files * args.lines
        size = sum(os.path.getsize(f) for f in files)
        print(f"{args.files} files, {total} lines, {size / 1e6:.0f} MB; {os.cpu_count()} cores")
        print("| readers | best wall s | lines/s | CPU s | speed-up |")
        print("|---:|---:|---:|---:|---:|")
        first = None
        for readers in (1, 2):
            best = min((run(os.path.abspath(args.bin), files, readers, total) for _ in range(args.runs)),
                       key=lambda r: r[0])
            first = first or best[0]
            print(f"| {readers} | {best[0]:.2f} | {total / best[0]:,.0f} | {best[1]:.2f} | {first / best[0]:.2f}× |",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
