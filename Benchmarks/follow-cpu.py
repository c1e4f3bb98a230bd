#!/usr/bin/env python3
"""CPU that `logmetrics` (serve) spends following files, measured from /proc/PID/stat.

  Benchmarks/follow-cpu.py --bin PATH [--seconds 30]

Two cases, each after a warm-up of a few seconds:
  idle    1000 files that exist and do not change (a node's container logs between requests);
  busy    one file growing at 10,000 lines/s of real Envoy JSON (the recorded 1.40 run,
          cycled), written in 100 appends a second.
Prints CPU seconds per wall second (as % of one core) and the peak RSS of each.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(os.path.dirname(HERE), "e2e", "fixtures", "envoy-1.40", "access.log")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def measure(binary, args, seconds, warmup, during=None):
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0"] + args,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(warmup)
        start_cpu, start = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used = cpu_seconds(proc.pid) - start_cpu
        wall = time.monotonic() - start
        return used / wall * 100, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=int, default=10000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="logmetrics-follow.")
    try:
        lines = open(FIXTURE, "rb").read().splitlines(keepends=True)
        idle = os.path.join(work, "idle")
        os.makedirs(idle)
        for k in range(1000):
            with open(os.path.join(idle, f"{k}.log"), "wb") as f:
                f.writelines(lines[:5])
        pct, rss = measure(args.bin, ["--from", "head", os.path.join(idle, "*.log")], args.seconds, warmup=5)
        print(f"idle: 1000 files, {pct:.2f} % of a core, peak RSS {rss:.1f} MiB", flush=True)

        busy = os.path.join(work, "busy.log")
        open(busy, "wb").close()
        stop = threading.Event()

        def write():
            per_append = args.rate // 100
            written = 0
            start = time.monotonic()
            with open(busy, "ab") as f:
                while not stop.is_set():
                    f.write(b"".join(lines[(written + k) % len(lines)] for k in range(per_append)))
                    f.flush()
                    written += per_append
                    ahead = written / args.rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        pct, rss = measure(args.bin, [busy], args.seconds, warmup=3)
        stop.set()
        writer.join()
        print(f"busy: one file at {args.rate} lines/s, {pct:.2f} % of a core, peak RSS {rss:.1f} MiB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
