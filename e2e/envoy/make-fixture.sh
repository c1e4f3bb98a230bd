#!/usr/bin/env bash
# Regenerate the recorded Envoy fixture used by unit tests and `make run`.
#
#   e2e/envoy/make-fixture.sh [DIR]     default DIR: e2e/fixtures/envoy-1.40
#
# One real run (N=600, SEED=42) whose access.log, cri.log, docker-json.log,
# truth.json and envoy-stats.json replace those in DIR.  Request ids, times
# and ports differ from run to run; truth.json and the counts do not.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=${1:-$(dirname "$HERE")/fixtures/envoy-1.40}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/logmetrics-fixture.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
SEED=42 "$HERE/run.sh" "$TMP/run" 600
mkdir -p "$DEST"
for f in access.log cri.log docker-json.log truth.json envoy-stats.json; do
  cp "$TMP/run/$f" "$DEST/$f"
done
echo "make-fixture.sh: wrote $(du -sh "$DEST" | cut -f1) to $DEST" >&2
