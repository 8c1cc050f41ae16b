#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it by path; it never downloads one).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "installing Chromium from Debian packages" >&2
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
