"""The orders service's rules as plain functions."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from petshore import paging
from petshore.contract import SKU_PATTERN
from petshore.errors import InvalidRequest

ORDER_ID_PREFIX = "ord_"
MAX_IDEMPOTENCY_KEY = 255
MAX_INVENTORY_SKUS = 100


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class Totals:
    subtotal: int
    shipping: int
    tax: int
    discount: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping + self.tax - self.discount


def new_order_id() -> str:
    return ORDER_ID_PREFIX + secrets.token_urlsafe(16)


def idempotency_key(header: str | None) -> str:
    if header is None or not 1 <= len(header) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(
            f"send an Idempotency-Key header of 1 to {MAX_IDEMPOTENCY_KEY} characters",
            {"fields": ["Idempotency-Key"]},
        )
    return header


def request_hash(body: Mapping[str, Any]) -> str:
    """Two requests are 'the same' when their parsed bodies are equal, whatever the key order
    or white space."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def price_lines(
    cart_items: list[Mapping[str, Any]], products: Mapping[str, Mapping[str, Any] | None]
) -> tuple[list[PricedLine], str]:
    """Price every cart line from the catalog; unknown or discontinued SKUs are refused."""
    if not cart_items:
        raise InvalidRequest("the cart is empty", {"fields": ["cart_id"]})
    unusable = sorted(
        item["sku"]
        for item in cart_items
        if (p := products.get(item["sku"])) is None or p.get("status") != "active"
    )
    if unusable:
        raise InvalidRequest(
            "some products in the cart cannot be bought: " + ", ".join(unusable),
            {"skus": unusable},
        )
    currencies = {products[item["sku"]]["currency"] for item in cart_items}  # type: ignore[index]
    if len(currencies) != 1:
        raise InvalidRequest("the cart mixes currencies", {"currencies": sorted(currencies)})
    lines = [
        PricedLine(
            item["sku"],
            str(products[item["sku"]]["name"]),  # type: ignore[index]
            int(item["quantity"]),
            int(products[item["sku"]]["price_cents"]),  # type: ignore[index]
        )
        for item in cart_items
    ]
    return lines, currencies.pop()


def totals(lines: list[PricedLine]) -> Totals:
    subtotal = sum(line.quantity * line.unit_price_cents for line in lines)
    return Totals(subtotal=subtotal, shipping=0, tax=0, discount=0)


def parse_skus(raw: str | None) -> list[str]:
    if raw is None:
        raise InvalidRequest("give skus=A,B", {"fields": ["skus"]})
    skus = list(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    if len(skus) > MAX_INVENTORY_SKUS:
        raise InvalidRequest(
            f"ask for at most {MAX_INVENTORY_SKUS} SKUs at once", {"fields": ["skus"]}
        )
    bad = [s for s in skus if not SKU_PATTERN.match(s)]
    if bad:
        raise InvalidRequest(f"not SKUs: {', '.join(bad)}", {"fields": ["skus"]})
    return skus


ORDER_STATUSES = ("pending", "paid", "payment_failed", "cancelled", "fulfilled", "refunded")


def encode_order_cursor(last: Mapping[str, Any]) -> str:
    """Orders page newest first, keyset on (created_at, id)."""
    return paging.encode_cursor({"before": last["created_at"].isoformat(), "id": last["id"]})


def decode_order_cursor(cursor: str) -> tuple[datetime, str]:
    position = paging.decode_cursor(cursor, ("before", "id"))
    try:
        before = datetime.fromisoformat(position["before"])
    except ValueError as exc:
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]}) from exc
    return before, position["id"]


def parse_status(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in ORDER_STATUSES:
        raise InvalidRequest(
            f"status is one of {', '.join(ORDER_STATUSES)}", {"fields": ["status"]}
        )
    return raw
