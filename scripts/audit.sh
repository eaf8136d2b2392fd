#!/usr/bin/env bash
# The dependency audit: cargo deny checks licences, bans and sources of every crate in
# Cargo.lock against deny.toml (each exception there says why), and the RustSec advisories
# wherever their database can be fetched (it comes from GitHub; where GitHub is out of
# reach, that one check is skipped with a warning). Installs cargo-deny on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "installing cargo-deny (once)..." >&2
    cargo install --locked cargo-deny@0.20.2 >&2
fi
cargo deny --log-level error check licenses bans sources
if git ls-remote https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
    cargo deny --log-level error check advisories
else
    echo "warning: the RustSec advisory database cannot be fetched from here; advisories not checked" >&2
fi
