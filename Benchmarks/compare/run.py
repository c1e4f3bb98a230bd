#!/usr/bin/env python3
"""logmetrics next to other ways of turning the same access log into the same counts, in one run
on one corpus: requests by (route, method, response_code, response_flags) and a per-route
duration histogram.

  Benchmarks/compare/run.py [--lines 1000000] [--runs 3] [--only TOOL ...]     (make bench-compare)

Tools:
  logmetrics       `logmetrics report --format prometheus CORPUS`, every default family on
  simdjson         simdjson_reference.cpp (simdjson On-Demand, g++ -O3): the parsing floor
  python-orjson    python_baseline.py --orjson
  python-json      python_baseline.py
  mtail            Debian's mtail --one_shot with requests.mtail (one RE2 regular expression)

Every tool's counts are checked against the generator's exact totals (make-corpus expect)
before its time is reported: per (route, code, flags) summed over methods, the sum of
durations, and the lines read. Times are user + system CPU seconds of the whole process
(GNU time), best of --runs taken in turns (tool after tool), page cache warm; the slow tools
(mtail, python-json) run once.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The corpus' flags in the order logmetrics' labels and make-corpus use (Envoy's table order).
CORPUS_FLAG_ORDER = ["UH", "UT", "UF", "UC", "NR", "RL", "DC", "URX"]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SLOW = {"mtail", "python-json"}


def say(text):
    print(text, file=sys.stderr, flush=True)


def canonical(flags):
    parts = flags.split(",")
    rank = {f: k for k, f in enumerate(CORPUS_FLAG_ORDER)}
    return ",".join(sorted(parts, key=lambda f: rank.get(f, len(rank))))


def run(argv, **kwargs):
    say("$ " + " ".join(argv))
    subprocess.run(argv, check=True, **kwargs)


class Counts:
    """What a tool reported, reduced to what the generator knows exactly."""

    def __init__(self):
        self.requests = {}
        self.duration_ms = 0.0
        self.lines = 0

    def add(self, route, code, flags, count):
        key = (route, int(float(code)), canonical(flags))
        self.requests[key] = self.requests.get(key, 0) + int(float(count))


def prometheus(text, requests, duration_sum, scale, route_label="route", code="response_code", flags="response_flags"):
    counts = Counts()
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = dict(LABEL.findall(m.group(2) or ""))
        if m.group(1) == requests:
            counts.add(labels[route_label], labels[code], labels[flags], m.group(3))
        elif m.group(1) == duration_sum:
            counts.duration_ms += float(m.group(3)) * scale
        elif m.group(1) == "logmetrics_lines_total" and labels.get("result") == "parsed":
            counts.lines += int(float(m.group(3)))
    return counts


def logmetrics_counts(text):
    return prometheus(text, "logmetrics_http_requests_total", "logmetrics_http_request_duration_seconds_sum", 1000)


def mtail_counts(text):
    counts = prometheus(text, "requests_total", "request_duration_ms_sum", 1, code="code", flags="flags")
    counts.lines = sum(counts.requests.values())
    return counts


def tsv_counts(text):
    counts = Counts()
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "requests":
            route, _method, code, flags, count = parts[1:]
            counts.add(route, code, flags, count)
            counts.lines += int(count)
        elif parts[0] == "duration":
            counts.duration_ms += int(parts[3])
    return counts


def expected_counts(path):
    counts = Counts()
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "lines":
                counts.lines = int(parts[1])
            elif parts[0] == "duration_ms_sum":
                counts.duration_ms = float(parts[1])
            elif parts[0] == "requests":
                counts.add(parts[1], parts[2], parts[3], parts[4])
    return counts


def problems(got, want):
    out = []
    if got.lines != want.lines:
        out.append(f"lines: {got.lines} of {want.lines}")
    if abs(got.duration_ms - want.duration_ms) > max(1.0, want.duration_ms * 1e-9):
        out.append(f"duration sum: {got.duration_ms:.3f} ms, expected {want.duration_ms:.0f}")
    for key in sorted(set(got.requests) | set(want.requests)):
        if got.requests.get(key, 0) != want.requests.get(key, 0):
            out.append(f"{key}: {got.requests.get(key, 0)}, expected {want.requests.get(key, 0)}")
    return out


def timed(argv, output, work):
    """Runs argv under GNU time with stdout to `output`; returns (cpu, wall, max RSS KiB)."""
    report = os.path.join(work, "time.txt")
    with open(output, "wb") as out:
        subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", report] + argv, stdout=out, check=True,
                       stderr=subprocess.DEVNULL)
    wall, user, system, rss = open(report).read().split()[-4:]
    return float(user) + float(system), float(wall), int(rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", action="append", choices=["logmetrics", "simdjson", "python-orjson", "python-json",
                                                          "mtail"])
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--bin", help="a release logmetrics to use instead of building one in .build-bench")
    args = ap.parse_args()
    for tool in ["g++", "mtail", "/usr/bin/time"]:
        if not shutil.which(tool):
            sys.exit(f"bench-compare: {tool} is missing (scripts/install-deps.sh bench installs it)")
    work = tempfile.mkdtemp(prefix="logmetrics-compare.")
    try:
        if not args.bin:
            run(["swift", "build", "-c", "release", "--package-path", ROOT, "--scratch-path",
                 os.path.join(ROOT, ".build-bench"), "--product", "logmetrics"], stdout=subprocess.DEVNULL)
        run(["swift", "build", "-c", "release", "--package-path", os.path.join(ROOT, "Benchmarks"), "--product",
             "make-corpus"], stdout=subprocess.DEVNULL)
        reference = os.path.join(work, "simdjson_reference")
        run(["g++", "-O3", "-std=c++17", "-o", reference, os.path.join(HERE, "simdjson_reference.cpp"), "-lsimdjson"])
        logmetrics = os.path.abspath(args.bin) if args.bin else os.path.join(ROOT, ".build-bench", "release",
                                                                             "logmetrics")
        make_corpus = os.path.join(ROOT, "Benchmarks", ".build", "release", "make-corpus")
        corpus = os.path.join(work, "access.log")
        run([make_corpus, "--lines", str(args.lines), "--seed", str(args.seed), corpus], stderr=subprocess.DEVNULL)
        expected_path = os.path.join(work, "expected.tsv")
        run([make_corpus, "expect", "--lines", str(args.lines), "--seed", str(args.seed), expected_path])
        want = expected_counts(expected_path)
        size = os.path.getsize(corpus)
        say(f"corpus: {args.lines} lines, {size} bytes ({size / args.lines:.0f} bytes a line), seed {args.seed}")
        progs = os.path.join(work, "mtail")
        os.mkdir(progs)
        shutil.copy(os.path.join(HERE, "requests.mtail"), progs)
        python = sys.executable
        tools = {
            "logmetrics": ([logmetrics, "report", "--format", "prometheus", corpus], logmetrics_counts),
            "simdjson": ([reference, corpus], tsv_counts),
            "python-orjson": ([python, os.path.join(HERE, "python_baseline.py"), "--orjson", corpus], tsv_counts),
            "python-json": ([python, os.path.join(HERE, "python_baseline.py"), corpus], tsv_counts),
            "mtail": (["mtail", "--one_shot", "--one_shot_format", "prometheus", "--emit_prog_label=false",
                       "--progs", progs, "--logs", corpus, "--logtostderr=false", "--log_dir", work], mtail_counts),
        }
        def has_orjson():
            return subprocess.run([python, "-c", "import orjson"], capture_output=True).returncode == 0
        if not has_orjson():
            subprocess.run([python, "-m", "pip", "install", "--quiet", "orjson"], capture_output=True)
        if not has_orjson():
            say("python-orjson: orjson is not installed and pip could not install it; left out")
            del tools["python-orjson"]
        results = {}
        chosen = [name for name in tools if not args.only or name in args.only]
        # The corpus is read once before any timing, so that no tool pays for the page cache.
        with open(corpus, "rb") as warm:
            while warm.read(1 << 24):
                pass
        # Runs take turns, tool after tool, so that a machine whose speed drifts (a shared VM)
        # slows every tool alike instead of whichever happened to run then; the best run counts.
        best = {}
        for turn in range(args.runs):
            for name in chosen:
                if name in SLOW and turn > 0:
                    continue
                figures = timed(tools[name][0], os.path.join(work, f"{name}.out"), work)
                if name not in best or figures[0] < best[name][0]:
                    best[name] = figures
        for name in chosen:
            reader = tools[name][1]
            output = os.path.join(work, f"{name}.out")
            found = problems(reader(open(output, errors="replace").read()), want)
            if found:
                for problem in found[:10]:
                    say(f"MISMATCH {name}: {problem}")
                sys.exit(f"bench-compare: {name}'s counts differ from the corpus' ({len(found)} differences)")
            results[name] = best[name]
            cpu, wall, rss = best[name]
            say(f"{name}: counts exact; {cpu:.2f} CPU s, {wall:.2f} s wall, {args.lines / cpu:,.0f} lines per "
                f"CPU-second, max RSS {rss / 1024:.1f} MiB")
        if not results:
            sys.exit("bench-compare: no tool ran")
        print(f"\n{args.lines} lines of Istio JSON ({size / args.lines:.0f} bytes a line), every count checked\n")
        print("| tool | CPU s | wall s | lines per CPU-second | MB per CPU-second | max RSS | logmetrics is |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        ours = results.get("logmetrics")
        for name, (cpu, wall, rss) in sorted(results.items(), key=lambda item: item[1][0]):
            ratio = "" if ours is None or name == "logmetrics" else f"{cpu / ours[0]:.2f}× as fast"
            print(f"| {name} | {cpu:.2f} | {wall:.2f} | {args.lines / cpu:,.0f} | {size / cpu / 1e6:,.0f} | "
                  f"{rss / 1024:.1f} MiB | {ratio} |")
        if ours and "simdjson" in results:
            print(f"\nlogmetrics runs at {results['simdjson'][0] / ours[0]:.2f}× the simdjson reference's speed.")
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
