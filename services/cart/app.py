"""The cart's app factory: `python -m services.cart serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import CART
from petshore.service import service_app
from petshore.tables import DynamoTable, ping
from services.cart.routes import carts
from services.cart.settings import Settings


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()

    async def open_table(stack: AsyncExitStack) -> DynamoTable:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        return DynamoTable(dynamodb, settings.carts_table, settings.common.aws_timeout)

    return service_app(
        CART,
        settings,
        routes=carts,
        open_resources=open_table,
        check=ping,
        dependency_errors=(BotoCoreError, ClientError),
    )
