"""Request bodies the orders service accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from petshore.bodies import Body

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
MAX_UNITS = 10_000_000


class ShippingAddress(Body):
    name: Text
    line1: Text
    line2: OptionalText | None = None
    city: Text
    region: OptionalText | None = None
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Payment(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Checkout(Body):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email
    shipping_address: ShippingAddress
    payment: Payment


class SetInventory(Body):
    available: int = Field(ge=0, le=MAX_UNITS)


class AdjustInventory(Body):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS)
    reason: Text
