#!/usr/bin/env python3
"""TLS and basic authentication on the scrape port (`--web.config.file`, the Prometheus exporters'
web configuration format), checked with curl and a real Prometheus on loopback. Certificates
are made for the run with openssl; the bcrypt hash with the system's crypt(3).

  python3 e2e/web/test_web_config.py --bin .build/debug/logmetrics
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, run_main, stop_all  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "envoy-1.40", "access.log")


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, timeout=60, **kwargs)


def certificates(work):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    def path(name):
        return os.path.join(work, name)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=logmetrics test CA"],
        check=True)
    for name, extension in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                            ("client", "extendedKeyUsage=clientAuth")]:
        with open(path(f"{name}.ext"), "w") as f:
            f.write(extension + "\n")
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", path(f"{name}.key"), "-out", path(f"{name}.csr"), "-subj", f"/CN={name}"], check=True)
        run(["openssl", "x509", "-req", "-in", path(f"{name}.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
             "-CAcreateserial", "-out", path(f"{name}.crt"), "-days", "2", "-extfile", path(f"{name}.ext")],
            check=True)
    return path


def serve(binary, config, log):
    port = free_port()
    process = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--from", "head", "--web.config.file", config, log],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    line = process.stderr.readline().decode()
    if "serving metrics" not in line:
        process.kill()
        raise AssertionError(f"logmetrics did not start: {line}{process.stderr.read().decode()[-500:]}")
    return process, port, line


def curl(*args):
    result = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", *args])
    return result.stdout.decode() or "000"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/debug/logmetrics")
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="logmetrics-web.")
    processes = []
    try:
        path = certificates(work)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
            hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
        log = os.path.join(work, "access.log")
        shutil.copy(FIXTURE, log)

        print("TLS and basic authentication")
        config = path("web.yml")
        with open(config, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {path('server.crt')}\n  key_file: {path('server.key')}\n"
                    f"basic_auth_users:\n  prometheus: '{hashed}'\n")
        server, port, line = serve(binary, config, log)
        processes.append(server)
        url = f"https://127.0.0.1:{port}/metrics"
        check(line.strip().endswith(f"https://127.0.0.1:{port}/metrics"), "it says it serves https")
        check(curl("--cacert", path("ca.crt"), "-u", "prometheus:s3cret", url) == "200",
              "curl with the CA and the password: 200")
        check(curl("--cacert", path("ca.crt"), url) == "401", "without a password: 401")
        check(curl("--cacert", path("ca.crt"), "-u", "prometheus:wrong", url) == "401", "a wrong password: 401")
        check(curl("--cacert", path("ca.crt"), "-u", "nobody:s3cret", url) == "401", "an unknown user: 401")
        check(curl("--cacert", path("ca.crt"), "-u", "prometheus:s3cret", f"https://127.0.0.1:{port}/") == "200",
              "the status page is behind the password too")
        check(curl(f"http://127.0.0.1:{port}/metrics") == "000", "plain HTTP gets no answer")
        check(curl("--cacert", path("ca.crt"), "--tls-max", "1.1", "-u", "prometheus:s3cret", url) == "000",
              "TLS 1.1 is refused (TLS 1.2 is the minimum)")
        check(curl("-u", "prometheus:s3cret", url) == "000", "a client that does not trust the CA gets no answer")
        # Repeated scrapes: the bcrypt check is paid once, then the accepted password is remembered.
        started = time.monotonic()
        codes = [curl("--cacert", path("ca.crt"), "-u", "prometheus:s3cret", url) for _ in range(10)]
        check(codes == ["200"] * 10, f"ten scrapes in a row answer ({time.monotonic() - started:.1f} s)")

        print("a real Prometheus scraping over TLS with basic authentication")
        prometheus_port = free_port()
        with open(path("prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: logmetrics\n    scheme: https\n"
                    f"    tls_config: {{ca_file: {path('ca.crt')}}}\n"
                    "    basic_auth: {username: prometheus, password: s3cret}\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
        prometheus = subprocess.Popen(
            [args.prometheus, f"--config.file={path('prometheus.yml')}", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(prometheus)
        total = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                query = urllib.parse.urlencode({"query": "sum(logmetrics_http_requests_total)"})
                with urllib.request.urlopen(f"http://127.0.0.1:{prometheus_port}/api/v1/query?{query}",
                                            timeout=5) as response:
                    result = json.load(response)["data"]["result"]
                if result:
                    total = float(result[0]["value"][1])
                    break
            except OSError:
                pass
            time.sleep(0.3)
        check(total == 600, f"Prometheus scrapes all 600 requests over https ({total})")
        server.terminate()
        server.wait(timeout=20)

        print("client certificates required")
        with open(config, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {path('server.crt')}\n  key_file: {path('server.key')}\n"
                    f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {path('ca.crt')}\n"
                    "  min_version: TLS13\n")
        server, port, _ = serve(binary, config, log)
        processes.append(server)
        url = f"https://127.0.0.1:{port}/metrics"
        check(curl("--cacert", path("ca.crt"), url) == "000", "without a client certificate: refused")
        check(curl("--cacert", path("ca.crt"), "--cert", path("client.crt"), "--key", path("client.key"), url) == "200",
              "with one the CA signed: 200")
        check(curl("--cacert", path("ca.crt"), "--tls-max", "1.2", "--cert", path("client.crt"), "--key",
                   path("client.key"), url) == "000", "min_version: TLS13 refuses TLS 1.2")
        server.terminate()
        server.wait(timeout=20)

        print("configurations that are refused, by name")
        for text, expected in [
            ("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
             "tls_server_config.cert_file"),
            ("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  min_version: TLS14\n"
             % (path("server.crt"), path("server.key")), "tls_server_config.min_version"),
            ("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
             % (path("server.crt"), path("server.key")), "tls_server_config.cipher_suites"),
            ("basic_auth_users:\n  prometheus: plaintext\n", "basic_auth_users"),
            ("tls_sever_config: {}\n", "tls_sever_config"),
        ]:
            with open(config, "w") as f:
                f.write(text)
            result = run([binary, "--listen", "127.0.0.1:0", "--web.config.file", config, log])
            message = result.stderr.decode()
            check(result.returncode != 0 and expected in message and config in message,
                  f"refused at start, naming {expected}")
    finally:
        stop_all(processes, timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    print("web configuration: all checks passed")


if __name__ == "__main__":
    run_main(main)
