#!/usr/bin/env bash
# Leadgate's conversion model against LightGBM (default parameters, 2 threads) on the same
# split, in one run: X Education without its leaky columns, through the store (import, then
# `leadgate evaluate`), and synthetic sets of growing size (`leadgate-bench model`).
# Usage: bench/model_vs_lightgbm.sh [--synthetic-rows 10000,100000,1000000] [--base-rates 0.02,0.05,0.10] [--repeat 3] [--xeducation-seeds 42,1,2]
# Installs what it needs into bench/.venv on first use; builds leadgate in release mode.
set -euo pipefail
source "$(dirname "$0")/venv.sh" lightgbm sklearn
(cd "$root" && cargo build --release --locked --quiet -p leadgate -p leadgate-bench)
exec "$here/.venv/bin/python" "$here/model_vs_lightgbm.py" --leadgate "$root/target/release/leadgate" --leadgate-bench "$root/target/release/leadgate-bench" --root "$root" "$@"
