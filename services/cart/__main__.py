from __future__ import annotations

import argparse

from petshore.cli import main
from petshore.contract import CART, CARTS
from petshore.tables import create_table
from services.cart.app import create_app
from services.cart.settings import Settings


async def create_carts_table(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    await create_table(settings.common, CARTS, settings.carts_table)


if __name__ == "__main__":
    main(CART, create_app, {"create-table": (create_carts_table, None)})
