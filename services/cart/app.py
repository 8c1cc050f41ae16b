"""The cart's app factory: `python -m services.cart serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Request, Sanic

from petshore.aws import open_client
from petshore.web import health_blueprint, setup_common
from services.cart.routes import carts
from services.cart.settings import Settings
from services.cart.store import CartStore


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic("cart")
    app.ctx.settings = settings
    app.config.OAS_URL_PREFIX = "/api/cart/docs"
    app.ext.openapi.describe("Pet Shore 3D cart", version="1")
    setup_common(app, "cart", settings.common.log_level, (BotoCoreError, ClientError))

    @app.before_server_start
    async def open_aws(app: Sanic) -> None:
        app.ctx.aws = AsyncExitStack()
        dynamodb = await open_client(app.ctx.aws, "dynamodb", settings.common)
        app.ctx.carts = CartStore(dynamodb, settings.carts_table)

    @app.after_server_stop
    async def close_aws(app: Sanic) -> None:
        await app.ctx.aws.aclose()

    async def check(request: Request) -> None:
        await request.app.ctx.carts.ping()

    app.blueprint(health_blueprint("cart", check))
    app.blueprint(carts)
    return app
