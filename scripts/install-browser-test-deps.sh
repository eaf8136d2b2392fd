#!/usr/bin/env bash
# Installs what the dashboard's browser tests need: Debian's Chromium and a Chinese font for
# its screenshots (apt, as root or via sudo) and playwright-core from the npm registry (pinned in tests/browser/package-lock.json).
# Safe to run again: it does nothing when both are present. Run by the browser test itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages="chromium chromium-driver fonts-wqy-microhei"
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  echo "installing $packages..." >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # the list is meant to split
  $sudo apt-get install -y --no-install-recommends $packages >&2 \
    || { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends $packages >&2; }
fi

if [ ! -f "$root/tests/browser/node_modules/playwright-core/package.json" ]; then
  echo "installing playwright-core..." >&2
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund >&2)
fi
