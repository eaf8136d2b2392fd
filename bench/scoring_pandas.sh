#!/usr/bin/env bash
# Runs bench/scoring_pandas.py in a virtualenv of its own (bench/.venv), made on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv" >&2
  "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt" >&2
fi
exec "$here/.venv/bin/python" "$here/scoring_pandas.py" "$@"
