#!/usr/bin/env bash
# Debian's nginx and its Brotli module: the gateway (python -m gateway serve) runs nginx with a
# configuration rendered from the routing table (gateway/nginx.py).
set -euo pipefail
PATH="$PATH:/usr/sbin"
if command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ]; then
    exit 0
fi
echo "installing nginx from Debian packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-http-brotli-static
