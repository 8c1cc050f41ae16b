"""The orders service's HTTP routes."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.request.parameters import RequestParameters
from sanic.response import HTTPResponse

from petshore import paging
from petshore.auth import admin_actor, admin_route, admin_token_given, check_csrf, signed_in
from petshore.contract import ORDERS
from petshore.errors import InvalidRequest, NotFound, Unauthorized
from petshore.openapi import Download, ErrorBody, Param, integer, operation, string
from petshore.responses import json
from petshore.timestamps import utcnow
from petshore.web import parse_body, parse_skus, product_sku, query_args, validate
from services.orders import (
    addresses,
    backoffice,
    checkout,
    rules,
    settlement,
    store,
    views,
)
from services.orders.schemas import (
    METHOD_CODE,
    AdjustInventory,
    Cancellation,
    Checkout,
    DiscountBody,
    DiscountCodeModel,
    Fulfilment,
    QuoteRequest,
    RefundRequest,
    SetInventory,
    ShippingMethodBody,
    TaxRateBody,
)
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


FILTERS = [
    Param("status", string(enum=list(rules.ORDER_STATUSES))),
    Param(
        "q",
        string(minLength=1, maxLength=rules.MAX_QUERY_LENGTH),
        description="an order id, or part of an email or of the name it ships to",
    ),
    Param("created_from", string(), description="a date (2026-11-30) or RFC 3339 time"),
    Param("created_to", string(), description="a date (the whole day) or RFC 3339 time"),
]


def _filters(args: RequestParameters) -> rules.OrderFilter:
    return rules.order_filter(**{p.name: args.get(p.name) for p in FILTERS})


@orders.get("/orders")
@operation(
    "Orders, newest first: the signed-in customer's own with mine=1, else any (admin)",
    params=[
        Param("mine", string(enum=["1"]), description="1: the signed-in customer's own"),
        *FILTERS,
        paging.LIMIT_PARAM,
        paging.CURSOR_PARAM,
    ],
    answers={200: views.OrderPage, 401: ErrorBody, 403: ErrorBody},
)
async def list_orders(request: Request) -> HTTPResponse:
    args = query_args(request)
    limit = paging.parse_limit(args.get("limit"))
    before = paging.decode_newest_first(args["cursor"][0]) if args.get("cursor") else None
    filters = _filters(args)
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
        customer_id=owner, filters=filters, before=before, limit=limit
    )
    next_cursor = paging.encode_newest_first(rows[-1]) if more else None
    return json({"items": [views.order(r) for r in rows], "next_cursor": next_cursor})


@admin_route(
    orders,
    "GET",
    "/orders.csv",
    "Every order the filters find, newest first, as CSV: one row per order line",
    params=FILTERS,
    answers={200: Download("text/csv")},
)
async def export_orders(request: Request) -> None:
    filters = _filters(query_args(request))
    name = f"orders-{utcnow():%Y%m%d-%H%M%S}.csv"
    response = await request.respond(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    async for chunk in backoffice.export(filters):
        await response.send(chunk)
    await response.eof()


def _order_id(order_id: str) -> str:
    if len(order_id) > 40:
        raise NotFound("no such order")
    return order_id


@orders.get("/orders/<order_id>")
@operation(
    "Read an order; the shop's staff also see its payment, refunds and history",
    answers={200: views.Order},
)
async def get_order(request: Request, order_id: str) -> HTTPResponse:
    order = await store.get_order(_order_id(order_id))
    customer = await signed_in(request)
    if admin_token_given(request) or (customer is not None and customer.is_staff):
        return json(await backoffice.staff_view(order_id))
    owner = order["customer_id"]
    if owner is not None and (customer is None or customer.customer_id != owner):
        # A customer's order is theirs (and the shop's) alone, whoever knows its id; the
        # same answer as for no order at all, so it does not say that the id exists.
        raise NotFound("no such order")
    return json(views.order(order))


@admin_route(
    orders,
    "POST",
    "/orders/<order_id>/fulfilment",
    "Mark a paid order shipped, with its carrier and tracking number; emails the customer",
    body=Fulfilment,
    answers={200: views.Order},
    errors=[409],
)
async def fulfil_order(request: Request, order_id: str) -> HTTPResponse:
    body = parse_body(request, Fulfilment)
    order = await backoffice.fulfil(
        _order_id(order_id), body.carrier, body.tracking_number, request.ctx.actor
    )
    return json(order)


@admin_route(
    orders,
    "POST",
    "/orders/<order_id>/cancellation",
    "Cancel a paid order that has not shipped: stock back, payment refunded",
    body=Cancellation,
    body_required=False,
    answers={200: views.Order},
    errors=[409],
)
async def cancel_order(request: Request, order_id: str) -> HTTPResponse:
    body = parse_body(request, Cancellation) if request.body else Cancellation()
    order = await backoffice.cancel(
        _peers(request), _order_id(order_id), body.reason, request.ctx.actor
    )
    return json(order)


@admin_route(
    orders,
    "POST",
    "/orders/<order_id>/refunds",
    "Give back part of an order's payment, or (without amount_cents) all that is left",
    params=[
        Param(
            "Idempotency-Key",
            string(minLength=1, maxLength=rules.MAX_IDEMPOTENCY_KEY),
            where="header",
            description="Without one, the same amount twice is one refund",
        )
    ],
    body=RefundRequest,
    body_required=False,
    answers={200: views.Order},
    errors=[409],
)
async def refund_order(request: Request, order_id: str) -> HTTPResponse:
    body = parse_body(request, RefundRequest) if request.body else RefundRequest()
    key = rules.refund_key(request.headers.get("Idempotency-Key"), body.amount_cents)
    order = await backoffice.refund(
        _peers(request), _order_id(order_id), key, body.amount_cents, request.ctx.actor
    )
    return json(order)


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
            key = order["idempotency_key"]
            order, settled = await settlement.apply_payment(
                peers.payments, payment, "webhook", key=key
            )
            if settlement.outcome(order) is not None:
                await settlement.conclude(peers, order, recorded=settled)
    return json({"received": True})


@orders.get("/inventory")
@operation(
    "Units available per SKU (unknown SKUs: 0); with at_most (admin), the SKUs running low",
    params=[
        Param("skus", string(), description="SKUs, comma-separated"),
        Param(
            "at_most",
            integer(minimum=0, maximum=rules.MAX_LOW_STOCK),
            description="admin: every SKU with at most this many units, fewest first, paged",
        ),
        paging.LIMIT_PARAM,
        paging.CURSOR_PARAM,
    ],
    answers={200: views.Inventory, 401: ErrorBody, 403: ErrorBody},
)
async def get_inventory(request: Request) -> HTTPResponse:
    args = query_args(request)
    if args.get("at_most") is None:
        paged = [name for name in ("limit", "cursor") if args.get(name) is not None]
        if paged:
            raise InvalidRequest("only the low-stock list (at_most=) pages", {"fields": paged})
        skus = parse_skus(args.get("skus"), rules.MAX_INVENTORY_SKUS)
        counts = await store.available(skus)
        return json({"items": [{"sku": s, "available": counts[s]} for s in skus]})
    if args.get("skus") is not None:
        raise InvalidRequest("give skus or at_most, not both", {"fields": ["skus", "at_most"]})
    await admin_actor(request)
    at_most = rules.parse_at_most(args["at_most"][0])
    limit = paging.parse_limit(args.get("limit"))
    after = rules.decode_stock_cursor(args["cursor"][0]) if args.get("cursor") else None
    rows, more = await store.low_stock(at_most, after, limit)
    return json(
        {
            "items": [{"sku": r["sku"], "available": r["available"]} for r in rows],
            "next_cursor": rules.encode_stock_cursor(rows[-1]) if more else None,
        }
    )


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
        await _catalog_sku(request, sku), body.available, body.reason or "set", request.ctx.actor
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


@admin_route(
    orders,
    "GET",
    "/inventory/<sku>/movements",
    "A SKU's stock changes made by hand, newest first: by whom, and why",
    params=[paging.LIMIT_PARAM],
    answers={200: views.Movements},
)
async def stock_movements(request: Request, sku: str) -> HTTPResponse:
    limit = paging.parse_limit(query_args(request).get("limit"))
    rows = await store.movements(product_sku(sku), limit)
    return json({"items": [views.movement(r) for r in rows]})


# Pricing: what a cart would cost, and the owner's shipping methods, tax rates and codes ---


@orders.post("/quotes")
@operation(
    "What a cart would cost shipped to a country (and region): its lines, the shipping "
    "methods that go there, the discount and tax, priced as its checkout would be",
    body=QuoteRequest,
    answers={200: views.Quote},
)
async def quote_cart(request: Request) -> HTTPResponse:
    body = parse_body(request, QuoteRequest)
    where = addresses.destination(body.country, body.region)
    priced = await checkout.price_cart(
        _peers(request), body.cart_id, where, body.shipping_method, body.discount_code
    )
    return json(views.quote(priced))


@orders.get("/countries")
@operation(
    "The countries the shop ships to, each with the regions its addresses name",
    answers={200: views.Countries},
)
async def list_countries(request: Request) -> HTTPResponse:
    methods = await store.shipping_methods()
    places = addresses.countries()
    return json(
        {
            "items": [
                views.country(place)
                for code, place in places.items()
                if any(m.ships_to(code) for m in methods)
            ]
        }
    )


@orders.get("/shipping-methods")
@operation("The shop's shipping methods, first the default", answers={200: views.ShippingMethods})
async def list_shipping_methods(request: Request) -> HTTPResponse:
    return await _shipping_methods()


async def _shipping_methods() -> HTTPResponse:
    return json({"items": [views.shipping_method(m) for m in await store.shipping_methods()]})


def _method_code(code: str) -> str:
    if not re.fullmatch(METHOD_CODE, code):
        raise NotFound(f"no shipping method {code}")
    return code


@admin_route(
    orders,
    "PUT",
    "/shipping-methods/<code>",
    "Add or change a shipping method; answers them all",
    body=ShippingMethodBody,
    answers={200: views.ShippingMethods},
)
async def put_shipping_method(request: Request, code: str) -> HTTPResponse:
    method = parse_body(request, ShippingMethodBody).method(_method_code(code))
    await store.put_shipping_method(method)
    return await _shipping_methods()


@admin_route(
    orders,
    "DELETE",
    "/shipping-methods/<code>",
    "Remove a shipping method (orders keep its name); answers those left",
    answers={200: views.ShippingMethods},
)
async def delete_shipping_method(request: Request, code: str) -> HTTPResponse:
    await store.delete_shipping_method(_method_code(code))
    return await _shipping_methods()


@orders.get("/tax-rates")
@operation("The tax rates the shop charges, by country and region", answers={200: views.TaxRates})
async def list_tax_rates(request: Request) -> HTTPResponse:
    return await _tax_rates()


async def _tax_rates() -> HTTPResponse:
    return json({"items": [views.tax_rate(r) for r in await store.tax_rates()]})


@admin_route(
    orders,
    "PUT",
    "/tax-rates/<place>",
    "Set the tax rate of a country (GB) or of one of its regions (US-CA); answers them all",
    body=TaxRateBody,
    answers={200: views.TaxRates},
)
async def put_tax_rate(request: Request, place: str) -> HTTPResponse:
    body = parse_body(request, TaxRateBody)
    where = addresses.place(place)
    await store.put_tax_rate(body.rate(where))
    return await _tax_rates()


@admin_route(
    orders,
    "DELETE",
    "/tax-rates/<place>",
    "Stop charging a country's or region's tax; answers the rates left",
    answers={200: views.TaxRates},
)
async def delete_tax_rate(request: Request, place: str) -> HTTPResponse:
    where = addresses.place(place)
    await store.delete_tax_rate(where.country, where.region)
    return await _tax_rates()


async def _discounts() -> HTTPResponse:
    return json({"items": [views.discount(d) for d in await store.discounts()]})


def _discount_code(code: str) -> str:
    try:
        return validate(DiscountCodeModel, {"code": code}).code
    except InvalidRequest as exc:
        raise NotFound(f"no discount code {code}") from exc


@admin_route(
    orders,
    "GET",
    "/discount-codes",
    "The shop's discount codes, with how often each was used",
    answers={200: views.Discounts},
)
async def list_discounts(request: Request) -> HTTPResponse:
    return await _discounts()


@admin_route(
    orders,
    "PUT",
    "/discount-codes/<code>",
    "Add or change a discount code (its uses so far stay counted); answers them all",
    body=DiscountBody,
    answers={200: views.Discounts},
)
async def put_discount(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, DiscountBody)
    await store.put_discount(body.discount(_discount_code(code)))
    return await _discounts()


@admin_route(
    orders,
    "DELETE",
    "/discount-codes/<code>",
    "Remove a discount code (orders keep it); answers those left",
    answers={200: views.Discounts},
)
async def delete_discount(request: Request, code: str) -> HTTPResponse:
    await store.delete_discount(_discount_code(code))
    return await _discounts()
