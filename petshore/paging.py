"""Keyset paging, as every list of the API pages: `limit` (1-100, default 24) and an opaque
`cursor` (the position of the last item seen), so items added while a client pages never
shift the pages it has not read yet."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from petshore.errors import InvalidRequest
from petshore.openapi import Param, integer, string

DEFAULT_LIMIT = 24
MAX_LIMIT = 100
# The query parameters of every paged list, declared once for each route's operation.
LIMIT_PARAM = Param("limit", integer(minimum=1, maximum=MAX_LIMIT))
CURSOR_PARAM = Param("cursor", string(), description="next_cursor of the page before")


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, fields: tuple[str, ...], defaults: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The position a cursor this API gave out holds: a string for each of `fields` (from
    `defaults` where the cursor has none: a cursor made before a field was added); a `400`
    naming `cursor` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict):
            raise TypeError("a cursor holds an object")
        data = {**(defaults or {}), **data}
        position = {name: data[name] for name in fields}
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]}) from exc
    if not all(isinstance(value, str) for value in position.values()):
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]})
    return position


def parse_limit(raw: str | None) -> int:
    # An empty `limit=` is not a number either (the OpenAPI document says integer).
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise InvalidRequest("limit must be an integer", {"fields": ["limit"]}) from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}", {"fields": ["limit"]})
    return limit


def encode_newest_first(last: Mapping[str, Any]) -> str:
    """A list newest first (orders, customers) pages by (created_at, id) of the last row."""
    return encode_cursor({"before": last["created_at"].isoformat(), "id": last["id"]})


def decode_newest_first(cursor: str) -> tuple[datetime, str]:
    position = decode_cursor(cursor, ("before", "id"))
    try:
        before = datetime.fromisoformat(position["before"])
    except ValueError as exc:
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]}) from exc
    return before, position["id"]
