"""The production launcher's database step against the real PostgreSQL server: it creates a
service's login and database once, keeps the password in step with the secret, and the
service migrates and serves with the URL it builds."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import pytest

from deploy.run import database_url, ensure_database, launch, main, secret_settings
from devstack.processes import ROOT
from petshore.contract import CART, CATALOG, MODEL_WORKER, ORDERS, Env
from tests.conftest import POSTGRES
from tests.helpers import emulator_client


@pytest.fixture
def login() -> Iterator[dict[str, str]]:
    name = f"petshore_boot_{secrets.token_hex(4)}"
    yield {"username": name, "dbname": name, "password": secrets.token_urlsafe(24)}

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'DROP ROLE IF EXISTS "{name}"')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_first_boot_creates_the_login_and_database_then_migrates(
    login: dict[str, str],
) -> None:
    master = {"username": "postgres", "password": "postgres"}
    asyncio.run(ensure_database("127.0.0.1", 5432, master, login, tls=False))
    login = {**login, "password": secrets.token_urlsafe(24)}  # the secret was rotated
    asyncio.run(ensure_database("127.0.0.1", 5432, master, login, tls=False))

    async def owner() -> str:
        conn = await asyncpg.connect(POSTGRES)
        try:
            return str(
                await conn.fetchval(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
                    login["dbname"],
                )
            )
        finally:
            await conn.close()

    assert asyncio.run(owner()) == login["username"]
    url = database_url("127.0.0.1", 5432, login, tls=False)
    migrated = subprocess.run(
        [sys.executable, "-m", CATALOG.module, "migrate"],
        cwd=ROOT,
        env={Env.CATALOG_DATABASE_URL: url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr

    async def tables() -> set[str]:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            user=login["username"],
            password=login["password"],
            database=login["dbname"],
        )
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    assert {"product", "category"} <= asyncio.run(tables())


def test_database_url_escapes_the_password() -> None:
    url = database_url("db", 5432, {"username": "u", "password": "p@ss/w:rd", "dbname": "d"})
    assert url == "postgres://u:p%40ss%2Fw%3Ard@db:5432/d?ssl=true"


def test_only_the_services_that_need_them_read_the_token_and_the_payment_keys(
    moto_url: str,
) -> None:
    client = emulator_client(moto_url, "secretsmanager")
    suffix = secrets.token_hex(4)
    token = client.create_secret(Name=f"admin-{suffix}", SecretString="the-token")["ARN"]
    keys = client.create_secret(
        Name=f"payments-{suffix}",
        SecretString=json.dumps({"secret_key": "sk_live_x", "webhook_secret": "whsec_y"}),
    )["ARN"]
    env = {Env.ADMIN_TOKEN_SECRET_ARN: token, Env.STRIPE_SECRET_ARN: keys}
    stripe = secret_settings(ORDERS, {**env, Env.PAYMENT_PROVIDER: "stripe"}, client)
    assert stripe == {
        Env.ADMIN_TOKEN: "the-token",
        Env.STRIPE_SECRET_KEY: "sk_live_x",
        Env.STRIPE_WEBHOOK_SECRET: "whsec_y",
    }
    assert secret_settings(ORDERS, {**env, Env.PAYMENT_PROVIDER: "test"}, client) == {
        Env.ADMIN_TOKEN: "the-token"
    }
    assert secret_settings(CART, env, client) == {}


def test_the_model_worker_starts_with_its_env_file_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret is read and no database made for it: it is `python -m modelworker work`."""

    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model worker reads no secret")

    monkeypatch.setattr("deploy.run.boto3.client", no_aws)
    env = {Env.MODEL_JOBS_QUEUE_URL: "https://sqs.example/jobs", "PATH": "/usr/bin:/bin"}
    command, prepared = launch(MODEL_WORKER.name, env)
    assert command == [sys.executable, "-m", MODEL_WORKER.module, "work"]
    assert prepared == env


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(SystemExit) as refused:
        main(["payments"])
    assert str(refused.value) == (
        "usage: python -m deploy.run {catalog|cart|orders|accounts|modelworker}"
    )
