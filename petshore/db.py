"""Tortoise ORM set-up shared by the services that own a relational database."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from typing import Any

import asyncpg
import boto3
from sanic import Sanic
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.contrib.sanic import register_tortoise
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError
from tortoise.migrations.api import migrate

from petshore.contract import Env


def tortoise_config(db_url: str, package: str) -> dict[str, Any]:
    """One app, `models`, whose models live in `<package>.models` and migrations in
    `<package>.migrations`."""
    return {
        "connections": {"default": _connection(db_url)},
        "apps": {
            "models": {
                "models": [f"{package}.models"],
                "default_connection": "default",
                "migrations": f"{package}.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


class SecretPassword:
    """The current password of a login secret, which asyncpg asks for each time it opens a
    connection: once Secrets Manager has rotated it, new connections use the new one and the
    open ones carry on, with no restart."""

    def __init__(self, secret_arn: str, region: str | None) -> None:
        self.secret_arn = secret_arn
        self.client = boto3.client("secretsmanager", region_name=region)

    async def __call__(self) -> str:
        found = await asyncio.to_thread(
            self.client.get_secret_value, SecretId=self.secret_arn, VersionStage="AWSCURRENT"
        )
        return str(json.loads(found["SecretString"])["password"])


async def keep_session(connection: asyncpg.Connection) -> None:
    """What a pooled connection needs before its next use, beyond the rollback of a
    transaction left open that asyncpg always does: nothing. asyncpg's default reset (RESET ALL,
    UNLISTEN *, CLOSE ALL, advisory unlocks) is a round trip on every release, and Tortoise
    takes a connection from the pool for each statement; no service sets session state,
    listens, keeps a cursor or takes an advisory lock."""


def _connection(db_url: str) -> str | dict[str, Any]:
    """`db_url`'s settings: on PostgreSQL with `keep_session` as its pool's reset, and on an
    instance whose login rotates (the stack names its secret in PETSHORE_DB_SECRET_ARN), the
    password read from the secret."""
    config = dict(expand_db_url(db_url))
    if "asyncpg" not in config["engine"]:
        return db_url
    credentials = {**config["credentials"], "reset": keep_session}
    secret_arn = os.environ.get(Env.DB_SECRET_ARN)
    if secret_arn:
        credentials["password"] = SecretPassword(secret_arn, os.environ.get(Env.AWS_REGION))
    return {**config, "credentials": credentials}


def register_database(app: Sanic, config: dict[str, Any]) -> None:
    register_tortoise(app, config=config)


async def apply_migrations(config: dict[str, Any]) -> None:
    """Bring the schema up to the newest migration (run before the service starts)."""
    try:
        await migrate(config=config)
    finally:
        await Tortoise.close_connections()


async def ping() -> None:
    await Tortoise.get_connection("default").execute_query("SELECT 1")


# What a lost or restarting database raises, through Tortoise or straight from the driver
# (asyncpg's `InterfaceError` and `CannotConnectNowError` are not wrapped): `503`, not `500`.
# asyncpg's `InternalClientError` ("cannot switch to state ...") is what a pooled connection
# that the server closed mid-query raises when it is reset (seen in bench/faults.py).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DBConnectionError,
    OperationalError,
    TransactionManagementError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    sqlite3.Error,
)
