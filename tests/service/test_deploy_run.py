"""The production launcher against the real PostgreSQL server and the emulator: a login the
stack's database logins function made (deploy/database_logins.py) is one the service
migrates with, through the URL the launcher builds; the launcher reads no master login."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg
import pytest

from deploy.database_logins import connect, ensure_login
from deploy.run import database_url, launch, main, prepare, secret_settings
from devstack.processes import ROOT
from petshore.contract import CART, CATALOG, MODEL_WORKER, ORDERS, SEND_MAIL, Env
from tests.conftest import POSTGRES
from tests.helpers import emulator_client


def test_a_login_the_logins_function_made_migrates_with_the_url_the_launcher_builds(
    login: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = urlsplit(POSTGRES)
    # The function's settings for the local server, which speaks no TLS.
    monkeypatch.setenv("HOST", server.hostname or "127.0.0.1")
    monkeypatch.setenv("PORT", str(server.port or 5432))
    monkeypatch.setenv("TLS", "false")
    master = connect(server.username or "postgres", server.password or "", "postgres")
    try:
        ensure_login(master, login)
        login = {**login, "password": secrets.token_urlsafe(24)}  # the secret was rotated
        ensure_login(master, login)
    finally:
        master.close()

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


@pytest.mark.parametrize("argv", [["payments"], ["orders", "serve"], ["cart", "send-mail"], []])
def test_an_unknown_name_or_worker_is_refused_with_the_known_ones(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert str(refused.value) == (
        "usage: python -m deploy.run {catalog|cart|orders|accounts|modelworker} [worker]"
    )


def test_boot_learns_the_workers_that_run_beside_a_service(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--workers", ORDERS.name])
    assert capsys.readouterr().out.split() == [SEND_MAIL]
    main(["--workers", CART.name])
    assert capsys.readouterr().out.strip() == ""


def test_a_worker_beside_a_service_gets_its_settings_and_migrates_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_migration(*args: object, **kwargs: object) -> None:
        raise AssertionError("the service's own unit migrates its database")

    monkeypatch.setattr("deploy.run.subprocess.run", no_migration)
    monkeypatch.setattr("deploy.run.prepare", lambda service, env: {**env, "prepared": "yes"})
    command, prepared = launch(ORDERS.name, {"PATH": "/usr/bin:/bin"}, SEND_MAIL)
    assert command == [sys.executable, "-m", ORDERS.module, SEND_MAIL]
    assert prepared["prepared"] == "yes"


def test_a_service_reads_its_own_login_and_never_the_master_one(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    client = emulator_client(moto_url, "secretsmanager")
    login = {"username": "catalog", "dbname": "catalog", "password": "p@ss"}
    suffix = secrets.token_hex(4)
    arn = client.create_secret(Name=f"catalog-login-{suffix}", SecretString=json.dumps(login))[
        "ARN"
    ]
    token = client.create_secret(Name=f"admin-{suffix}", SecretString="the-token")["ARN"]
    read: list[str] = []
    real = client.get_secret_value

    def spy(**kwargs: str) -> dict[str, object]:
        read.append(kwargs["SecretId"])
        return dict(real(**kwargs))

    monkeypatch.setattr(client, "get_secret_value", spy)
    monkeypatch.setattr("deploy.run.boto3.client", lambda *args, **kwargs: client)
    env = {
        Env.AWS_REGION: "us-east-1",
        Env.DB_HOST: "db.internal",
        Env.DB_PORT: "5432",
        Env.DB_SECRET_ARN: arn,
        Env.ADMIN_TOKEN_SECRET_ARN: token,
    }
    prepared = prepare(CATALOG, env)
    assert prepared[CATALOG.database_url_variable] == (
        "postgres://catalog:p%40ss@db.internal:5432/catalog?ssl=true"
    )
    assert sorted(read) == sorted([token, arn])
