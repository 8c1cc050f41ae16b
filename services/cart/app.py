"""The cart's app factory: `python -m services.cart serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Request, Sanic

from petshore.aws import open_client
from petshore.openapi import docs_blueprint
from petshore.web import health_blueprint, setup_common
from services.cart.routes import carts
from services.cart.settings import Settings
from services.cart.store import CartStore


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic("cart")
    app.ctx.settings = settings
    setup_common(app, "cart", settings.common, (BotoCoreError, ClientError))

    @app.before_server_start
    async def open_aws(app: Sanic) -> None:
        app.ctx.aws = AsyncExitStack()
        dynamodb = await open_client(app.ctx.aws, "dynamodb", settings.common)
        app.ctx.carts = CartStore(dynamodb, settings.carts_table, settings.common.aws_timeout)

    @app.after_server_stop
    async def close_aws(app: Sanic) -> None:
        await app.ctx.aws.aclose()

    async def check(request: Request) -> None:
        await request.app.ctx.carts.ping()

    app.blueprint(health_blueprint("cart", check))
    app.blueprint(docs_blueprint("cart", "Pet Shore 3D cart"))
    app.blueprint(carts)
    return app
