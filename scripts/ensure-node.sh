#!/usr/bin/env bash
# Node.js 18 or newer and npm for building the storefront, from Debian if missing.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null &&
   node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)'; then
  exit 0
fi
echo "installing Node.js and npm from Debian packages" >&2
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
