from __future__ import annotations

import argparse

from petshore.cli import main
from petshore.contract import ACCOUNTS, SESSIONS
from petshore.db import apply_migrations, tortoise_config
from petshore.tables import create_table
from services.accounts.app import create_app
from services.accounts.settings import Settings


async def migrate(args: argparse.Namespace) -> None:
    await apply_migrations(tortoise_config(Settings.from_env().database_url, ACCOUNTS.module))


async def create_sessions_table(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    await create_table(settings.common, SESSIONS, settings.sessions_table)


if __name__ == "__main__":
    main(
        ACCOUNTS,
        create_app,
        {"migrate": (migrate, None), "create-table": (create_sessions_table, None)},
    )
