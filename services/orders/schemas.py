"""Request bodies the orders service accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class ShippingAddress(BaseModel):
    model_config = ConfigDict(strict=True)

    name: Text
    line1: Text
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Text
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Payment(BaseModel):
    model_config = ConfigDict(strict=True)

    token: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Checkout(BaseModel):
    model_config = ConfigDict(strict=True)

    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email
    shipping_address: ShippingAddress
    payment: Payment


class SetInventory(BaseModel):
    model_config = ConfigDict(strict=True)

    available: int = Field(ge=0, le=10_000_000)
