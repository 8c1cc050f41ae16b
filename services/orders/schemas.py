"""Request bodies the orders service accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from petshore.bodies import Address, Body, Email, Text

MAX_UNITS = 10_000_000


class Payment(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Checkout(Body):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email
    shipping_address: Address
    payment: Payment


class SetInventory(Body):
    available: int = Field(ge=0, le=MAX_UNITS)
    reason: Text | None = None  # beyond the contract: why, for the stock's history


class AdjustInventory(Body):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS)
    reason: Text


class Fulfilment(Body):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    tracking_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
    ]


class Cancellation(Body):
    reason: Text | None = None


class RefundRequest(Body):
    amount_cents: int | None = Field(default=None, ge=1, le=10**12)
