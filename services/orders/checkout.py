"""Checkout: cart → prices → stock → order → payment, safe to retry with one Idempotency-Key
whatever fails in between: a client that hangs up, a process killed, a database or a peer
that stops answering.

How one key yields at most one order and one charge:
- The key is claimed with the id of the order it may place, and a lease. Whoever takes the
  key over after the lease ran out (a retry, or the reconciler) keeps that order id, and
  the order is inserted in a transaction that first checks the key is still held by this
  checkout (its `owner` token): a checkout that lost its key can no longer place an order.
  A request claims its key in that same transaction instead, priced from the price list its
  process keeps; when the key is held already (a retry), or its request was refused as priced
  from a list that changed since, nothing is kept and it claims the key first, as above.
- The payment is created (no money moves) once the cart is priced, and the order is placed
  with its reference, in the same statement; only then is it confirmed, with the provider's
  idempotency key making a second confirm the same charge. Whoever finds the order stuck can
  ask the provider what happened, and cancels a payment that was never confirmed before
  giving the order's stock back. A payment whose order was refused (no stock, a key held) is
  cancelled; one whose order's fate is unknown (its statement's answer lost) is left
  unconfirmed, which takes no money, for the order, if it exists, to settle.
- The key is released (so that a retry runs afresh) only when no order was placed; once an
  order exists, the key stays bound to it until it is settled, and every retry answers that.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from petshore.errors import (
    ApiError,
    Conflict,
    IdempotencyKeyReused,
    InvalidRequest,
    OutOfStock,
    Unavailable,
    field_error,
)
from petshore.timestamps import utcnow
from services.orders import addresses, pricing, rules, settlement, store
from services.orders.models import IdempotencyRecord
from services.orders.payments import PaymentState
from services.orders.schemas import Checkout
from services.orders.settlement import Peers

log = logging.getLogger("petshore.orders.checkout")

# How long a retry waits for the request holding its key before answering 409; a little
# longer than the default lease, so a retry after a crash usually gets the outcome at once.
IN_PROGRESS_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05

Row = dict[str, Any]
# Where a checkout's address fields are, for the errors that name them.
ADDRESS = "shipping_address."

# Checkouts outlive the requests that started them (see `place`); kept here so the event
# loop does not drop them while they run.
_running: set[asyncio.Task[Row]] = set()


@dataclass(frozen=True)
class Claim:
    key: str
    order_id: str
    owner: str
    # Taken over from a checkout that stopped, which may have placed the order already.
    resumed: bool = False
    # The price list: its revision, read with the claim (`store.price_list`); or, for a key
    # claimed with its order, the list this process keeps.
    prices: store.PriceList | str | None = None
    # When its lease was set (the event loop's clock, read before the statement setting it).
    leased_at: float = 0.0

    def surely_held(self, lease: float) -> bool:
        """Whether nobody can have taken the key over yet: its lease was set less than a
        third of its length ago (the renewal's period), so no fence is needed."""
        return asyncio.get_running_loop().time() - self.leased_at < lease / 3


def new_owner() -> str:
    return secrets.token_hex(8)


async def place(
    peers: Peers, key: str, body: Checkout, lease: float, customer_id: str | None = None
) -> Row:
    """The order for this request: placed now, or the one an earlier request with the same
    key and body placed. The checkout runs as its own task: a client that hangs up stops
    waiting for it, never the checkout itself. `customer_id`: the signed-in customer placing
    it (part of what the key stands for: the same key from another customer is reused)."""
    task = asyncio.ensure_future(_checkout(peers, key, body, lease, customer_id))
    _running.add(task)
    task.add_done_callback(_finished)
    return await asyncio.shield(task)


def _finished(task: asyncio.Task[Row]) -> None:
    _running.discard(task)
    # Reading the exception marks it seen: a checkout whose client left must not be logged
    # as "never retrieved"; an expected refusal (an ApiError) was answered already.
    if not task.cancelled():
        exc = task.exception()
        if exc is not None and not isinstance(exc, ApiError):
            log.warning("checkout failed: %r", exc)


async def _checkout(
    peers: Peers, key: str, body: Checkout, lease: float, customer_id: str | None
) -> Row:
    # A guest's key stands for the body alone, as it did before customers signed in.
    signed = {"customer_id": customer_id} if customer_id else {}
    digest = rules.request_hash({**body.identity(), **signed})
    opened = await _open_unclaimed(peers, key, digest, lease, body, customer_id)
    order: Row | None = None
    if opened is not None:
        claim, order = opened
    else:
        claimed = await _claim(key, digest, lease)
        if isinstance(claimed, IdempotencyRecord):
            assert claimed.order_id is not None and claimed.response_status is not None
            settlement.answer_for(claimed.response_status, claimed.order_id)
            return await store.get_order(claimed.order_id)
        claim = claimed
    async with _holding(claim, lease):
        if order is None and claim.resumed:
            order = await store.find_order(claim.order_id)
        if order is None:
            order = await _open(peers, claim, body, customer_id)
        paid = await _pay(peers, claim, order, body.payment.token, lease)
        status, order = await settlement.conclude(
            peers, paid.order, paid.recorded, paid.cart_emptied
        )
    settlement.answer_for(status, order["id"])
    return order


async def _claim(key: str, digest: str, lease: float) -> Claim | IdempotencyRecord:
    """The key, held by this checkout now; or the finished record of the one that held it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_PROGRESS_WAIT_SECONDS
    owner = new_owner()
    order_id = rules.new_order_id()
    while True:
        now, leased_at = utcnow(), loop.time()
        until = now + timedelta(seconds=lease)
        record, prices = await store.claim_key(key, digest, order_id, owner, until)
        if record is None:
            return Claim(key, order_id, owner, prices=prices, leased_at=leased_at)
        if record.request_hash != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request body"
            )
        if record.state == "done":
            return record
        assert record.order_id is not None and record.lease_expires_at is not None
        if record.lease_expires_at < now and await store.take_over_key(
            key, record.owner, owner, now, until
        ):
            # Whoever held it stopped (a crash, a lost database, a client that went away
            # while its checkout failed): resume the order it started, never a new one.
            return Claim(key, record.order_id, owner, resumed=True, leased_at=leased_at)
        if loop.time() > deadline:
            raise Conflict("a request with this Idempotency-Key is still being processed")
        await asyncio.sleep(POLL_SECONDS)


@asynccontextmanager
async def _holding(claim: Claim, lease: float) -> AsyncIterator[None]:
    """Keep the key's lease alive while this checkout works on it; when it stops without
    an outcome, let a retry take the key over at once instead of after the lease."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            try:
                until = utcnow() + timedelta(seconds=lease)
                if not await store.renew_lease(claim.key, claim.owner, until):
                    return
            except Exception:  # the database is away: the lease simply runs out
                return

    renewing = asyncio.create_task(renew())
    try:
        yield
    except BaseException:
        # Stopped without an outcome (an outcome finishes the key, and returns normally).
        with suppress(Exception):
            await store.drop_lease(claim.key, claim.owner, utcnow())
        raise
    finally:
        renewing.cancel()


async def _open_unclaimed(
    peers: Peers, key: str, digest: str, lease: float, body: Checkout, customer_id: str | None
) -> tuple[Claim, Row] | None:
    """The order placed as `_open` places it, its key claimed in the same statement: one
    round trip fewer than a claim of its own. None when the key must be claimed first: this
    process has no price list yet; or the key is held already (a retry, whose cart may be
    gone with the order it placed, so that a failure to price it says nothing); or the price
    list changed since this process read it. Nothing is kept then. `digest`: the hash of
    what the key stands for."""
    kept = store.kept_price_list()
    if kept is None:
        return None
    leased_at = asyncio.get_running_loop().time()
    claim = Claim(key, rules.new_order_id(), new_owner(), prices=kept, leased_at=leased_at)
    try:
        new_key = store.NewKey(digest, lease, kept.revision)
        order = await _place(peers, claim, body, customer_id, new_key)
    except store.ClaimFirst:
        return None
    except ApiError:
        # Refused as priced from a list that changed since (a destination added, say), the
        # request is priced again from the list as it is now.
        if await store.key_held_or_prices_changed(key, kept.revision):
            return None
        raise
    except BaseException:
        # Its answer may have been lost after it committed.
        await _let_go(claim)
        raise
    return claim, order


async def _open(peers: Peers, claim: Claim, body: Checkout, customer_id: str | None) -> Row:
    """Price the cart and place the order, stock taken; nothing kept if this fails."""
    try:
        return await _place(peers, claim, body, customer_id)
    except store.LostKey as exc:
        raise _taken_over() from exc
    except BaseException:
        await _let_go(claim)
        raise


async def _let_go(claim: Claim) -> None:
    """Release the key of a checkout that placed no order, as far as it knows (if its order
    exists after all, the key stays bound to it); a database that is away keeps it until its
    lease runs out."""
    with suppress(Exception):
        await store.release_key(claim.key, claim.owner, utcnow())


async def _place(
    peers: Peers,
    claim: Claim,
    body: Checkout,
    customer_id: str | None,
    new_key: store.NewKey | None = None,
) -> Row:
    """The cart priced and its order placed, on `claim`'s key (with `new_key`, claimed in the
    same statement)."""
    if not peers.payments.accepts(body.payment.token):
        raise InvalidRequest(
            f"{peers.payments.name} payments do not take that token",
            {"fields": ["payment.token"]},
        )
    address = body.shipping_address
    where = addresses.destination(address.country, address.region, ADDRESS)
    quote = await price_cart(
        peers,
        body.cart_id,
        where,
        body.shipping_method,
        body.discount_code,
        ADDRESS,
        claim.prices,
    )
    shipping_address = address.model_dump(exclude_none=True)
    if where.region:
        shipping_address["region"] = where.region
    # A key of this attempt's own: an attempt refused cancels its payment, which must never
    # be one an attempt that placed its order (a request sent twice at once) is paying with.
    payment = await peers.payments.create(
        order_id=claim.order_id,
        amount_cents=quote.totals.total,
        currency=quote.currency,
        idempotency_key=f"{claim.order_id}:{claim.owner}",
    )
    try:
        return await store.place_order(
            order_id=claim.order_id,
            key=claim.key,
            owner=claim.owner,
            quote=quote,
            email=body.email,
            shipping_address=shipping_address,
            cart_id=body.cart_id,
            customer_id=customer_id,
            payment_reference=payment.reference,
            new_key=new_key,
        )
    except (OutOfStock, InvalidRequest, store.ClaimFirst, store.LostKey):
        # Refused (no stock, a code used up, a key held or lost): the statement placed
        # nothing, so nothing will ever pay with it. Any other failure may have come after
        # the order was placed, and leaves the payment to it.
        with suppress(Exception):
            await peers.payments.cancel(payment.reference)
        raise


async def price_cart(
    peers: Peers,
    cart_id: str,
    where: addresses.Destination,
    shipping_method: str | None,
    discount_code: str | None,
    prefix: str = "",
    prices: store.PriceList | str | None = None,
) -> pricing.Quote:
    """The cart priced as an order shipped to `where` would be: goods from the catalog,
    shipping, discount and tax from the owner's tables. `prefix`: where the address's fields
    are in the request, for the errors that name them. `prices`: the price list, or its
    revision read already (`store.price_list`)."""
    items = await _fetch_cart(peers, cart_id)
    products, price_list, discount = await asyncio.gather(
        _fetch_products(peers, [item["sku"] for item in items]),
        _price_list(prices),
        _discount(discount_code),
    )
    methods, rates = price_list.methods, price_list.rates
    lines, currency = rules.price_lines(items, products)
    offered = pricing.offered_methods(methods, where.country, currency)
    method = pricing.choose_method(offered, where.country, shipping_method, prefix)
    subtotal = pricing.subtotal(lines)
    if discount_code:
        problem = pricing.discount_problem(discount, subtotal, currency, utcnow())
        if problem:
            raise field_error("discount_code", problem)
    tax = pricing.tax_rate_for(rates, where)
    return pricing.Quote(
        lines=lines,
        currency=currency,
        totals=pricing.price(lines, method, tax, discount),
        method=method,
        offered=[(m, m.price_for(subtotal)) for m in offered],
        tax=tax,
        discount=discount,
    )


async def _price_list(prices: store.PriceList | str | None) -> store.PriceList:
    return prices if isinstance(prices, store.PriceList) else await store.price_list(prices)


async def _discount(code: str | None) -> pricing.Discount | None:
    return await store.discount(code) if code else None


@dataclass(frozen=True)
class Paid:
    order: Row  # once its payment is settled; an order that was not pending, as it was
    recorded: bool  # its outcome went on the key with it
    cart_emptied: bool


async def _pay(peers: Peers, claim: Claim, order: Row, token: str, lease: float) -> Paid:
    """The order's payment made and settled, once, whatever a retry finds done already."""
    if order["status"] != "pending":
        return Paid(order, recorded=False, cart_emptied=False)
    payments = peers.payments
    reference = order["payment_reference"]
    # The last fence before money moves, renewed with the payment's record (an order placed
    # before payments were created first has none yet): a checkout that lost its key leaves
    # the payment to whoever holds the key now.
    held = True
    if reference is None:
        payment = await payments.create(
            order_id=order["id"],
            amount_cents=order["total_cents"],
            currency=order["currency"],
            idempotency_key=claim.key,
        )
        lease_until = utcnow() + timedelta(seconds=lease)
        recorded, held = await store.record_payment(
            order["id"], payment.reference, (claim.key, claim.owner, lease_until)
        )
        if not recorded:
            # The reconciler settled the order meanwhile; this payment must never be charged.
            await payments.cancel(payment.reference)
            return Paid(await store.get_order(order["id"]), recorded=False, cart_emptied=False)
        reference = payment.reference
    elif not claim.surely_held(lease):
        held = await store.renew_lease(claim.key, claim.owner, utcnow() + timedelta(seconds=lease))
    if not held:
        raise _taken_over()
    payment = settlement.for_order(
        await payments.confirm(reference, token=token, idempotency_key=claim.key), order
    )
    settling = settlement.apply_payment(payments, payment, "checkout", order, claim.key)
    if payment.state is not PaymentState.SUCCEEDED:
        return Paid(*await settling, cart_emptied=False)
    # The money is taken, so the order is paid whoever settles it: its lines leave the cart
    # while it is settled, and the shopper has the answer one round trip sooner.
    emptying = asyncio.ensure_future(settlement.empty_cart(peers, order))
    try:
        settled, on_key = await settling
    finally:
        await emptying
    return Paid(settled, on_key, cart_emptied=True)


def _taken_over() -> Conflict:
    return Conflict(
        "a retry of this request took its Idempotency-Key over; retry to learn the outcome"
    )


async def _fetch_cart(peers: Peers, cart_id: str) -> list[dict[str, Any]]:
    status, cart = await peers.cart.request("GET", f"/api/cart/carts/{quote(cart_id, safe='')}")
    if status == 404:
        raise InvalidRequest("no such cart", {"fields": ["cart_id"]})
    if status != 200:
        raise Unavailable(f"the cart service answered {status}")
    return list(cart["items"])


async def _fetch_products(peers: Peers, skus: list[str]) -> dict[str, dict[str, Any]]:
    """The catalog's products for a cart's `skus`, those it has, in one call."""
    if not skus:
        return {}
    status, page = await peers.catalog.request(
        "GET", "/api/catalog/products?skus=" + quote(",".join(skus), safe=",")
    )
    if status != 200:
        raise Unavailable(f"the catalog service answered {status}")
    return {product["sku"]: product for product in page["items"]}


async def fetch_product(peers: Peers, sku: str) -> dict[str, Any] | None:
    status, product = await peers.catalog.request(
        "GET", f"/api/catalog/products/{quote(sku, safe='')}"
    )
    if status == 404:
        return None
    if status != 200:
        raise Unavailable(f"the catalog service answered {status}")
    return dict(product)
