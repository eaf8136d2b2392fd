#!/usr/bin/env bash
# Leadgate's duplicate matching against recordlinkage on the same generated people, in one
# run: time, precision and recall (BENCHMARKS.md).
# Usage: bench/dedupe_vs_recordlinkage.sh [--people 100000,1000000]
# Installs what it needs into bench/.venv on first use; builds leadgate in release mode.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
if [ ! -x "$here/.venv/bin/python" ] || ! "$here/.venv/bin/python" -c "import recordlinkage" 2>/dev/null; then
  python3 -m venv "$here/.venv" >&2
  "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt" >&2
fi
(cd "$root" && cargo build --release --locked --quiet -p leadgate)
exec "$here/.venv/bin/python" "$here/dedupe_vs_recordlinkage.py" --leadgate "$root/target/release/leadgate" "$@"
