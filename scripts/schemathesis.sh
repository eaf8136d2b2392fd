#!/usr/bin/env bash
# The API against its own description: serves a fresh store with an admin key and runs
# schemathesis with every check (schemathesis.toml names the few rules a schema cannot
# state). Usage: scripts/schemathesis.sh [LEADGATE_BINARY] [DATABASE_URL]
# (defaults: target/release/leadgate, a fresh SQLite file). Needs `st` on PATH or in
# $SCHEMATHESIS; `python3 -m venv V && V/bin/pip install schemathesis==4.*` installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/leadgate}
st=${SCHEMATHESIS:-st}
dir=$(mktemp -d)
url=${2:-$dir/leadgate.db}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key=$("$bin" apikey --database-url "$url" create audit --role admin 2>/dev/null | tail -1)
"$bin" serve --bind "127.0.0.1:$port" --database-url "$url" >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
"$st" --config-file schemathesis.toml --no-color run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --checks all -H "Authorization: Bearer $key" --seed "${SEED:-7}" \
    --max-examples "${MAX_EXAMPLES:-30}"
