"""The cart's rules as plain functions."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from typing_extensions import TypedDict  # pydantic reads it on Python 3.11

from petshore.contract import CART_TTL_SECONDS, MAX_CART_LINES

CART_ID_BYTES = 16  # 128 random bits: knowing the id is what grants access to the cart
CART_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_QUANTITY = 99
MAX_LINES = MAX_CART_LINES


class Line(TypedDict):
    sku: str
    quantity: int


@dataclass(frozen=True)
class StoredCart:
    cart_id: str
    lines: list[Line]
    expires_at_epoch: int


def new_cart_id() -> str:
    return secrets.token_urlsafe(CART_ID_BYTES)


def is_cart_id(value: str) -> bool:
    return bool(CART_ID_PATTERN.match(value))


def expires_at(now: float) -> int:
    """Every change pushes the expiry a full TTL forward."""
    return int(now) + CART_TTL_SECONDS


def is_expired(expires_at_epoch: int, now: float) -> bool:
    # DynamoDB deletes expired items some time after they expire; until then they must not count.
    return expires_at_epoch <= now


def lines_in_order(quantities: dict[str, int], added: dict[str, int]) -> list[Line]:
    """A cart's lines in the order they were first added (`added`: a number that grows with
    time, per SKU); SKUs added at the same moment in SKU order."""
    order = sorted(quantities, key=lambda sku: (added[sku], sku))
    return [{"sku": sku, "quantity": quantities[sku]} for sku in order]


def merge_lines(into: list[Line], added: list[Line]) -> list[Line]:
    """`added`'s lines put into `into`: quantities of the same SKU added (at most
    MAX_QUANTITY), new SKUs after `into`'s own, in their order."""
    result: list[Line] = [{"sku": line["sku"], "quantity": line["quantity"]} for line in into]
    for line in added:
        existing = next((r for r in result if r["sku"] == line["sku"]), None)
        if existing is None:
            result.append({"sku": line["sku"], "quantity": min(line["quantity"], MAX_QUANTITY)})
        else:
            existing["quantity"] = min(existing["quantity"] + line["quantity"], MAX_QUANTITY)
    return result
