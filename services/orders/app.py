"""The orders service's app factory: `python -m services.orders serve`."""

from __future__ import annotations

from sanic import Request, Sanic
from tortoise.exceptions import DBConnectionError, OperationalError

from petshore.db import ping, register_database, tortoise_config
from petshore.upstream import ServiceClient
from petshore.web import health_blueprint, setup_common
from services.orders.checkout import Peers
from services.orders.payments import provider_named
from services.orders.routes import orders
from services.orders.settings import Settings

PACKAGE = "services.orders"


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic("orders")
    app.ctx.settings = settings
    app.config.OAS_URL_PREFIX = "/api/orders/docs"
    app.ext.openapi.describe("Pet Shore 3D orders", version="1")
    setup_common(app, "orders", settings.common.log_level, (DBConnectionError, OperationalError))
    register_database(app, tortoise_config(settings.database_url, PACKAGE))
    payments = provider_named(settings.payment_provider)

    @app.before_server_start
    async def open_peers(app: Sanic) -> None:
        app.ctx.peers = Peers(
            cart=ServiceClient("cart", settings.cart_url, settings.upstream_timeout),
            catalog=ServiceClient("catalog", settings.catalog_url, settings.upstream_timeout),
            payments=payments,
        )

    @app.after_server_stop
    async def close_peers(app: Sanic) -> None:
        await app.ctx.peers.cart.close()
        await app.ctx.peers.catalog.close()

    async def check(request: Request) -> None:
        await ping()

    app.blueprint(health_blueprint("orders", check))
    app.blueprint(orders)
    return app
