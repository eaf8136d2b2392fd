#!/usr/bin/env bash
# Refreshes the list of disposable email domains that junk detection uses, from the maintained
# npm package disposable-email-domains (https://github.com/ivolo/disposable-email-domains, MIT).
# Usage: scripts/refresh-disposable-domains.sh [VERSION]   (default: the latest)
# Then rebuild; the list is compiled into the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-latest}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "disposable-email-domains@$version" > tarball-name)
tar -xzf "$work/$(cat "$work/tarball-name")" -C "$work"
resolved="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$work/package/package.json")"
out=crates/leadgate-core/data/disposable_domains.txt
{
  echo "# Disposable email domains: npm disposable-email-domains@$resolved (MIT)."
  echo "# Made by scripts/refresh-disposable-domains.sh; do not edit by hand."
  python3 -c 'import json,sys; print("\n".join(sorted(set(d.strip().lower() for d in json.load(open(sys.argv[1])) if d.strip()))))' "$work/package/index.json"
} > "$out"
echo "wrote $(($(wc -l < "$out") - 2)) domains from disposable-email-domains@$resolved to $out"
