"""The cart alone, in this process, on the emulator's DynamoDB: its answers and its errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import CARTS, Env
from petshore.tables import ensure_table
from services.cart import rules
from services.cart.app import create_app
from services.cart.settings import Settings
from tests.helpers import emulator_client
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


@pytest.fixture
def counted_cart(cart: Sanic) -> tuple[Sanic, list[str]]:
    """A cart app and the name of every call its own DynamoDB client makes, as botocore
    announces it before sending (its event system, not a patch: the call still goes to the
    emulator)."""
    calls: list[str] = []
    app = create_app(cart.ctx.settings)

    def seen(model: Any, **_: Any) -> None:
        calls.append(model.name)

    @app.before_server_start
    async def listen(app: Sanic) -> None:
        app.ctx.resources.client.meta.events.register("before-call.dynamodb", seen)

    return app, calls


@pytest.fixture(scope="module")
def carts_table(cart: Sanic, service_env: dict[str, str]) -> Any:
    """The carts table as another writer sees it (a boto3 client of the emulator)."""
    table = cart.ctx.settings.carts_table
    client = emulator_client(service_env[Env.AWS_ENDPOINT_URL], "dynamodb")
    return lambda **kwargs: client.put_item(TableName=table, **kwargs)


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


def test_each_common_cart_request_is_one_dynamodb_call(
    counted_cart: tuple[Sanic, list[str]],
) -> None:
    cart, calls = counted_cart

    def calls_of(method: str, path: str, **kwargs: Any) -> list[str]:
        calls.clear()
        answer = call(cart, method, path, **kwargs)
        assert answer.status_code in (200, 201), answer.text
        return list(calls)

    assert calls_of("post", "/api/cart/carts") == ["PutItem"]
    path = f"/api/cart/carts/{call(cart, 'post', '/api/cart/carts').json['cart_id']}"
    assert calls_of("put", f"{path}/items/PS-TOY-0001", json={"quantity": 2}) == ["UpdateItem"]
    assert calls_of("put", f"{path}/items/PS-BED-0001", json={"quantity": 1}) == ["UpdateItem"]
    assert calls_of("put", f"{path}/items/PS-TOY-0001", json={"quantity": 5}) == ["UpdateItem"]
    assert calls_of("delete", f"{path}/items/PS-BED-0001") == ["UpdateItem"]
    assert calls_of("get", path) == ["GetItem"]
    assert call(cart, "get", path).json["items"] == [{"sku": "PS-TOY-0001", "quantity": 5}]


def _item(cart_id: str, lines: dict[str, Any], expires: int) -> dict[str, Any]:
    return {
        CARTS.hash_key: {"S": cart_id},
        "version": {"N": "7"},
        CARTS.ttl_attribute: {"N": str(expires)},
        **lines,
    }


def test_a_full_cart_takes_no_new_product_but_changes_its_own(
    cart: Sanic, carts_table: Any
) -> None:
    cart_id = rules.new_cart_id()
    skus = [f"PS-FULL-{i:04d}" for i in range(rules.MAX_LINES)]
    carts_table(
        Item=_item(
            cart_id,
            {
                "quantities": {"M": {sku: {"N": "1"} for sku in skus}},
                "added": {"M": {sku: {"N": str(i)} for i, sku in enumerate(skus)}},
            },
            rules.expires_at(time.time()),
        )
    )
    path = f"/api/cart/carts/{cart_id}/items"
    refused = call(cart, "put", f"{path}/PS-ONE-MORE", json={"quantity": 1})
    assert refused.status_code == 400
    assert refused.json["error"]["details"]["fields"] == ["sku"]
    changed = call(cart, "put", f"{path}/{skus[-1]}", json={"quantity": 3})
    assert changed.status_code == 200
    assert [line["sku"] for line in changed.json["items"]] == skus
    assert changed.json["items"][-1]["quantity"] == 3
    assert call(cart, "delete", f"{path}/{skus[0]}").status_code == 200
    taken = call(cart, "put", f"{path}/PS-ONE-MORE", json={"quantity": 1})
    assert taken.status_code == 200
    assert taken.json["items"][-1] == {"sku": "PS-ONE-MORE", "quantity": 1}


def test_a_cart_kept_as_a_list_of_lines_is_read_and_changed(cart: Sanic, carts_table: Any) -> None:
    """Carts written before lines were kept as maps: what a rolling deploy meets."""
    cart_id = rules.new_cart_id()
    listed = [("PS-B-0001", 2), ("PS-A-0001", 1)]
    carts_table(
        Item=_item(
            cart_id,
            {
                "items": {
                    "L": [
                        {"M": {"sku": {"S": sku}, "quantity": {"N": str(q)}}} for sku, q in listed
                    ]
                }
            },
            rules.expires_at(time.time()),
        )
    )
    path = f"/api/cart/carts/{cart_id}"
    expected = [{"sku": sku, "quantity": q} for sku, q in listed]
    assert call(cart, "get", path).json["items"] == expected
    changed = call(cart, "put", f"{path}/items/PS-C-0001", json={"quantity": 4})
    assert changed.status_code == 200
    assert changed.json["items"] == [*expected, {"sku": "PS-C-0001", "quantity": 4}]
    assert call(cart, "get", path).json["items"] == changed.json["items"]


def test_an_expired_cart_takes_no_change(cart: Sanic, carts_table: Any) -> None:
    cart_id = rules.new_cart_id()
    empty = {"quantities": {"M": {}}, "added": {"M": {}}}
    carts_table(Item=_item(cart_id, empty, int(time.time()) - 1))
    answer = call(cart, "put", f"/api/cart/carts/{cart_id}/items/PS-TOY-0001", json={"quantity": 1})
    assert answer.status_code == 404
