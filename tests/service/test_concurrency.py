"""Consistency under concurrency, against the services themselves on PostgreSQL and moto:
stock is never oversold, retries never double an order, cart updates never lose a line."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import httpx

from devstack.stack import Stack
from petshore.contract import CART, ORDERS
from tests.helpers import checkout_body, create_product, new_cart, set_stock

BUYERS = 60
UNITS = 5


def test_simultaneous_checkouts_sell_exactly_the_stock(gateway: httpx.Client, stack: Stack) -> None:
    sku = create_product(gateway)["sku"]
    set_stock(gateway, sku, UNITS)
    carts = [new_cart(gateway, {sku: 1}) for _ in range(BUYERS)]

    async def buy_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.urls[ORDERS.name][0], timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/orders/orders",
                        json=checkout_body(cart_id),
                        headers={"Idempotency-Key": secrets.token_hex(8)},
                    )
                    for cart_id in carts
                )
            )

    responses = asyncio.run(buy_all())
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: UNITS, 409: BUYERS - UNITS}, statuses
    assert all(
        r.json()["error"]["code"] == "out_of_stock" for r in responses if r.status_code == 409
    )
    stock = gateway.get("/api/orders/inventory", params={"skus": sku}).json()["items"][0]
    assert stock["available"] == 0
    order_ids = {r.json()["order_id"] for r in responses if r.status_code == 201}
    assert len(order_ids) == UNITS


def test_simultaneous_retries_of_one_key_make_one_order(
    gateway: httpx.Client, stack: Stack
) -> None:
    sku = create_product(gateway)["sku"]
    set_stock(gateway, sku, 10)
    cart_id = new_cart(gateway, {sku: 3})
    key = {"Idempotency-Key": "retry-" + secrets.token_hex(8)}

    async def retry_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.urls[ORDERS.name][0], timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post("/api/orders/orders", json=checkout_body(cart_id), headers=key)
                    for _ in range(20)
                )
            )

    responses = asyncio.run(retry_all())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_id"] for r in responses}) == 1
    stock = gateway.get("/api/orders/inventory", params={"skus": sku}).json()["items"][0]
    assert stock["available"] == 7


def test_simultaneous_cart_updates_lose_nothing(gateway: httpx.Client, stack: Stack) -> None:
    cart_id = new_cart(gateway)
    skus = [f"C-{i:03d}" for i in range(30)]

    async def add_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.urls[CART.name][0], timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.put(f"/api/cart/carts/{cart_id}/items/{sku}", json={"quantity": 2})
                    for sku in skus
                )
            )

    responses = asyncio.run(add_all())
    assert {r.status_code for r in responses} <= {200, 409}
    succeeded = {sku for sku, r in zip(skus, responses, strict=True) if r.status_code == 200}
    cart = gateway.get(f"/api/cart/carts/{cart_id}").json()
    assert {i["sku"] for i in cart["items"]} == succeeded
    assert len(succeeded) >= 25, "conditional writes should retry through ordinary contention"
