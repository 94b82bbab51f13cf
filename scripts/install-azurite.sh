#!/usr/bin/env bash
# Installs Azurite (MIT, Microsoft's Azure Storage emulator) from the npm
# registry into ~/.cache/erpipe/azurite-<version> (or $ERPIPE_CACHE,
# $XDG_CACHE_HOME/erpipe), where internal/azuritetest finds it, unless that
# version is there. Installs Node.js and npm from Debian first when the
# machine has none. About half a minute with a cold npm cache.
set -euo pipefail
# Keep in step with azuritetest.Version: 3.35.0 is the last release that
# runs on Node.js 20 (3.36 and later ask for Node.js 22).
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
if [ -n "${ERPIPE_CACHE:-}" ]; then base="$ERPIPE_CACHE"
elif [ -n "${XDG_CACHE_HOME:-}" ]; then base="$XDG_CACHE_HOME/erpipe"
else base="$HOME/.cache/erpipe"; fi
dir="$base/azurite-$AZURITE_VERSION"
bin="$dir/node_modules/.bin/azurite-blob"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== installing Node.js and npm (for Azurite)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ -x "$bin" ] && [ "$(node -p "require('$dir/node_modules/azurite/package.json').version" 2>/dev/null)" = "$AZURITE_VERSION" ]; then
  echo "azurite $AZURITE_VERSION already in $dir"
  exit 0
fi
mkdir -p "$dir"
# --ignore-scripts: Azurite needs no install script (one of its
# dependencies has an optional one, for protobuf code generation).
npm install --prefix "$dir" --no-audit --no-fund --omit=dev --ignore-scripts --loglevel=error \
  "azurite@$AZURITE_VERSION" >/dev/null
test -x "$bin"
echo "installed azurite $AZURITE_VERSION in $dir"
