from __future__ import annotations

import argparse
from contextlib import AsyncExitStack

from petshore.aws import open_client
from petshore.cli import main
from petshore.contract import CART, CARTS
from petshore.tables import ensure_table
from services.cart.app import create_app
from services.cart.settings import Settings


async def create_table(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with AsyncExitStack() as stack:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        await ensure_table(dynamodb, CARTS, settings.carts_table)


if __name__ == "__main__":
    main(CART, create_app, {"create-table": (create_table, None)})
