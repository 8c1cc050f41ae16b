"""The orders service's app factory: `python -m services.orders serve`."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from sanic import Request, Sanic

from petshore.db import DATABASE_ERRORS, ping, register_database, tortoise_config
from petshore.openapi import docs_blueprint
from petshore.upstream import ServiceClient
from petshore.web import health_blueprint, setup_common
from services.orders import reconciler
from services.orders.payments import PaymentProvider, TestProvider
from services.orders.routes import orders
from services.orders.settings import Settings
from services.orders.settlement import Peers
from services.orders.stripe_payments import StripeProvider

PACKAGE = "services.orders"


def payment_provider(settings: Settings) -> PaymentProvider:
    if settings.stripe is None:
        return TestProvider()
    return StripeProvider(
        settings.stripe.secret_key,
        settings.stripe.webhook_secret,
        api_base=settings.stripe.api_base,
        timeout=settings.upstream_timeout,
    )


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic("orders")
    app.ctx.settings = settings
    setup_common(app, "orders", settings.common, DATABASE_ERRORS)
    register_database(app, tortoise_config(settings.database_url, PACKAGE))

    @app.before_server_start
    async def open_peers(app: Sanic) -> None:
        app.ctx.peers = Peers(
            cart=ServiceClient("cart", settings.cart_url, settings.upstream_timeout),
            catalog=ServiceClient("catalog", settings.catalog_url, settings.upstream_timeout),
            payments=payment_provider(settings),
        )

    @app.after_server_start
    async def start_reconciler(app: Sanic) -> None:
        app.ctx.reconciler = asyncio.create_task(
            reconciler.run(
                app.ctx.peers,
                interval=settings.reconcile_interval,
                older_than=settings.reconcile_after,
                lease=settings.checkout_lease,
            )
        )

    @app.before_server_stop
    async def stop_reconciler(app: Sanic) -> None:
        app.ctx.reconciler.cancel()
        with suppress(asyncio.CancelledError):
            await app.ctx.reconciler

    @app.after_server_stop
    async def close_peers(app: Sanic) -> None:
        await app.ctx.peers.cart.close()
        await app.ctx.peers.catalog.close()
        await app.ctx.peers.payments.close()

    async def check(request: Request) -> None:
        await ping()

    app.blueprint(health_blueprint("orders", check))
    app.blueprint(docs_blueprint("orders", "Pet Shore 3D orders"))
    app.blueprint(orders)
    return app
