from __future__ import annotations

import argparse
from contextlib import AsyncExitStack

from petshore.aws import open_client
from petshore.cli import main
from petshore.contract import ACCOUNTS, SESSIONS
from petshore.db import apply_migrations, tortoise_config
from petshore.tables import ensure_table
from services.accounts.app import create_app
from services.accounts.settings import Settings


async def migrate(args: argparse.Namespace) -> None:
    await apply_migrations(tortoise_config(Settings.from_env().database_url, ACCOUNTS.module))


async def create_table(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with AsyncExitStack() as stack:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        await ensure_table(dynamodb, SESSIONS, settings.sessions_table)


if __name__ == "__main__":
    main(
        ACCOUNTS,
        create_app,
        {"migrate": (migrate, None), "create-table": (create_table, None)},
    )
