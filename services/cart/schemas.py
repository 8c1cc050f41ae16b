"""Request bodies the cart accepts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.cart.rules import MAX_QUANTITY


class SetQuantity(BaseModel):
    model_config = ConfigDict(strict=True)

    quantity: int = Field(ge=0, le=MAX_QUANTITY)
