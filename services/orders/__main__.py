from __future__ import annotations

import argparse

from petshore.cli import main
from petshore.contract import ORDERS
from petshore.db import apply_migrations, tortoise_config
from petshore.demo import add_file_argument
from services.orders.app import create_app
from services.orders.demo import load_demo
from services.orders.settings import Settings


async def migrate(args: argparse.Namespace) -> None:
    await apply_migrations(tortoise_config(Settings.from_env().database_url, ORDERS.module))


async def demo(args: argparse.Namespace) -> None:
    print(f"demo catalog: {await load_demo(Settings.from_env(), args.file)} new")


if __name__ == "__main__":
    main(ORDERS, create_app, {"migrate": (migrate, None), "load-demo": (demo, add_file_argument)})
