"""The one command that runs a service, here and in production:

python -m services.<name> migrate     # bring its database schema up to date
python -m services.<name> serve       # serve HTTP on PETSHORE_HOST:PETSHORE_PORT
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import uvloop
from sanic import Sanic
from sanic.worker.loader import AppLoader

from petshore.contract import Env, Service
from petshore.settings import SettingsError, env_int, env_str

Command = Callable[[argparse.Namespace], Awaitable[None]]


def worker_count() -> int:
    """PETSHORE_WORKERS: a number of server processes, or `auto` for one per vCPU (one
    process uses one core, so an instance's CPU only fills up with as many as it has)."""
    raw = env_str(Env.WORKERS, "1")
    if raw.lower() == "auto":
        return os.cpu_count() or 1
    count = int(raw) if raw.isascii() and raw.isdigit() else 0
    if count < 1:
        raise SettingsError(f"{Env.WORKERS} must be a whole number from 1, or auto; got {raw!r}")
    return count


def serve(service: Service, factory: Callable[[], Sanic]) -> None:
    host = env_str(Env.HOST, "127.0.0.1")
    port = env_int(Env.PORT, service.port, minimum=1)
    workers = worker_count()
    loader = AppLoader(factory=partial(factory))
    app = loader.load()
    app.prepare(
        host=host,
        port=port,
        workers=workers,
        single_process=workers == 1,
        access_log=False,
        motd=False,
    )
    if workers == 1:
        # One process, no worker manager: signals and exit codes reach the server directly.
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


def main(
    service: Service,
    factory: Callable[[], Sanic],
    commands: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], Any] | None]],
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {factory.__module__.rpartition('.')[0]}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve HTTP")
    for name, (_, add_arguments) in commands.items():
        command_parser = sub.add_parser(name)
        if add_arguments:
            add_arguments(command_parser)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.command == "serve":
        serve(service, factory)
    else:
        # The loop Sanic serves on: the mail sender's SES calls and database rounds cost a
        # fifth less CPU on it than on asyncio's own (bench/http_load.py).
        uvloop.run(commands[args.command][0](args))
