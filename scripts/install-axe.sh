#!/usr/bin/env bash
# Installs axe-core (MPL-2.0, Deque's accessibility rules engine) from the
# npm registry into ~/.cache/erpipe/axe-core-<version> (or $ERPIPE_CACHE,
# $XDG_CACHE_HOME/erpipe), where the web console's browser tests
# (e2e/console_test.go) find axe.min.js and run it in Chromium, unless
# that version is there. Installs Node.js and npm from Debian first when
# the machine has none.
set -euo pipefail
# Keep in step with axeVersion in e2e/console_test.go.
AXE_VERSION="${AXE_VERSION:-4.14.1}"
if [ -n "${ERPIPE_CACHE:-}" ]; then base="$ERPIPE_CACHE"
elif [ -n "${XDG_CACHE_HOME:-}" ]; then base="$XDG_CACHE_HOME/erpipe"
else base="$HOME/.cache/erpipe"; fi
dir="$base/axe-core-$AXE_VERSION"
js="$dir/node_modules/axe-core/axe.min.js"

if [ -f "$js" ]; then
  echo "axe-core $AXE_VERSION already in $dir"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "== installing Node.js and npm (for axe-core)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --omit=dev --ignore-scripts --loglevel=error \
  "axe-core@$AXE_VERSION" >/dev/null
test -f "$js"
echo "installed axe-core $AXE_VERSION in $dir"
