"""Tortoise ORM set-up shared by the services that own a relational database."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import boto3
from sanic import Sanic
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.contrib.sanic import register_tortoise
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError
from tortoise.migrations import operations as ops
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


def on_postgres(forward: str, backward: str) -> ops.RunPython:
    """A migration step that runs `forward` (undone by `backward`) on PostgreSQL only: what
    SQLite cannot have, such as a PL/pgSQL function, which the code calls on PostgreSQL only."""

    def step(sql: str) -> Any:
        async def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.client.capabilities.dialect == "postgres":
                await schema_editor.client.execute_script(sql)

        return run

    return ops.RunPython(step(forward), step(backward))


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


# Raw statements, for the hot paths where building a query through the ORM cost more CPU than
# the database's answer (bench/http_load.py). They run on both databases a service may use.


class Statement:
    """Parameters of a raw statement in numbered placeholders, each database's kind."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def param(self, value: Any, postgres_type: str = "") -> str:
        self.values.append(value)
        if self.dialect == "postgres":
            return f"${len(self.values)}{postgres_type}"
        return f"?{len(self.values)}"

    def assignments(self, changes: Mapping[str, Any]) -> str:
        return ", ".join(f'"{column}" = {self.param(value)}' for column, value in changes.items())

    def matching(self, where: Mapping[str, Any]) -> str:
        """Each column equal to its value (None: NULL)."""
        return " AND ".join(
            f'"{column}" IS NULL' if value is None else f'"{column}" = {self.param(value)}'
            for column, value in where.items()
        )


def columns(names: Iterable[str]) -> str:
    """Column names, quoted: some (`key`) are keywords of SQLite's."""
    return ", ".join(f'"{name}"' for name in names)


async def insert(connection: BaseDBAsyncClient, table: str, rows: list[Mapping[str, Any]]) -> None:
    """`rows` (all with the same columns) into `table`, in one statement."""
    sql = Statement(connection.capabilities.dialect)
    await connection.execute_query(_insert_sql(sql, table, rows), sql.values)


async def insert_new(
    connection: BaseDBAsyncClient,
    table: str,
    rows: list[Mapping[str, Any]],
    unless_taken: str,
    returning: str,
) -> list[dict[str, Any]]:
    """`rows` into `table` in one statement, but for those whose `unless_taken` (a unique
    column) value is there already; for each row that went in, `returning` (SQL expressions,
    which may read other tables: a read that costs no round trip of its own)."""
    sql = Statement(connection.capabilities.dialect)
    # Rows from RETURNING, not the status: asyncpg's status of an INSERT starts with an OID,
    # which Tortoise reads as the count.
    skip = f' ON CONFLICT ("{unless_taken}") DO NOTHING RETURNING {returning}'
    return await connection.execute_query_dict(_insert_sql(sql, table, rows) + skip, sql.values)


def _insert_sql(sql: Statement, table: str, rows: Sequence[Mapping[str, Any]]) -> str:
    listed = ", ".join(
        "(" + ", ".join(sql.param(value) for value in row.values()) + ")" for row in rows
    )
    return f'INSERT INTO "{table}" ({columns(rows[0])}) VALUES {listed}'


def insert_clauses(
    sql: Statement, tables: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]
) -> str:
    """Rows into several tables, in this order, as PostgreSQL's data-modifying WITH clauses
    (`_0`, `_1`, ...) of one statement: a row may refer to one inserted before it, as foreign
    keys are checked when the statement ends."""
    return ", ".join(
        f"_{i} AS ({_insert_sql(sql, table, rows)})" for i, (table, rows) in enumerate(tables)
    )


def json_value(value: Any) -> Any:
    """A JSON column as the driver gave it: text on asyncpg (jsonb) and on SQLite."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def moment(value: datetime | str | None) -> datetime | None:
    """A timestamp column as the driver gave it: a datetime on asyncpg, ISO text on SQLite."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# One table's update: the table, the changes, and the rows they go to (each column equal to
# its value).
Change = tuple[str, Mapping[str, Any], Mapping[str, Any]]


def update_sql(sql: Statement, change: Change) -> str:
    """`change` as an UPDATE statement, its values added to `sql`'s."""
    table, changes, where = change
    return f'UPDATE "{table}" SET {sql.assignments(changes)} WHERE {sql.matching(where)}'


async def update(
    connection: BaseDBAsyncClient,
    table: str,
    changes: Mapping[str, Any],
    where: Mapping[str, Any],
) -> int:
    """Set `changes` on the rows `where` matches; how many there were."""
    sql = Statement(connection.capabilities.dialect)
    query = update_sql(sql, (table, changes, where))
    changed, _ = await connection.execute_query(query, sql.values)
    return changed


async def update_together(connection: BaseDBAsyncClient, updates: list[Change]) -> list[int]:
    """Several updates, each independent of the others; how many rows each changed. On
    PostgreSQL in one statement (one round trip: each a data-modifying WITH clause, all
    reading the same snapshot), on SQLite one after the other. Atomic on PostgreSQL."""
    if connection.capabilities.dialect != "postgres":
        return [await update(connection, *change) for change in updates]
    sql = Statement("postgres")
    clauses = ", ".join(
        f"_{i} AS ({update_sql(sql, change)} RETURNING 1)" for i, change in enumerate(updates)
    )
    counts = ", ".join(f"(SELECT count(*) FROM _{i}) AS _{i}" for i in range(len(updates)))
    [row] = await connection.execute_query_dict(f"WITH {clauses} SELECT {counts}", sql.values)
    return [int(row[f"_{i}"]) for i in range(len(updates))]
