"""Session fixtures: real dependencies, started once. PostgreSQL is the server on
127.0.0.1:5432 (make test starts one if none answers); AWS is moto's server in its own
process, reached over HTTP by the real SDK."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devstack.emulator import emulator_process
from devstack.processes import free_port
from devstack.stack import Stack, StackConfig
from petshore.contract import CATALOG, SERVICES, Env
from tests.helpers import ADMIN_TOKEN, recreate_databases

STOREFRONT = Path(__file__).resolve().parent.parent / "web" / "dist"
POSTGRES = os.environ.get(
    "PETSHORE_TEST_POSTGRES", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)


def database_url(name: str) -> str:
    base = POSTGRES.rsplit("/", 1)[0]
    return f"{base}/{name}?maxsize=30"


@contextmanager
def scratch_database(purpose: str) -> Iterator[str]:
    """An empty PostgreSQL database of this test process's own, dropped afterwards: its URL."""
    name = f"petshore_test_{os.getpid()}_{purpose}"
    asyncio.run(recreate_databases(POSTGRES, [name]))
    try:
        yield database_url(name)
    finally:
        asyncio.run(recreate_databases(POSTGRES, [name], drop_only=True))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[dict[str, str]]:
    names = {s.name: f"petshore_test_{os.getpid()}_{s.name}" for s in SERVICES if s.database}
    asyncio.run(recreate_databases(POSTGRES, list(names.values())))
    yield {s: database_url(n) for s, n in names.items()}
    asyncio.run(recreate_databases(POSTGRES, list(names.values()), drop_only=True))


@pytest.fixture(scope="session")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the emulator writes each email SES accepted, as an .eml file."""
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory, outbox: Path) -> Iterator[str]:
    """The project's emulator (moto, each service's requests one at a time, so DynamoDB's
    conditions hold), keeping nothing on disk but the emails it was given."""
    with emulator_process(tmp_path_factory.mktemp("moto") / "moto.log", outbox) as url:
        yield url


PART_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="session")
def stack(
    postgres_databases: dict[str, str], moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The whole storefront on PostgreSQL and moto: two catalog instances behind the gateway,
    one instance of each other service and the model worker, with the demo catalog loaded."""
    assert (STOREFRONT / "index.html").is_file(), "build the storefront first: make build"
    config = StackConfig(
        database_urls=postgres_databases,
        aws_endpoint_url=moto_url,
        admin_token=ADMIN_TOKEN,
        gateway_port=free_port(),
        log_dir=tmp_path_factory.mktemp("logs"),
        environment="test",
        # Two catalog instances, to prove the gateway balances; one of each other service.
        service_ports={
            s.name: [free_port(), free_port()] if s is CATALOG else [free_port()] for s in SERVICES
        },
        # S3's smallest part, so the sneaker (7.8 MB) is offered a multipart upload.
        extra_env={
            # Every test signs in from this machine's one address, the schema fuzzer with
            # wrong passwords too: the throttle has tests of its own (inprocess/test_accounts).
            Env.SIGNIN_ADDRESS_FAILURES: "1000000",
            Env.GATEWAY_HEALTH_INTERVAL: "0.5",
            Env.MODEL_UPLOAD_PART_BYTES: str(PART_BYTES),
            # The tests follow a request's id through the services' logs, successes too.
            Env.ACCESS_LOG: "all",
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
