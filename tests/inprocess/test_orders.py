"""The orders service alone, in this process, on PostgreSQL, with no peer to call: what it
answers by itself, and that a peer it cannot reach is a clear 503, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sanic import Sanic

from devstack.processes import free_port
from petshore.contract import ORDERS, Env
from petshore.db import apply_migrations, tortoise_config
from services.orders.app import create_app
from services.orders.settings import Settings
from tests.helpers import ADMIN
from tests.inprocess.conftest import call

CHECKOUT = {
    "cart_id": "0" * 22,
    "email": "me@example.com",
    "payment": {"token": "tok_visa"},
    "shipping_address": {
        "name": "Me",
        "line1": "1 Main St",
        "city": "Portland",
        "postal_code": "97201",
        "country": "US",
    },
}


@pytest.fixture(scope="module")
def orders(service_env: dict[str, str], own_database: str) -> Iterator[Sanic]:
    nobody = f"http://127.0.0.1:{free_port()}"  # a port nothing listens on
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(Env.ORDERS_DATABASE_URL, own_database)
        patch.setenv(Env.CATALOG_URL, nobody)
        patch.setenv(Env.CART_URL, nobody)
        patch.setenv(Env.UPSTREAM_TIMEOUT_SECONDS, "1")
        settings = Settings.from_env()
        asyncio.run(apply_migrations(tortoise_config(settings.database_url, ORDERS.module)))
        yield create_app(settings)


def test_what_it_answers_alone(orders: Sanic) -> None:
    stock = call(orders, "get", "/api/orders/inventory", params={"skus": "PS-A1,PS-B2"})
    assert stock.json == {
        "items": [{"sku": "PS-A1", "available": 0}, {"sku": "PS-B2", "available": 0}]
    }
    assert call(orders, "get", "/api/orders/orders/ord_nope").status_code == 404
    assert call(orders, "get", "/api/orders/health").json == {"status": "ok"}


def test_what_it_refuses_before_calling_anyone(orders: Sanic) -> None:
    cases = [
        ("post", "/api/orders/orders", {"json": CHECKOUT}, 400),  # no Idempotency-Key
        ("post", "/api/orders/orders", {"json": {}, "headers": {"Idempotency-Key": "k1"}}, 400),
        ("put", "/api/orders/inventory/no sku", {"json": {"available": 1}, "headers": ADMIN}, 404),
        ("put", "/api/orders/inventory/PS-A1", {"json": {"available": -1}, "headers": ADMIN}, 400),
        ("put", "/api/orders/inventory/PS-A1", {"json": {"available": 1}}, 401),
        ("get", "/api/orders/inventory", {"params": {"skus": "bad sku"}}, 400),
    ]
    for method, path, options, status in cases:
        answer = call(orders, method, path, **options)
        assert answer.status_code == status, (path, options, answer.text)
        assert answer.json["error"]["message"]


def test_a_peer_it_cannot_reach_is_a_503(orders: Sanic) -> None:
    checkout = call(
        orders, "post", "/api/orders/orders", json=CHECKOUT, headers={"Idempotency-Key": "k2"}
    )
    stock = call(orders, "put", "/api/orders/inventory/PS-A1", json={"available": 3}, headers=ADMIN)
    for answer in (checkout, stock):
        assert answer.status_code == 503, answer.text
        assert answer.json["error"]["code"] == "unavailable"
