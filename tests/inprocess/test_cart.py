"""The cart alone, in this process, on the emulator's DynamoDB: its answers and its errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import CARTS
from petshore.tables import ensure_table
from services.cart.app import create_app
from services.cart.settings import Settings
from tests.inprocess.conftest import call


async def _prepare(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        await ensure_table(dynamodb, CARTS, settings.carts_table)


@pytest.fixture(scope="module")
def cart(service_env: dict[str, str]) -> Iterator[Sanic]:
    settings = Settings.from_env()
    asyncio.run(_prepare(settings))
    yield create_app(settings)


def test_a_cart_keeps_its_lines(cart: Sanic) -> None:
    created = call(cart, "post", "/api/cart/carts")
    assert created.status_code == 201
    path = f"/api/cart/carts/{created.json['cart_id']}"
    assert call(cart, "put", f"{path}/items/PS-TOY-0001", json={"quantity": 2}).status_code == 200
    call(cart, "put", f"{path}/items/PS-BED-0001", json={"quantity": 1})
    call(cart, "put", f"{path}/items/PS-TOY-0001", json={"quantity": 0})
    assert call(cart, "get", path).json["items"] == [{"sku": "PS-BED-0001", "quantity": 1}]


def test_what_the_cart_refuses(cart: Sanic) -> None:
    path = f"/api/cart/carts/{call(cart, 'post', '/api/cart/carts').json['cart_id']}"
    cases = [
        ("put", f"{path}/items/not-a-sku", {"quantity": 1}, 400),
        ("put", f"{path}/items/PS-TOY-0001", {"quantity": 100}, 400),
        ("put", f"{path}/items/PS-TOY-0001", {"quantity": "2"}, 400),
        ("get", "/api/cart/carts/0000000000000000000000", None, 404),
    ]
    for method, target, body, status in cases:
        answer = call(cart, method, target, **({"json": body} if body is not None else {}))
        assert answer.status_code == status, (target, body, answer.text)
        assert answer.json["error"]["message"]
