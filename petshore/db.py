"""Tortoise ORM set-up shared by the services that own a relational database."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
from sanic import Sanic
from tortoise import Tortoise
from tortoise.contrib.sanic import register_tortoise
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError
from tortoise.migrations.api import migrate


def tortoise_config(db_url: str, package: str) -> dict[str, Any]:
    """One app, `models`, whose models live in `<package>.models` and migrations in
    `<package>.migrations`."""
    return {
        "connections": {"default": db_url},
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
