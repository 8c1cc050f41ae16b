"""`make run`: the whole storefront on this machine, in the foreground, until Ctrl-C.

Embedded defaults need nothing installed: SQLite files under var/ and moto on a thread.
PETSHORE_<SERVICE>_DATABASE_URL (CATALOG, ORDERS, ACCOUNTS) switch a service to PostgreSQL;
AWS_ENDPOINT_URL (another emulator) or PETSHORE_EMULATOR=off (real AWS) switch moto off.
PETSHORE_VAR_DIR moves the local data (default var/)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from devstack.emulator import Emulator
from devstack.processes import ROOT, port_in_use
from devstack.stack import Stack, StackConfig, sqlite_databases
from petshore.contract import GATEWAY_PORT, SERVICES, Env, service_named
from petshore.settings import env_int, env_str


def taken_port(gateway_port: int) -> str | None:
    """What to do about the first port the storefront needs that something else holds."""
    if port_in_use(gateway_port):
        return (
            f"Port {gateway_port}, where the storefront would listen, is already in use: stop "
            f"what listens there (`ss -ltnp 'sport = :{gateway_port}'` names it) or choose "
            f"another port with PORT=<port>."
        )
    for service in SERVICES:
        if port_in_use(service.port):
            return (
                f"Port {service.port}, which the {service.name} service needs, is already in "
                f"use, probably by an earlier `make run` that is still running: stop it "
                f"(`ss -ltnp 'sport = :{service.port}'` names it) and start again."
            )
    return None


def main() -> int:
    gateway_port = env_int("PORT", GATEWAY_PORT, minimum=1)
    # Checked before anything starts: a service that cannot listen would otherwise be waited
    # for, and the earlier one holding its port answered in its place meanwhile.
    problem = taken_port(gateway_port)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    var = Path(env_str("PETSHORE_VAR_DIR", str(ROOT / "var"))).resolve()
    var.mkdir(parents=True, exist_ok=True)
    token = env_str(Env.ADMIN_TOKEN, "") or secrets.token_urlsafe(24)
    emulator = None
    endpoint = os.environ.get(Env.AWS_ENDPOINT_URL) or None
    if endpoint is None and env_str("PETSHORE_EMULATOR", "embedded") != "off":
        emulator = Emulator(var / "emulator", outbox=var / "outbox")
        emulator.start()
        endpoint = emulator.url
    config = StackConfig(
        database_urls={
            service: env_str(service_named(service).database_url_variable, default)
            for service, default in sqlite_databases(var).items()
        },
        aws_endpoint_url=endpoint,
        admin_token=token,
        gateway_port=gateway_port,
        log_dir=var / "log",
        environment=env_str(Env.ENVIRONMENT, "local"),
    )
    stack = Stack(config)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Ctrl-C stops it however it was started: a shell without job control starts a
    # background command with SIGINT ignored, and Python then leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack.start()
        # The embedded emulator keeps the emails the shop sends, for the developer to read.
        outbox = f"  Emails:      {var / 'outbox'}/ (each one sent, an .eml file)\n"
        print(
            f"\nPet Shore 3D is running.\n"
            f"  Storefront:  {stack.gateway_url}/\n"
            f"  Admin token: {token}\n"
            f"  Logs:        {config.log_dir}/\n"
            f"{outbox if emulator else ''}"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        stopping.wait()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        stack.stop()
        if emulator is not None:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
