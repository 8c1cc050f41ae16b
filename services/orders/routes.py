"""The orders service's HTTP routes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from petshore import paging
from petshore.auth import admin_actor, admin_route, admin_token_given, check_csrf, signed_in
from petshore.contract import ORDERS
from petshore.errors import InvalidRequest, NotFound, Unauthorized
from petshore.openapi import ErrorBody, Param, integer, operation, string
from petshore.web import parse_body, product_sku
from services.orders import checkout, rules, settlement, store, views
from services.orders.schemas import AdjustInventory, Checkout, SetInventory
from services.orders.settlement import Peers

orders = Blueprint("orders_orders", url_prefix=ORDERS.path_prefix.rstrip("/"))


def _peers(request: Request) -> Peers:
    return request.app.ctx.resources


@orders.post("/orders")
@operation(
    "Check out a cart",
    body=Checkout,
    params=[
        Param(
            "Idempotency-Key",
            string(minLength=1, maxLength=rules.MAX_IDEMPOTENCY_KEY),
            where="header",
            required=True,
            description="The same key and body always get the same outcome",
        )
    ],
    answers={201: views.Order, 402: ErrorBody},
    errors=[409],
)
async def place_order(request: Request) -> HTTPResponse:
    key = rules.idempotency_key(request.headers.get("Idempotency-Key"))
    body = parse_body(request, Checkout)
    customer = await signed_in(request)
    if customer is not None:
        check_csrf(request, customer.csrf_token)
    lease = request.app.ctx.settings.checkout_lease
    order = await checkout.place(
        _peers(request), key, body, lease, customer.customer_id if customer else None
    )
    return json(views.order(order), status=201)


@orders.get("/orders")
@operation(
    "Orders, newest first: the signed-in customer's own with mine=1, else any (admin)",
    params=[
        Param("mine", string(enum=["1"]), description="1: the signed-in customer's own"),
        Param("status", string(enum=list(rules.ORDER_STATUSES))),
        Param("limit", integer(minimum=1, maximum=paging.MAX_LIMIT)),
        Param("cursor", string(), description="next_cursor of the page before"),
    ],
    answers={200: views.OrderPage, 401: ErrorBody, 403: ErrorBody},
)
async def list_orders(request: Request) -> HTTPResponse:
    args = request.get_args(keep_blank_values=True)
    limit = paging.parse_limit(args.get("limit"))
    before = rules.decode_order_cursor(args["cursor"][0]) if args.get("cursor") else None
    status = rules.parse_status(args.get("status"))
    if args.get("mine") is not None:
        if args.get("mine") != "1":
            raise InvalidRequest("mine is 1 or absent", {"fields": ["mine"]})
        customer = await signed_in(request)
        if customer is None:
            raise Unauthorized("sign in to see your orders")
        owner: str | None = customer.customer_id
    else:
        await admin_actor(request)
        owner = None
    rows, more = await store.list_orders(
        customer_id=owner, status=status, before=before, limit=limit
    )
    next_cursor = rules.encode_order_cursor(rows[-1]) if more else None
    return json({"items": [views.order(r) for r in rows], "next_cursor": next_cursor})


@orders.get("/orders/<order_id>")
@operation("Read an order", answers={200: views.Order})
async def get_order(request: Request, order_id: str) -> HTTPResponse:
    if len(order_id) > 40:
        raise NotFound("no such order")
    order = await store.get_order(order_id)
    if order["customer_id"] is not None and not await _may_read(request, order["customer_id"]):
        # The same answer as for no order at all: it does not say that the id exists.
        raise NotFound("no such order")
    return json(views.order(order))


async def _may_read(request: Request, customer_id: str) -> bool:
    """A signed-in customer's order is theirs (and the shop's) alone, whoever knows its id."""
    customer = await signed_in(request)
    if customer is not None:
        return customer.customer_id == customer_id or customer.is_staff
    return admin_token_given(request)


@orders.post("/payment-events")
@operation(
    "The payment provider's webhook: signed events about payments",
    answers={200: views.Received},
    params=[Param("Stripe-Signature", string(), where="header")],
)
async def payment_event(request: Request) -> HTTPResponse:
    peers = _peers(request)
    payment = peers.payments.event(request.body, request.headers.get("Stripe-Signature", ""))
    if payment is not None and payment.order_id is not None:
        order = await store.find_order(payment.order_id)
        if order is not None and order["status"] == "pending":
            order = await settlement.apply_payment(peers.payments, payment, "webhook")
            if settlement.outcome(order) is not None:
                await settlement.conclude(peers, order)
    return json({"received": True})


@orders.get("/inventory")
@operation(
    "Units available per SKU (unknown SKUs: 0)",
    params=[Param("skus", string(), required=True, description="SKUs, comma-separated")],
    answers={200: views.Inventory},
)
async def get_inventory(request: Request) -> HTTPResponse:
    skus = rules.parse_skus(request.args.get("skus"))
    counts = await store.available(skus)
    return json({"items": [{"sku": s, "available": counts[s]} for s in skus]})


async def _catalog_sku(request: Request, sku: str) -> str:
    """A SKU the catalog has (discontinued ones too): stock for anything else is a typo."""
    if await checkout.fetch_product(_peers(request), product_sku(sku)) is None:
        raise NotFound(f"the catalog has no product with SKU {sku}")
    return sku


@admin_route(
    orders,
    "PUT",
    "/inventory/<sku>",
    "Set the units available for a SKU",
    body=SetInventory,
    answers={200: views.Stock},
)
async def set_inventory(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, SetInventory)
    await store.set_available(
        await _catalog_sku(request, sku), body.available, "set", request.ctx.actor
    )
    return json({"sku": sku, "available": body.available})


@admin_route(
    orders,
    "POST",
    "/inventory/<sku>/adjustments",
    "Add or take away units, with a reason",
    body=AdjustInventory,
    answers={200: views.Stock},
    errors=[409],
)
async def adjust_inventory(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, AdjustInventory)
    available = await store.adjust_available(
        await _catalog_sku(request, sku), body.delta, body.reason, request.ctx.actor
    )
    return json({"sku": sku, "available": available})
