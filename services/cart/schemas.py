"""Request bodies the cart accepts."""

from __future__ import annotations

from pydantic import Field

from petshore.bodies import Body
from services.cart.rules import MAX_QUANTITY


class SetQuantity(Body):
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
