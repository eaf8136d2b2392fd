#!/usr/bin/env bash
# Runs bench/scoring_pandas.py in a virtualenv of its own (bench/.venv), made on first use.
set -euo pipefail
source "$(dirname "$0")/venv.sh" pandas
exec "$here/.venv/bin/python" "$here/scoring_pandas.py" "$@"
