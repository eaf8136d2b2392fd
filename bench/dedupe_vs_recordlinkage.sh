#!/usr/bin/env bash
# Leadgate's duplicate matching against recordlinkage on the same generated people, in one
# run: time, precision and recall (BENCHMARKS.md).
# Usage: bench/dedupe_vs_recordlinkage.sh [--people 100000,1000000]
# Installs what it needs into bench/.venv on first use; builds leadgate-bench in release mode.
set -euo pipefail
source "$(dirname "$0")/venv.sh" recordlinkage
(cd "$root" && cargo build --release --locked --quiet -p leadgate-bench)
exec "$here/.venv/bin/python" "$here/dedupe_vs_recordlinkage.py" --leadgate-bench "$root/target/release/leadgate-bench" "$@"
