"""Session fixtures: real dependencies, started once. PostgreSQL is the server on
127.0.0.1:5432 (make test starts one if none answers); AWS is moto's server in its own
process, reached over HTTP by the real SDK."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from devstack.processes import free_port
from devstack.stack import Stack, StackConfig
from petshore.contract import CART, CATALOG, ORDERS, Env
from tests.helpers import ADMIN_TOKEN

STOREFRONT = Path(__file__).resolve().parent.parent / "web" / "dist"
POSTGRES = os.environ.get(
    "PETSHORE_TEST_POSTGRES", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)


def _database_url(name: str) -> str:
    base = POSTGRES.rsplit("/", 1)[0]
    return f"{base}/{name}?maxsize=30"


async def _recreate(names: list[str], drop_only: bool = False) -> None:
    conn = await asyncpg.connect(POSTGRES)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[dict[str, str]]:
    names = {s: f"petshore_test_{os.getpid()}_{s}" for s in ("catalog", "orders")}
    asyncio.run(_recreate(list(names.values())))
    yield {s: _database_url(n) for s, n in names.items()}
    asyncio.run(_recreate(list(names.values()), drop_only=True))


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's emulator (moto, each service's requests one at a time, so DynamoDB's
    conditions hold), keeping nothing on disk."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.emulator", "--host", "127.0.0.1", "--port", str(port)],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


PART_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="session")
def stack(
    postgres_databases: dict[str, str], moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The whole storefront on PostgreSQL and moto: two catalog instances behind the gateway,
    one cart, one orders, with the demo catalog loaded."""
    assert (STOREFRONT / "index.html").is_file(), "build the storefront first: make build"
    config = StackConfig(
        catalog_database_url=postgres_databases["catalog"],
        orders_database_url=postgres_databases["orders"],
        aws_endpoint_url=moto_url,
        admin_token=ADMIN_TOKEN,
        gateway_port=free_port(),
        log_dir=tmp_path_factory.mktemp("logs"),
        environment="test",
        service_ports={
            CATALOG.name: [free_port(), free_port()],
            CART.name: [free_port()],
            ORDERS.name: [free_port()],
        },
        # S3's smallest part, so the sneaker (7.8 MB) is offered a multipart upload.
        extra_env={
            Env.GATEWAY_HEALTH_INTERVAL: "0.5",
            Env.MODEL_UPLOAD_PART_BYTES: str(PART_BYTES),
        },
        static_dir=STOREFRONT,
    )
    running = Stack(config)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client
