"""The cart's HTTP routes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from petshore.contract import CART, SKU_PATTERN
from petshore.errors import InvalidRequest
from petshore.web import parse_body
from services.cart.schemas import SetQuantity
from services.cart.store import CartStore

carts = Blueprint("cart_carts", url_prefix=CART.path_prefix.rstrip("/"))


def _store(request: Request) -> CartStore:
    return request.app.ctx.carts


def _sku(sku: str) -> str:
    if not SKU_PATTERN.match(sku):
        raise InvalidRequest(f"{sku!r} is not a SKU", {"fields": ["sku"]})
    return sku


@carts.post("/carts")
@openapi.summary("Create an empty cart")
async def create_cart(request: Request) -> HTTPResponse:
    return json(await _store(request).create(), status=201)


@carts.get("/carts/<cart_id>")
@openapi.summary("Read a cart")
async def get_cart(request: Request, cart_id: str) -> HTTPResponse:
    return json(await _store(request).get(cart_id))


@carts.put("/carts/<cart_id>/items/<sku>")
@openapi.summary("Set a line's quantity (0 removes it)")
@openapi.body({"application/json": SetQuantity})
async def set_item(request: Request, cart_id: str, sku: str) -> HTTPResponse:
    body = parse_body(request, SetQuantity)
    return json(await _store(request).set_quantity(cart_id, _sku(sku), body.quantity))


@carts.delete("/carts/<cart_id>/items/<sku>")
@openapi.summary("Remove a line")
async def delete_item(request: Request, cart_id: str, sku: str) -> HTTPResponse:
    return json(await _store(request).set_quantity(cart_id, _sku(sku), 0))
