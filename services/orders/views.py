"""The orders service's answers: what each looks like (for the OpenAPI document) and how it
is made from what the store returns."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from petshore.timestamps import rfc3339

OrderStatus = Literal["pending", "paid", "payment_failed", "cancelled", "fulfilled", "refunded"]


class OrderLine(TypedDict):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int


class Address(TypedDict):
    name: str
    line1: str
    line2: NotRequired[str]
    city: str
    region: NotRequired[str]
    postal_code: str
    country: str


class Shipment(TypedDict):
    carrier: str
    tracking_number: str
    fulfilled_at: str


class Event(TypedDict):
    kind: str  # placed | paid | payment_failed | cancelled | fulfilled | refund | ...
    actor: str  # checkout | reconciler | webhook | admin-token | <role>:<customer id>
    detail: dict[str, Any]
    at: str


class RefundState(TypedDict):
    refund_id: int
    amount_cents: int
    state: Literal["pending", "done", "refused"]
    reference: str | None  # the payment provider's refund
    actor: str
    created_at: str


class Order(TypedDict):
    order_id: str
    status: OrderStatus
    email: str
    items: list[OrderLine]
    subtotal_cents: int
    shipping_cents: int
    tax_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    currency: str
    created_at: str
    shipping_address: Address
    customer_id: str | None  # the signed-in customer who placed it
    # When the confirmation email was sent; null: none was (yet).
    confirmation_sent_at: str | None
    fulfilment: Shipment | None
    # For the shop's staff only: the provider's payment, what happened and who did it.
    payment_reference: NotRequired[str | None]
    history: NotRequired[list[Event]]
    refunds: NotRequired[list[RefundState]]


class OrderPage(TypedDict):
    items: list[Order]
    next_cursor: str | None


class Stock(TypedDict):
    sku: str
    available: int


class Inventory(TypedDict):
    items: list[Stock]


class Movement(TypedDict):
    delta: int
    available: int  # the count after the change
    reason: str
    actor: str
    at: str


class Movements(TypedDict):
    items: list[Movement]


class Received(TypedDict):
    received: bool


def order(row: dict[str, Any]) -> Order:
    answer: Order = {
        "order_id": row["id"],
        "status": row["status"],
        "email": row["email"],
        "items": row["items"],
        "subtotal_cents": row["subtotal_cents"],
        "shipping_cents": row["shipping_cents"],
        "tax_cents": row["tax_cents"],
        "discount_cents": row["discount_cents"],
        "total_cents": row["total_cents"],
        "refunded_cents": row["refunded_cents"],
        "currency": row["currency"],
        "created_at": rfc3339(row["created_at"]),
        "shipping_address": row["shipping_address"],
        "customer_id": row["customer_id"],
        "confirmation_sent_at": (
            rfc3339(row["confirmation_sent_at"]) if row["confirmation_sent_at"] else None
        ),
        "fulfilment": (
            {
                "carrier": row["carrier"],
                "tracking_number": row["tracking_number"],
                "fulfilled_at": rfc3339(row["fulfilled_at"]),
            }
            if row["fulfilled_at"]
            else None
        ),
    }
    return answer


def staff_order(
    row: dict[str, Any], events: list[dict[str, Any]], refunds: list[dict[str, Any]]
) -> Order:
    """The order as the back office sees it."""
    answer = order(row)
    answer["payment_reference"] = row["payment_reference"]
    answer["history"] = [
        {
            "kind": e["kind"],
            "actor": e["actor"],
            "detail": e["detail"],
            "at": rfc3339(e["created_at"]),
        }
        for e in events
    ]
    answer["refunds"] = [
        {
            "refund_id": r["id"],
            "amount_cents": r["amount_cents"],
            "state": r["state"],
            "reference": r["reference"],
            "actor": r["actor"],
            "created_at": rfc3339(r["created_at"]),
        }
        for r in refunds
    ]
    return answer


def movement(row: dict[str, Any]) -> Movement:
    return {
        "delta": row["delta"],
        "available": row["available"],
        "reason": row["reason"],
        "actor": row["actor"],
        "at": rfc3339(row["created_at"]),
    }
