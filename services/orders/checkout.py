"""Checkout: cart → prices → stock → order → payment, safe to retry with one Idempotency-Key."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from petshore.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidRequest,
    PaymentDeclined,
    Unavailable,
)
from petshore.upstream import ServiceClient
from services.orders import rules, store
from services.orders.models import IdempotencyRecord
from services.orders.payments import PaymentProvider
from services.orders.schemas import Checkout

log = logging.getLogger("petshore.orders.checkout")

# How long a retry waits for the first request with its key to finish before giving up.
IN_PROGRESS_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Peers:
    cart: ServiceClient
    catalog: ServiceClient
    payments: PaymentProvider


def _declined(order_id: str) -> PaymentDeclined:
    return PaymentDeclined("the card was declined", {"order_id": order_id})


async def place(peers: Peers, key: str, body: Checkout) -> dict[str, Any]:
    """The order for this request: placed now, or the one an earlier request with the same
    key and body placed."""
    digest = rules.request_hash(body.model_dump())
    record = await _claim(key, digest)
    if record is not None:
        return await _replay(record)
    try:
        # Shielded: a client that hangs up must not stop a checkout between taking stock and
        # charging, which would strand the stock in an unpaid order.
        order_id = await asyncio.shield(_run(peers, key, body))
    except PaymentDeclined:
        raise
    except BaseException:
        # Nothing was kept (stock is only held by a stored order): a retry may run again.
        await store.release_key(key)
        raise
    return await store.get_order(order_id)


async def _claim(key: str, digest: str) -> IdempotencyRecord | None:
    """None once this request owns `key`; otherwise the finished record of the one that did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_PROGRESS_WAIT_SECONDS
    while True:
        record = await store.claim_key(key, digest)
        if record is None:
            if await store.read_key(key) is None:
                continue  # the holder released it between our insert and our read
            return None
        if record.request_hash != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request body"
            )
        if record.state == "done":
            return record
        if loop.time() > deadline:
            raise Conflict("a request with this Idempotency-Key is still being processed")
        await asyncio.sleep(POLL_SECONDS)


async def _replay(record: IdempotencyRecord) -> dict[str, Any]:
    assert record.order_id is not None
    if record.response_status == PaymentDeclined.status_code:
        raise _declined(record.order_id)
    return await store.get_order(record.order_id)


async def _fetch_cart(peers: Peers, cart_id: str) -> list[dict[str, Any]]:
    status, cart = await peers.cart.request("GET", f"/api/cart/carts/{quote(cart_id, safe='')}")
    if status == 404:
        raise InvalidRequest("no such cart", {"fields": ["cart_id"]})
    if status != 200:
        raise Unavailable(f"the cart service answered {status}")
    return list(cart["items"])


async def _fetch_product(peers: Peers, sku: str) -> dict[str, Any] | None:
    status, product = await peers.catalog.request(
        "GET", f"/api/catalog/products/{quote(sku, safe='')}"
    )
    if status == 404:
        return None
    if status != 200:
        raise Unavailable(f"the catalog service answered {status}")
    return dict(product)


async def _run(peers: Peers, key: str, body: Checkout) -> str:
    if not peers.payments.accepts(body.payment.token):
        raise InvalidRequest(
            f"{peers.payments.name} payments do not take that token", {"fields": ["payment.token"]}
        )
    items = await _fetch_cart(peers, body.cart_id)
    skus = [item["sku"] for item in items]
    products = dict(
        zip(skus, await asyncio.gather(*(_fetch_product(peers, s) for s in skus)), strict=True)
    )
    lines, currency = rules.price_lines(items, products)
    total = rules.total_cents(lines)
    order_id = rules.new_order_id()
    await store.place_order(
        order_id=order_id,
        lines=lines,
        currency=currency,
        total=total,
        email=body.email,
        shipping_address=body.shipping_address.model_dump(exclude_none=True),
        cart_id=body.cart_id,
    )
    try:
        charge = await peers.payments.charge(
            amount_cents=total, currency=currency, token=body.payment.token, idempotency_key=key
        )
    except Exception:
        await store.mark_payment_failed(order_id, "")
        raise
    if not charge.succeeded:
        await store.mark_payment_failed(order_id, charge.reference)
        await store.finish_key(key, PaymentDeclined.status_code, order_id)
        raise _declined(order_id)
    await store.mark_paid(order_id, charge.reference)
    await store.finish_key(key, 201, order_id)
    await _empty_cart(peers, body.cart_id, skus)
    return order_id


async def _empty_cart(peers: Peers, cart_id: str, skus: list[str]) -> None:
    """Remove the ordered lines; the order stands even if the cart cannot be reached now."""
    try:
        for sku in skus:
            await peers.cart.request(
                "DELETE", f"/api/cart/carts/{quote(cart_id, safe='')}/items/{quote(sku, safe='')}"
            )
    except Unavailable:
        log.warning("order placed but the cart could not be emptied", extra={"cart_id": cart_id})
