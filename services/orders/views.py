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


class OrderPage(TypedDict):
    items: list[Order]
    next_cursor: str | None


class Stock(TypedDict):
    sku: str
    available: int


class Inventory(TypedDict):
    items: list[Stock]


class Received(TypedDict):
    received: bool


def order(row: dict[str, Any]) -> Order:
    return {
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
    }
