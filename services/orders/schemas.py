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


class AdjustInventory(Body):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS)
    reason: Text
