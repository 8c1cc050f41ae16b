"""Request bodies the cart accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from petshore.bodies import Body
from services.cart.rules import MAX_QUANTITY


class SetQuantity(Body):
    quantity: int = Field(ge=0, le=MAX_QUANTITY)


class Merge(Body):
    from_cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
