"""The cart's HTTP routes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from petshore.contract import CART, SKU_PATTERN
from petshore.errors import InvalidRequest
from petshore.openapi import operation
from petshore.responses import json
from petshore.tables import DynamoTable
from petshore.web import parse_body
from services.cart import store, views
from services.cart.schemas import Merge, SetQuantity

carts = Blueprint("cart_carts", url_prefix=CART.path_prefix.rstrip("/"))


def _table(request: Request) -> DynamoTable:
    return request.app.ctx.resources


def _sku(sku: str) -> str:
    # The contract's one exception to petshore.web.product_sku: the cart checks a SKU's form
    # (400) and leaves whether the catalog has it to checkout.
    if not SKU_PATTERN.match(sku):
        raise InvalidRequest(f"{sku!r} is not a SKU", {"fields": ["sku"]})
    return sku


@carts.post("/carts")
@operation("Create an empty cart", answers={201: views.Cart})
async def create_cart(request: Request) -> HTTPResponse:
    return json(views.cart(await store.create(_table(request))), status=201)


@carts.get("/carts/<cart_id>")
@operation("Read a cart", answers={200: views.Cart})
async def get_cart(request: Request, cart_id: str) -> HTTPResponse:
    return json(views.cart(await store.get(_table(request), cart_id)))


@carts.put("/carts/<cart_id>/items/<sku>")
@operation(
    "Set a line's quantity (0 removes it)",
    body=SetQuantity,
    answers={200: views.Cart},
    errors=[409],
)
async def set_item(request: Request, cart_id: str, sku: str) -> HTTPResponse:
    body = parse_body(request, SetQuantity)
    cart = await store.set_quantity(_table(request), cart_id, _sku(sku), body.quantity)
    return json(views.cart(cart))


@carts.delete("/carts/<cart_id>/items/<sku>")
@operation("Remove a line", answers={200: views.Cart}, errors=[409])
async def delete_item(request: Request, cart_id: str, sku: str) -> HTTPResponse:
    return json(views.cart(await store.set_quantity(_table(request), cart_id, _sku(sku), 0)))


@carts.post("/carts/<cart_id>/merges")
@operation(
    "Merge another cart into this one (quantities added, at most 99); the other cart is "
    "deleted. A cart to merge that does not exist adds nothing",
    body=Merge,
    answers={200: views.Cart},
    errors=[409],
)
async def merge_cart(request: Request, cart_id: str) -> HTTPResponse:
    body = parse_body(request, Merge)
    return json(views.cart(await store.merge(_table(request), cart_id, body.from_cart_id)))
