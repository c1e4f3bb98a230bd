#!/usr/bin/env python3
"""Store Envoy's access log the way container runtimes store a container's stdout.

  containerlog.py ACCESS_LOG CRI_OUT DOCKER_OUT [--seed S]

CRI (containerd):   <RFC3339Nano time> stdout <P|F> <content>\\n
  A line longer than 16384 bytes becomes P records of exactly 16384 content
  bytes and a final F record (containerd's max_container_log_line_size).
Docker json-file:   {"log":"<content>","stream":"stdout","time":"<RFC3339Nano>"}
  A line longer than 16384 bytes becomes several objects; only the last one's
  "log" ends with "\\n".

Besides the long lines that Envoy really logged, a few ordinary lines (about
1 in 150, at least 3, chosen with the seed) are split at random byte offsets
into 2-4 pieces.  CRI-O does exactly that (it cuts at whatever its 8 KiB read
returned), and a reader must join pieces the same way whatever their size.

Times are in Go's RFC3339Nano layout, UTC, trailing zeros trimmed: the
request's end (start_time + duration) plus a small seeded delay, never
decreasing, as a runtime stamps lines in the order they are written.
"""
import argparse
import calendar
import json
import random
import sys
import time

SPLIT_BYTES = 16384


def end_time_ns(line):
    rec = json.loads(line)
    head, _, frac = rec["start_time"].rstrip("Z").partition(".")
    sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    ns = int((frac + "000000000")[:9]) if frac else 0
    return sec * 10**9 + ns + int(rec.get("duration") or 0) * 10**6


def rfc3339nano(ns):
    sec, frac = divmod(ns, 10**9)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    frac_text = ("%09d" % frac).rstrip("0")
    return text + ("." + frac_text if frac_text else "") + "Z"


def go_json_string(text):
    """A JSON string escaped the way Go's encoding/json (and dockerd) does."""
    return (json.dumps(text, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def runtime_pieces(line):
    """Cut at SPLIT_BYTES, as containerd and dockerd do."""
    return [line[i:i + SPLIT_BYTES] for i in range(0, len(line), SPLIT_BYTES)] or [b""]


def random_pieces(rng, line):
    """2-4 non-empty pieces at random offsets that do not cut a UTF-8 sequence
    (a docker "log" value must be valid UTF-8)."""
    cuts = set()
    for _ in range(rng.randint(1, 3)):
        c = rng.randint(1, len(line) - 1)
        while c > 1 and (line[c] & 0xC0) == 0x80:
            c -= 1
        cuts.add(c)
    bounds = [0] + sorted(cuts) + [len(line)]
    return [line[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def join_cri(records):
    """Reassemble lines from CRI records (bytes, one record each): per
    stream, the contents of consecutive P records up to and including F."""
    pending = {}
    for rec in records:
        rec = rec.rstrip(b"\n")
        parts = rec.split(b" ", 3)
        if len(parts) < 3:
            raise ValueError("not a CRI record: %r" % rec[:80])
        _, stream, tag = parts[:3]
        content = parts[3] if len(parts) == 4 else b""
        pending.setdefault(stream, []).append(content)
        if tag.split(b":")[0] == b"F":
            yield b"".join(pending.pop(stream))
    if any(pending.values()):
        raise ValueError("CRI input ends inside a partial line")


def join_docker(records):
    """Reassemble lines from docker json-file records: per stream, "log"
    values up to and including one that ends with a newline."""
    pending = {}
    for rec in records:
        obj = json.loads(rec)
        pending.setdefault(obj["stream"], []).append(obj["log"])
        if obj["log"].endswith("\n"):
            yield "".join(pending.pop(obj["stream"]))[:-1].encode("utf-8")
    if any(pending.values()):
        raise ValueError("docker input ends inside a partial line")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("access_log")
    ap.add_argument("cri_out")
    ap.add_argument("docker_out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    with open(a.access_log, "rb") as f:
        lines = [raw.rstrip(b"\n") for raw in f]
    rng = random.Random(a.seed)
    ordinary = [i for i, line in enumerate(lines) if 8 < len(line) <= SPLIT_BYTES]
    n_random = min(len(ordinary), max(3, len(lines) // 150))
    cri_random = set(rng.sample(ordinary, n_random))
    docker_random = set(rng.sample(ordinary, n_random))

    cri, docker = [], []
    stats = {"lines": len(lines), "long_lines": 0, "cri_split_lines": 0, "docker_split_lines": 0}
    last = 0
    for i, line in enumerate(lines):
        try:
            ns = end_time_ns(line)
        except (ValueError, KeyError, TypeError):
            ns = last
        ns = max(ns + rng.randint(20_000, 900_000), last + 1)
        if len(line) > SPLIT_BYTES:
            stats["long_lines"] += 1
        for fmt, out, chosen in (("cri", cri, cri_random), ("docker", docker, docker_random)):
            pieces = random_pieces(rng, line) if i in chosen else runtime_pieces(line)
            if len(pieces) > 1:
                stats[fmt + "_split_lines"] += 1
            t = ns
            for j, piece in enumerate(pieces):
                last_piece = j == len(pieces) - 1
                stamp = rfc3339nano(t).encode()
                if fmt == "cri":
                    out.append(b"%s stdout %s %s\n" % (stamp, b"F" if last_piece else b"P", piece))
                else:
                    text = piece.decode("utf-8") + ("\n" if last_piece else "")
                    out.append(('{"log":%s,"stream":"stdout","time":"%s"}\n'
                                % (go_json_string(text), stamp.decode())).encode("utf-8"))
                t += rng.randint(1_000, 30_000)  # each piece is its own write
            last = max(last, t)
    with open(a.cri_out, "wb") as f:
        f.writelines(cri)
    with open(a.docker_out, "wb") as f:
        f.writelines(docker)
    print("containerlog: %(lines)d lines, %(long_lines)d over 16 KiB; split into several records: "
          "cri %(cri_split_lines)d, docker %(docker_split_lines)d" % stats, file=sys.stderr)


if __name__ == "__main__":
    main()
