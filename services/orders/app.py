"""The orders service's app factory: `python -m services.orders serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from sanic import Sanic

from petshore.contract import ORDERS
from petshore.db import ping
from petshore.service import service_app
from petshore.upstream import ServiceClient
from services.orders import reconciler
from services.orders.payments import PaymentProvider, TestProvider
from services.orders.routes import orders
from services.orders.settings import Settings
from services.orders.settlement import Peers
from services.orders.stripe_payments import StripeProvider


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

    async def open_peers(stack: AsyncExitStack) -> Peers:
        timeout = settings.upstream_timeout
        peers = Peers(
            cart=ServiceClient("cart", settings.cart_url, timeout),
            catalog=ServiceClient("catalog", settings.catalog_url, timeout),
            payments=payment_provider(settings),
        )
        for closing in (peers.cart, peers.catalog, peers.payments):
            stack.push_async_callback(closing.close)
        return peers

    async def reconcile(peers: Peers) -> None:
        await reconciler.run(
            peers,
            interval=settings.reconcile_interval,
            older_than=settings.reconcile_after,
            lease=settings.checkout_lease,
        )

    async def reach_database(peers: Peers) -> None:
        await ping()

    return service_app(
        ORDERS,
        settings,
        routes=orders,
        open_resources=open_peers,
        check=reach_database,
        database_url=settings.database_url,
        background=[reconcile],
        accounts_url=settings.accounts_url,
        upstream_timeout=settings.upstream_timeout,
    )
