"""`python -m gateway serve`: nginx on PETSHORE_HOST:PETSHORE_PORT, configured from the routing
table, and the health checks that decide which instances it sends to.

nginx carries every request (a Python proxy cost more CPU a request than the catalog spent
answering it: bench/http_load.py); this process only renders its configuration, checks the
targets every interval and reloads nginx (SIGHUP: a graceful reload, requests in flight
finish) when the set of healthy targets changes. nginx's own messages come through here, as
JSON lines with their ids cut short, like every other line of the gateway's log."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import aiohttp

from gateway import nginx
from gateway.balancer import Pool
from gateway.settings import Settings
from petshore.aws import upload_origin
from petshore.cli import worker_count
from petshore.contract import GATEWAY_PORT, HEALTH_TIMEOUT_SECONDS, SERVICES, Env, storefront_csp
from petshore.lifeline import end_with_parent
from petshore.logs import configure_logging
from petshore.settings import SettingsError, env_int, env_str
from petshore.upstream import upstream_session

log = logging.getLogger("petshore.gateway")

# An error line of nginx: `2026/11/28 01:02:03 [error] 12#12: *5 message`.
_NGINX_LINE = re.compile(rb"^\S+ \S+ \[(?P<level>\w+)\] [^:]*: (?P<message>.*)$")
_LEVELS = {
    b"emerg": logging.CRITICAL,
    b"alert": logging.CRITICAL,
    b"crit": logging.CRITICAL,
    b"error": logging.ERROR,
    b"warn": logging.WARNING,
    b"notice": logging.INFO,
    b"info": logging.INFO,
}


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None or not nginx.BROTLI_MODULE.is_file():
        raise SettingsError(
            "the gateway runs nginx with its Brotli module: `make local` installs them "
            "(scripts/ensure-nginx.sh)"
        )
    return found


def bucket_url(settings: Settings) -> str:
    """The bucket's path-style URL: the emulator's, or S3's own (a public bucket only: nginx
    does not sign requests)."""
    endpoint = settings.common.aws_endpoint_url
    if endpoint:
        return f"{endpoint.rstrip('/')}/{settings.models_bucket}"
    return f"https://s3.{settings.common.aws_region}.amazonaws.com/{settings.models_bucket}"


class Gateway:
    def __init__(self, settings: Settings, listen: str, run_dir: Path) -> None:
        self.settings = settings
        self.listen = listen
        self.run_dir = run_dir
        self.pools = [Pool.of(s, settings.upstreams[s.name]) for s in SERVICES]
        self.config = run_dir / "nginx.conf"
        self.csp = storefront_csp(
            upload_origin(
                settings.common.aws_endpoint_url, settings.common.aws_region, settings.models_bucket
            )
        )

    def serving(self) -> dict[str, list[str]]:
        return {pool.service.name: pool.serving() for pool in self.pools}

    def write_config(self) -> None:
        site = nginx.Site(
            listen=self.listen,
            static_dir=self.settings.static_dir.resolve(),
            bucket_url=bucket_url(self.settings),
            storefront_csp=self.csp,
            upstream_timeout=self.settings.upstream_timeout,
            request_timeout=self.settings.common.request_timeout,
            run_dir=self.run_dir,
            workers=worker_count(),
            serving=self.serving(),
        )
        self.config.write_text(nginx.render(site))

    async def check_health(self, process: asyncio.subprocess.Process) -> None:
        """Every interval, check every target; reload nginx when what it sends to changes.
        Not before nginx wrote its pid file: until it has set up its signal handlers, a
        SIGHUP would end it."""
        while not (self.run_dir / "nginx.pid").exists():
            await asyncio.sleep(0.05)
        timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)
        async with upstream_session(timeout, max_connections=50) as session:
            while True:
                before = self.serving()
                await asyncio.gather(*(pool.check(session) for pool in self.pools))
                if self.serving() != before:
                    self.write_config()
                    process.send_signal(signal.SIGHUP)
                await asyncio.sleep(self.settings.health_interval)


async def relay_messages(stream: asyncio.StreamReader) -> None:
    """nginx's messages as the gateway's JSON lines (the formatter cuts ids short)."""
    while line := await stream.readline():
        parsed = _NGINX_LINE.match(line.rstrip())
        text = (parsed["message"] if parsed else line.rstrip()).decode("utf-8", "replace")
        level = _LEVELS.get(parsed["level"], logging.ERROR) if parsed else logging.INFO
        logging.getLogger("nginx").log(level, text)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGQUIT, nginx's graceful stop (requests in flight are answered; the workers give up
    after its worker_shutdown_timeout); then SIGTERM, its fast stop, in which the master
    still stops its workers; at last, the whole group killed."""
    for signum, seconds in ((signal.SIGQUIT, nginx.SHUTDOWN_SECONDS + 2), (signal.SIGTERM, 5)):
        process.send_signal(signum)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=seconds)
            return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


async def run(gateway: Gateway, binary: str) -> int:
    gateway.write_config()
    process = await asyncio.create_subprocess_exec(
        binary,
        "-p",
        str(gateway.run_dir),
        "-c",
        str(gateway.config),
        stdout=None,  # the access lines go straight to this process's stdout
        stderr=asyncio.subprocess.PIPE,
        # nginx is stopped when this process ends, however it ends (a SIGKILL leaves no
        # chance to stop it), so no nginx keeps the port of a gateway that is gone.
        preexec_fn=end_with_parent(signal.SIGTERM),
        # Its own group: a worker outlives a master killed outright, and is killed with it.
        process_group=0,
    )
    assert process.stderr is not None
    relay = asyncio.create_task(relay_messages(process.stderr))
    health = asyncio.create_task(gateway.check_health(process))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    stopped = asyncio.create_task(stopping.wait())
    exited = asyncio.create_task(process.wait())
    await asyncio.wait([stopped, exited], return_when=asyncio.FIRST_COMPLETED)
    health.cancel()
    if process.returncode is None:
        await stop(process)
    with suppress(TimeoutError):
        # nginx's workers hold its stderr too; none is left now, but never wait on one.
        await asyncio.wait_for(relay, timeout=5)
    stopped.cancel()
    if stopping.is_set():
        return 0
    log.error("nginx exited", extra={"returncode": process.returncode})
    return process.returncode or 1


def main() -> None:
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m gateway serve")
    try:
        settings = Settings.from_env()
        listen = f"{env_str(Env.HOST, '127.0.0.1')}:{env_int(Env.PORT, GATEWAY_PORT, minimum=1)}"
        binary = nginx_binary()
    except SettingsError as exc:
        sys.exit(f"gateway: {exc}")
    configure_logging("gateway", settings.common.log_level)
    with tempfile.TemporaryDirectory(prefix="petshore-gateway-") as run_dir:
        code = asyncio.run(run(Gateway(settings, listen, Path(run_dir)), binary))
    logging.shutdown()
    sys.exit(code)
