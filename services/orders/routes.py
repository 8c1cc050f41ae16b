"""The orders service's HTTP routes."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from petshore.contract import ORDERS
from petshore.errors import NotFound
from petshore.timestamps import rfc3339
from petshore.web import admin_required, parse_body
from services.orders import checkout, rules, store
from services.orders.schemas import Checkout, SetInventory

orders = Blueprint("orders_orders", url_prefix=ORDERS.path_prefix.rstrip("/"))


def order_view(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "status": order["status"],
        "email": order["email"],
        "items": order["items"],
        "total_cents": order["total_cents"],
        "currency": order["currency"],
        "created_at": rfc3339(order["created_at"]),
        "shipping_address": order["shipping_address"],
    }


@orders.post("/orders")
@openapi.summary("Check out a cart (needs an Idempotency-Key header)")
@openapi.body({"application/json": Checkout})
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
async def place_order(request: Request) -> HTTPResponse:
    key = rules.idempotency_key(request.headers.get("Idempotency-Key"))
    body = parse_body(request, Checkout)
    order = await checkout.place(request.app.ctx.peers, key, body)
    return json(order_view(order), status=201)


@orders.get("/orders/<order_id>")
@openapi.summary("Read an order")
async def get_order(request: Request, order_id: str) -> HTTPResponse:
    if len(order_id) > 40:
        raise NotFound("no such order")
    return json(order_view(await store.get_order(order_id)))


@orders.get("/inventory")
@openapi.summary("Units available per SKU (unknown SKUs: 0)")
@openapi.parameter("skus", str, required=True)
async def get_inventory(request: Request) -> HTTPResponse:
    skus = rules.parse_skus(request.args.get("skus"))
    counts = await store.available(skus)
    return json({"items": [{"sku": s, "available": counts[s]} for s in skus]})


@orders.put("/inventory/<sku>")
@openapi.summary("Set the units available for a SKU (admin)")
@openapi.body({"application/json": SetInventory})
@openapi.secured("admin")
@admin_required
async def set_inventory(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, SetInventory)
    rules.parse_skus(sku)
    await store.set_available(sku, body.available)
    return json({"sku": sku, "available": body.available})
