"""The cart's answers: what each looks like (for the OpenAPI document) and how it is made."""

from __future__ import annotations

from typing_extensions import TypedDict

from petshore.timestamps import rfc3339
from services.cart.rules import Line, StoredCart


class Cart(TypedDict):
    cart_id: str
    items: list[Line]
    expires_at: str


def cart(stored: StoredCart) -> Cart:
    return {
        "cart_id": stored.cart_id,
        "items": stored.lines,
        "expires_at": rfc3339(stored.expires_at_epoch),
    }
