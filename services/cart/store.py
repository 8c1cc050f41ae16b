"""All of the cart's DynamoDB access. One item per cart; every write is conditional on the
version it read, so two concurrent updates can never silently overwrite each other."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from botocore.exceptions import ClientError

from petshore.aws import deadline
from petshore.contract import CARTS_HASH_KEY, CARTS_TTL_ATTRIBUTE
from petshore.errors import Conflict, InvalidRequest, NotFound
from services.cart import rules
from services.cart.rules import Line, StoredCart

MAX_ATTEMPTS = 20
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.25


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff, so writers that collided do not collide again."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _to_item(cart_id: str, lines: list[Line], version: int, expires: int) -> dict[str, Any]:
    return {
        CARTS_HASH_KEY: {"S": cart_id},
        "items": {
            "L": [
                {"M": {"sku": {"S": ln["sku"]}, "quantity": {"N": str(ln["quantity"])}}}
                for ln in lines
            ]
        },
        "version": {"N": str(version)},
        CARTS_TTL_ATTRIBUTE: {"N": str(expires)},
    }


def _from_item(item: dict[str, Any]) -> tuple[list[Line], int, int]:
    lines: list[Line] = [
        {"sku": entry["M"]["sku"]["S"], "quantity": int(entry["M"]["quantity"]["N"])}
        for entry in item["items"]["L"]
    ]
    return lines, int(item["version"]["N"]), int(item[CARTS_TTL_ATTRIBUTE]["N"])


class CartStore:
    def __init__(self, dynamodb: Any, table: str, timeout: float) -> None:
        self.db = dynamodb
        self.table = table
        self.timeout = timeout

    async def ping(self) -> None:
        async with deadline(self.timeout, "carts table"):
            await self.db.describe_table(TableName=self.table)

    async def create(self) -> StoredCart:
        async with deadline(self.timeout, "carts table"):
            return await self._create()

    async def get(self, cart_id: str) -> StoredCart:
        async with deadline(self.timeout, "carts table"):
            lines, _, expires = await self._read(cart_id)
        return StoredCart(cart_id, lines, expires)

    async def set_quantity(self, cart_id: str, sku: str, quantity: int) -> StoredCart:
        async with deadline(self.timeout, "carts table"):
            return await self._set_quantity(cart_id, sku, quantity)

    async def _create(self) -> StoredCart:
        cart_id = rules.new_cart_id()
        expires = rules.expires_at(time.time())
        await self.db.put_item(
            TableName=self.table,
            Item=_to_item(cart_id, [], 1, expires),
            ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": CARTS_HASH_KEY},
        )
        return StoredCart(cart_id, [], expires)

    async def _read(self, cart_id: str) -> tuple[list[Line], int, int]:
        if not rules.is_cart_id(cart_id):
            raise NotFound("no such cart")
        found = await self.db.get_item(
            TableName=self.table, Key={CARTS_HASH_KEY: {"S": cart_id}}, ConsistentRead=True
        )
        item = found.get("Item")
        if not item:
            raise NotFound("no such cart")
        lines, version, expires = _from_item(item)
        if rules.is_expired(expires, time.time()):
            raise NotFound("no such cart")
        return lines, version, expires

    async def _set_quantity(self, cart_id: str, sku: str, quantity: int) -> StoredCart:
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await asyncio.sleep(backoff(attempt))
            lines, version, _ = await self._read(cart_id)
            updated = rules.set_line(lines, sku, quantity)
            if len(updated) > rules.MAX_LINES:
                raise InvalidRequest(
                    f"a cart holds at most {rules.MAX_LINES} different products",
                    {"fields": ["sku"]},
                )
            expires = rules.expires_at(time.time())
            try:
                await self.db.put_item(
                    TableName=self.table,
                    Item=_to_item(cart_id, updated, version + 1, expires),
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except ClientError as exc:
                if _is_condition_failure(exc):
                    continue  # someone else changed the cart since we read it: read again
                raise
            return StoredCart(cart_id, updated, expires)
        raise Conflict("the cart is being changed by many requests at once; try again")
