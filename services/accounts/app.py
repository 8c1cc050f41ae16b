"""The accounts service's app factory: `python -m services.accounts serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import ACCOUNTS
from petshore.db import ping
from petshore.service import service_app
from petshore.tables import DynamoTable
from petshore.tables import ping as ping_table
from petshore.upstream import ServiceClient
from services.accounts.passwords import Passwords
from services.accounts.routes import accounts
from services.accounts.sessions import Accounts
from services.accounts.settings import Settings


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()

    async def open_accounts(stack: AsyncExitStack) -> Accounts:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        cart = ServiceClient("cart", settings.cart_url, settings.upstream_timeout)
        stack.push_async_callback(cart.close)
        passwords = Passwords(settings.password_hashers)
        await passwords.start()
        table = DynamoTable(dynamodb, settings.sessions_table, settings.common.aws_timeout)
        return Accounts(settings, table, passwords, cart)

    async def reach_stores(resources: Accounts) -> None:
        await ping()
        await ping_table(resources.table)

    return service_app(
        ACCOUNTS,
        settings,
        routes=accounts,
        open_resources=open_accounts,
        check=reach_stores,
        database_url=settings.database_url,
        dependency_errors=(BotoCoreError, ClientError),
    )
