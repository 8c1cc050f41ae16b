"""What the service tests share."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import asyncpg
import pytest

from tests.conftest import POSTGRES


@pytest.fixture
def login() -> Iterator[dict[str, str]]:
    """A service's database login as its secret holds it; its role and database are dropped
    afterwards."""
    name = f"petshore_login_{secrets.token_hex(4)}"
    yield {"username": name, "dbname": name, "password": secrets.token_urlsafe(24)}

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'DROP ROLE IF EXISTS "{name}"')
        finally:
            await conn.close()

    asyncio.run(drop())
