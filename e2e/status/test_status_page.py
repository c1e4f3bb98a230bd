#!/usr/bin/env python3
"""The status page on `/`, rendered by a real headless Chromium (Debian's `chromium`).

Serves the committed real Envoy log (plus a line whose path carries markup), lets Chromium
load and lay out `/`, and checks what a person would see: requests by route with their error
shares, the input with its lines and lag, series per family as /metrics counts them, the
configuration in force, and the markup shown as text rather than run.

  python3 e2e/status/test_status_page.py --bin .build/debug/logmetrics
"""

import argparse
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, get, run_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "envoy-1.40", "access.log")
HOSTILE = ('{"method":"GET","path":"/<script>alert(1)</script>","protocol":"HTTP/1.1","response_code":404,'
           '"response_flags":"NR","duration":0,"route_name":null,"start_time":"2026-11-22T04:45:09.300Z"}\n')
CONFIG = """# status page test
slow_request: { threshold_ms: 1000 }
limits: { max_series_per_family: 5000 }
"""


class Tables(html.parser.HTMLParser):
    """Rows of every table by the id of its section, and every element name seen."""

    def __init__(self):
        super().__init__()
        self.section = None
        self.tables = {}
        self.row = None
        self.cell = None
        self.elements = set()
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.elements.add(tag)
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs.get("id")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables.setdefault(self.section, []).append(self.row)
            self.row = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell += data


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no chromium to render the page with (scripts/install-deps.sh test installs it)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-status.")
    log = os.path.join(work, "access.log")
    shutil.copy(FIXTURE, log)
    with open(log, "a") as sink:
        sink.write(HOSTILE)
    config = os.path.join(work, "logmetrics.yaml")
    with open(config, "w") as sink:
        sink.write(CONFIG)
    port = free_port()
    server = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--from", "head", "--config", config, log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        metrics = ""
        while time.monotonic() < deadline:
            try:
                metrics = get(base + "/metrics")
                if 'logmetrics_lines_total{result="parsed"} 601' in metrics:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        check('logmetrics_lines_total{result="parsed"} 601' in metrics, "the server counted every line")
        browser = chromium()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={os.path.join(work, 'profile')}"]
        dom = subprocess.run([browser, *flags, "--dump-dom", base + "/"], capture_output=True, timeout=120)
        check(dom.returncode == 0 and b"</html>" in dom.stdout, "Chromium loads and renders /")
        page = Tables()
        page.feed(dom.stdout.decode())

        routes = {row[0]: row for row in page.tables.get("routes", [])[1:]}
        header = page.tables["routes"][0]
        check(header[:2] == ["route", "since start"] and header[2].startswith("last ")
              and header[3:6] == ["req/s", "4xx %", "5xx %"], "the routes table has its columns")
        # Everything was read within the first window, so the window holds it all too.
        check(routes["users_item"][1] == "186" and routes["users_item"][2] == "186"
              and routes["users_item"][4] == "10.8", "users_item: 186 requests, 10.8 % 4xx (the ground truth)")
        check(routes["payments"][5] == "100.0" and "UF 24" in routes["payments"][10],
              "payments: all 5xx, flag UF on 24")
        check(routes["reports"][9] == "3.0", "reports: 1 of 33 slow")
        order = [int(row[1]) for row in page.tables["routes"][1:]]
        check(order == sorted(order, reverse=True), "routes by traffic, busiest first")

        check("/<script>alert(1)</script>" in routes, "a path carrying markup is shown as text")
        check("script" not in page.elements, "and no script element reaches the page")

        inputs = page.tables["inputs"]
        check(inputs[1][0] == log and inputs[1][2] == "601" and inputs[1][3] == "0",
              "the input: its path, 601 lines read, no lag")

        series = {row[0]: row for row in page.tables["series"][1:]}
        counted = re.search(r'logmetrics_series\{family="logmetrics_http_requests"\} (\d+)', metrics).group(1)
        check(series["logmetrics_http_requests"][1] == counted,
              f"series per family as /metrics counts them ({counted})")

        text = "".join(page.text)
        check(config in text and "# status page test" in text, "the configuration in force, with its path")
        with open(config, "w") as sink:
            sink.write("# edited, not reloaded\n")
        time.sleep(1.1)
        again = Tables()
        again.feed(get(base + "/"))
        check("# status page test" in "".join(again.text), "an edit not yet reloaded does not show as in force")
        started = time.monotonic()
        for _ in range(200):
            get(base + "/")
        check(time.monotonic() - started < 20, "200 page loads in a row are served (from a page made once a second)")

        shot = os.path.join(work, "status.png")
        subprocess.run([browser, *flags, "--window-size=1280,1600", f"--screenshot={shot}", base + "/"],
                       capture_output=True, timeout=120)
        with open(shot, "rb") as image:
            header = image.read(8)
        check(header == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 10000, "a screenshot of the page renders")
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    print("status page: all checks passed")


if __name__ == "__main__":
    run_main(main)
