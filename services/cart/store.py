"""All of the cart's DynamoDB access. One item per cart; every write is conditional on the
version it read, so two concurrent updates can never silently overwrite each other."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import ClientError

from petshore.aws import deadline
from petshore.contract import CARTS
from petshore.errors import Conflict, InvalidRequest, NotFound
from petshore.tables import DynamoTable
from services.cart import rules
from services.cart.rules import Line, StoredCart

MAX_ATTEMPTS = 20
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.25


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff, so writers that collided do not collide again."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


def _is_condition_failure(exc: ClientError) -> bool:
    # A transaction that a condition stopped is cancelled as a whole.
    return exc.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def _to_item(cart_id: str, lines: list[Line], version: int, expires: int) -> dict[str, Any]:
    return {
        CARTS.hash_key: {"S": cart_id},
        "items": {
            "L": [
                {"M": {"sku": {"S": ln["sku"]}, "quantity": {"N": str(ln["quantity"])}}}
                for ln in lines
            ]
        },
        "version": {"N": str(version)},
        CARTS.ttl_attribute: {"N": str(expires)},
    }


def _from_item(item: dict[str, Any]) -> tuple[list[Line], int, int]:
    lines: list[Line] = [
        {"sku": entry["M"]["sku"]["S"], "quantity": int(entry["M"]["quantity"]["N"])}
        for entry in item["items"]["L"]
    ]
    return lines, int(item["version"]["N"]), int(item[CARTS.ttl_attribute]["N"])


async def create(table: DynamoTable) -> StoredCart:
    cart_id = rules.new_cart_id()
    expires = rules.expires_at(time.time())
    async with deadline(table.timeout, "carts table"):
        await table.client.put_item(
            TableName=table.name,
            Item=_to_item(cart_id, [], 1, expires),
            ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": CARTS.hash_key},
        )
    return StoredCart(cart_id, [], expires)


async def get(table: DynamoTable, cart_id: str) -> StoredCart:
    async with deadline(table.timeout, "carts table"):
        lines, _, expires = await _read(table, cart_id)
    return StoredCart(cart_id, lines, expires)


async def set_quantity(table: DynamoTable, cart_id: str, sku: str, quantity: int) -> StoredCart:
    async def attempt() -> StoredCart:
        lines, version, _ = await _read(table, cart_id)
        updated = rules.set_line(lines, sku, quantity)
        if len(updated) > rules.MAX_LINES:
            raise InvalidRequest(
                f"a cart holds at most {rules.MAX_LINES} different products",
                {"fields": ["sku"]},
            )
        expires = rules.expires_at(time.time())
        await table.client.put_item(
            TableName=table.name,
            Item=_to_item(cart_id, updated, version + 1, expires),
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": {"N": str(version)}},
        )
        return StoredCart(cart_id, updated, expires)

    async with deadline(table.timeout, "carts table"):
        return await _until_written(attempt, "the cart is being changed")


async def _until_written(attempt: Callable[[], Awaitable[StoredCart]], busy: str) -> StoredCart:
    """`attempt` reads, decides and writes on the condition that nothing changed since it
    read; when something did, it runs again (after a backoff) on what is there now."""
    for number in range(MAX_ATTEMPTS):
        if number:
            await asyncio.sleep(backoff(number))
        try:
            return await attempt()
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
    raise Conflict(f"{busy} by many requests at once; try again")


async def _read(table: DynamoTable, cart_id: str) -> tuple[list[Line], int, int]:
    if not rules.is_cart_id(cart_id):
        raise NotFound("no such cart")
    found = await table.client.get_item(
        TableName=table.name, Key={CARTS.hash_key: {"S": cart_id}}, ConsistentRead=True
    )
    item = found.get("Item")
    if not item:
        raise NotFound("no such cart")
    lines, version, expires = _from_item(item)
    if rules.is_expired(expires, time.time()):
        raise NotFound("no such cart")
    return lines, version, expires


async def merge(table: DynamoTable, cart_id: str, from_cart_id: str) -> StoredCart:
    """Put `from_cart_id`'s lines into `cart_id` and delete `from_cart_id`, in one
    transaction: a line is never lost or counted twice, however often a merge is retried. A
    cart to merge that does not exist (merged already, or expired) adds nothing."""

    async def attempt() -> StoredCart:
        lines, version, expires = await _read(table, cart_id)
        if from_cart_id == cart_id:
            return StoredCart(cart_id, lines, expires)
        try:
            added, added_version, _ = await _read(table, from_cart_id)
        except NotFound:
            return StoredCart(cart_id, lines, expires)
        merged = rules.merge_lines(lines, added)
        if len(merged) > rules.MAX_LINES:
            raise Conflict(
                f"together the carts hold more than {rules.MAX_LINES} different products",
                {"fields": ["from_cart_id"]},
            )
        expires = rules.expires_at(time.time())
        await table.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": _to_item(cart_id, merged, version + 1, expires),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(version)}},
                    }
                },
                {
                    "Delete": {
                        "TableName": table.name,
                        "Key": {CARTS.hash_key: {"S": from_cart_id}},
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(added_version)}},
                    }
                },
            ]
        )
        return StoredCart(cart_id, merged, expires)

    async with deadline(table.timeout, "carts table"):
        return await _until_written(attempt, "the carts are being changed")
