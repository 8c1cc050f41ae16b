#!/usr/bin/env bash
# Make a virtualenv at $1 with Python 3.11 or newer, installing Python from Debian if needed.
set -euo pipefail
venv="${1:-.venv}"
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "installing Python 3 with venv from Debian packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
  python=python3
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
