"""Turning what the payment provider says into the order's state, for checkout, the
reconciler and the provider's webhook alike: one set of rules, whoever learns it first."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from petshore.errors import Conflict, PaymentDeclined, Unavailable
from petshore.logs import redact
from petshore.upstream import ServiceClient
from services.orders import store
from services.orders.payments import Payment, PaymentProvider, PaymentState

log = logging.getLogger("petshore.orders.settlement")

Row = dict[str, Any]

# What a checkout answers for an order in each settled state; the key keeps it for retries.
CREATED = 201
DECLINED = PaymentDeclined.status_code
CANCELLED = Conflict.status_code


@dataclass(frozen=True)
class Peers:
    cart: ServiceClient
    catalog: ServiceClient
    payments: PaymentProvider


def declined(order_id: str) -> PaymentDeclined:
    return PaymentDeclined("the card was declined", {"order_id": order_id})


def cancelled(order_id: str) -> Conflict:
    return Conflict(
        "this checkout stopped before the card was charged and was cancelled; nothing was "
        "charged. Check out again with a new Idempotency-Key.",
        {"order_id": order_id, "status": "cancelled"},
    )


def answer_for(status: int, order_id: str) -> None:
    """Raise the error a settled checkout answers with; nothing for an order placed."""
    if status == DECLINED:
        raise declined(order_id)
    if status == CANCELLED:
        raise cancelled(order_id)


_SETTLED_AS = {
    PaymentState.SUCCEEDED: "paid",
    PaymentState.DECLINED: "payment_failed",
    PaymentState.CANCELED: "cancelled",
}


# What a checkout's key answers for an order settled to each status from pending; a later
# status (fulfilled, refunded) follows a paid one, and answers as it did.
_ANSWERS = {"paid": CREATED, "payment_failed": DECLINED, "cancelled": CANCELLED}


async def apply_payment(
    payments: PaymentProvider,
    payment: Payment,
    actor: str,
    pending: Row | None = None,
    key: str | None = None,
) -> tuple[Row, bool]:
    """Settle the payment's pending order as the provider says; an order already settled
    stays as it is. Money that arrives for an order that was given up is sent back.
    `pending`: the order as the caller read it before (saves reading it again when this
    settles it). `key`: the order's Idempotency-Key, whose outcome is recorded with the
    order's when this settles it. The order, and whether this settled it."""
    assert payment.order_id is not None
    status = _SETTLED_AS.get(payment.state)
    settled = None
    if status is not None:
        detail: dict[str, Any] = {"reference": payment.reference}
        if payment.decline_reason:
            detail["reason"] = payment.decline_reason
        settled = await store.settle(
            payment.order_id,
            status,
            actor,
            detail,
            reference=payment.reference,
            outcome=(key, _ANSWERS[status]) if key else None,
        )
    if settled is not None and pending is not None:
        # Only a pending order with this payment recorded could be settled: nothing else of
        # it changed since the caller read it.
        paid_at = settled if status == "paid" else None
        order = {
            **pending,
            "status": status,
            "payment_reference": payment.reference,
            "paid_at": paid_at,
        }
        return order, True
    order = await store.get_order(payment.order_id)
    if (
        payment.state is PaymentState.SUCCEEDED
        and order["status"] in ("cancelled", "payment_failed")
        and order["refunded_cents"] < payment.amount_cents
    ):
        # The fences (the key's lease, the order's recorded payment, cancelling the intent
        # before giving up an order) make this unreachable; if a provider ever breaks them,
        # the shopper gets the money back rather than paying for an order they will not get.
        log.error(
            "a payment succeeded for an order that was given up; refunding it",
            extra={"order_id": redact(order["id"])},
        )
        await store.reserve_refund(
            order["id"],
            "given-up",
            payment.amount_cents - order["refunded_cents"],
            actor,
            refundable=("cancelled", "payment_failed"),
        )
        await pay_out(payments, order["id"])
        order = await store.get_order(payment.order_id)
    return order, settled is not None


async def pay_out(payments: PaymentProvider, order_id: str | None = None) -> int:
    """Have the provider pay out the refunds set aside (one order's, or everyone's); how many
    went. Each goes under its own idempotency key, so one paid out by a request that died
    before it was recorded is not paid again. One the provider cannot take now waits for
    the reconciler's next round; one it refuses is no longer set aside, and its `Conflict`
    is raised once the others went."""
    paid, refused = 0, None
    for due in await store.pending_refunds(order_id):
        try:
            reference = await payments.refund(
                due.payment_reference,
                amount_cents=due.amount_cents,
                idempotency_key=f"{due.order_id}:refund:{due.refund_id}",
            )
        except Unavailable as exc:
            log.warning(
                "refund not paid out yet: %s", exc, extra={"order_id": redact(due.order_id)}
            )
            continue
        except Conflict as exc:
            log.error("refund refused: %s", exc, extra={"order_id": redact(due.order_id)})
            await store.refund_refused(due.refund_id, str(exc))
            refused = exc
            continue
        await store.refund_paid_out(due.refund_id, reference)
        paid += 1
    if refused is not None:
        raise refused
    return paid


async def resolve(payments: PaymentProvider, order: Row, actor: str) -> Row:
    """Bring a pending order whose checkout stopped half-way to a settled state: ask the
    provider what became of its payment, and stop a payment that never happened."""
    if order["status"] != "pending":
        return order
    if order["payment_reference"] is None:
        reason = {"reason": "the checkout stopped before payment"}
        if await store.settle(order["id"], "cancelled", actor, reason, reference=None):
            return await store.get_order(order["id"])
        order = await store.get_order(order["id"])  # a payment was recorded meanwhile
        if order["status"] != "pending":
            return order
    payment = await payments.retrieve(order["payment_reference"])
    if payment.state is PaymentState.UNCONFIRMED:
        # Cancelling makes it certain: an intent cancelled here can never be charged later
        # by a checkout that was only slow, not dead.
        payment = await payments.cancel(payment.reference)
    settled, _ = await apply_payment(payments, for_order(payment, order), actor)
    return settled


def for_order(payment: Payment, order: Row) -> Payment:
    if payment.order_id == order["id"]:
        return payment
    return Payment(
        payment.reference,
        payment.state,
        payment.amount_cents,
        order["id"],
        payment.decline_reason,
    )


async def conclude(
    peers: Peers, order: Row, recorded: bool = False, cart_emptied: bool = False
) -> tuple[int, Row]:
    """Record a settled order's outcome on its key, for every retry (unless it was
    `recorded` as the order was settled), and, for a paid one, empty the cart (unless it
    was `cart_emptied` already; its confirmation email follows from the mail sender);
    `Unavailable` while the payment's outcome is still unknown. The outcome's status, and
    the order."""
    status = outcome(order)
    if status is None:
        raise Unavailable(
            "the payment's outcome is not known yet; retry with the same Idempotency-Key"
        )
    if not recorded:
        await store.finish_key(order["idempotency_key"], status)
    if status == CREATED and not cart_emptied:
        await empty_cart(peers, order)
    return status, order


def outcome(order: Row) -> int | None:
    status = order["status"]
    if status == "pending":
        return None
    if status == "cancelled" and order["paid_at"] is not None:
        return CREATED  # cancelled after it was paid for: the checkout itself succeeded
    return _ANSWERS.get(status, CREATED)


async def empty_cart(peers: Peers, order: Row) -> None:
    """Remove the order's lines from its cart, all at once; the order stands even if the
    cart cannot be reached now."""
    cart = f"/api/cart/carts/{quote(order['cart_id'], safe='')}/items/"
    try:
        await asyncio.gather(
            *(
                peers.cart.request("DELETE", cart + quote(item["sku"], safe=""))
                for item in order["items"]
            )
        )
    except Unavailable:
        log.warning(
            "order placed but the cart could not be emptied",
            extra={"cart_id": redact(order["cart_id"])},
        )
