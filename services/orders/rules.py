"""The orders service's rules as plain functions."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from petshore import paging
from petshore.errors import InvalidRequest
from petshore.timestamps import rfc3339
from petshore.web import search_words

ORDER_ID_PREFIX = "ord_"
MAX_IDEMPOTENCY_KEY = 255
MAX_INVENTORY_SKUS = 100
MAX_QUERY_LENGTH = 200


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
        # In words, for the shopper: a product's name where the catalog still has it.
        names = [str(p["name"]) if (p := products.get(sku)) else sku for sku in unusable]
        raise InvalidRequest("no longer sold: " + ", ".join(names), {"skus": unusable})
    # A product sold in variants is bought as one of them, by the variant's SKU.
    undecided = sorted(
        item["sku"]
        for item in cart_items
        if (p := products.get(item["sku"])) and p.get("variants") and not p.get("variant_of")
    )
    if undecided:
        names = [str(products[sku]["name"]) for sku in undecided]  # type: ignore[index]
        raise InvalidRequest("choose which one of: " + ", ".join(names), {"skus": undecided})
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


# Low stock: the most units a SKU may have to be counted as running low.
MAX_LOW_STOCK = 1_000_000


def parse_at_most(raw: str) -> int:
    # Digits only: int() would also take "+5", " 5" and "5_0".
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_LOW_STOCK:
        raise InvalidRequest(
            f"at_most is a whole number of units, 0 to {MAX_LOW_STOCK}", {"fields": ["at_most"]}
        )
    return int(raw)


def encode_stock_cursor(last: Mapping[str, Any]) -> str:
    """The low-stock list pages by (available, sku) of the last row: fewest first."""
    return paging.encode_cursor({"available": str(last["available"]), "sku": last["sku"]})


def decode_stock_cursor(cursor: str) -> tuple[int, str]:
    position = paging.decode_cursor(cursor, ("available", "sku"))
    if not position["available"].isdigit():
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]})
    return int(position["available"]), position["sku"]


ORDER_STATUSES = ("pending", "paid", "payment_failed", "cancelled", "fulfilled", "refunded")


def parse_status(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in ORDER_STATUSES:
        raise InvalidRequest(
            f"status is one of {', '.join(ORDER_STATUSES)}", {"fields": ["status"]}
        )
    return raw


@dataclass(frozen=True)
class OrderFilter:
    """What the back office looks for: a status, words (an order id, or part of an email or
    of the name it ships to), and a time range [created_from, created_to)."""

    status: str | None = None
    query: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def order_filter(
    status: str | None, q: str | None, created_from: str | None, created_to: str | None
) -> OrderFilter:
    """The filters of `GET /orders` as given (a blank one is a 400, not no filter). A date is
    a whole day: `created_to=2026-11-30` takes in the 30th."""
    start = _moment(created_from, "created_from", end_of_day=False)
    end = _moment(created_to, "created_to", end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise InvalidRequest(
            "created_from is after created_to", {"fields": ["created_from", "created_to"]}
        )
    return OrderFilter(parse_status(status), search_words(q, MAX_QUERY_LENGTH), start, end)


def _moment(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if raw is None:
        return None
    try:
        if len(raw) == len("2026-11-30"):
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(
            f"{name} is a date (2026-11-30) or an RFC 3339 time", {"fields": [name]}
        ) from exc
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} needs its UTC offset (Z or +01:00)", {"fields": [name]})
    return moment.astimezone(UTC)


def refund_key(header: str | None, amount_cents: int | None) -> str:
    """What makes two refund requests the same refund: the client's Idempotency-Key, else
    the amount (the same amount twice is one refund; "the rest" twice, too)."""
    if header is not None:
        return "key:" + idempotency_key(header)
    return "rest" if amount_cents is None else f"amount:{amount_cents}"


CSV_COLUMNS = (
    "order_id",
    "created_at",
    "status",
    "email",
    "ship_to_name",
    "country",
    "currency",
    "total_cents",
    "refunded_cents",
    "sku",
    "name",
    "quantity",
    "unit_price_cents",
    "carrier",
    "tracking_number",
)
# A cell a spreadsheet would run as a formula (CSV injection): shown as text instead.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS) and not isinstance(value, int):
        return "'" + text
    return text


def csv_rows(order: Mapping[str, Any]) -> list[list[str]]:
    """One row per order line (what accounting and fulfilment count), the order's columns
    repeated on each."""
    address = order["shipping_address"]
    head = {
        "order_id": order["id"],
        "created_at": rfc3339(order["created_at"]),
        "status": order["status"],
        "email": order["email"],
        "ship_to_name": address.get("name"),
        "country": address.get("country"),
        "currency": order["currency"],
        "total_cents": order["total_cents"],
        "refunded_cents": order["refunded_cents"],
        "carrier": order["carrier"],
        "tracking_number": order["tracking_number"],
    }
    return [
        [csv_cell({**head, **line}.get(column)) for column in CSV_COLUMNS]
        for line in order["items"]
    ]
