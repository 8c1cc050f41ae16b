from __future__ import annotations

from gateway.app import create_app
from petshore.cli import main
from petshore.contract import GATEWAY_PORT, Service

GATEWAY = Service("gateway", GATEWAY_PORT)

if __name__ == "__main__":
    main(GATEWAY, create_app, {})
