#!/usr/bin/env bash
# The dashboard's page timings on a million demo leads with twenty events each, on both
# engines (BENCHMARKS.md). Installs wrk from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi
  $sudo apt-get install -y --no-install-recommends wrk
fi
cargo build --release --locked -p leadgate-bench
exec ./target/release/leadgate-bench pages "$@"
