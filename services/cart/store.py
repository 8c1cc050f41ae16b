"""All of the cart's DynamoDB access. One item per cart, its lines as two maps keyed by SKU
(`quantities`, and `added`: when each was first added, which orders them), so that setting a
line is one `UpdateItem` whose conditions DynamoDB checks itself: the cart exists and has not
expired, and a new line fits. Every write adds one to `version`, on which the writes that
replace a whole cart (a merge) are conditional, so two concurrent changes never silently
overwrite each other.

Carts written before the maps (their lines one list, `items`) are read as they are, and the
first line set on one first rewrites it in the maps' form."""

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
QUANTITIES = "quantities"
ADDED = "added"
# The list form of lines, before the maps.
LISTED_LINES = "items"


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff, so writers that collided do not collide again."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(exc: ClientError) -> bool:
    # A transaction that a condition stopped is cancelled as a whole.
    return _error_code(exc) in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _to_item(cart_id: str, lines: list[Line], version: int, expires: int) -> dict[str, Any]:
    """A whole cart; its lines added in their order."""
    return {
        CARTS.hash_key: {"S": cart_id},
        QUANTITIES: {"M": {ln["sku"]: {"N": str(ln["quantity"])} for ln in lines}},
        ADDED: {"M": {ln["sku"]: {"N": str(i)} for i, ln in enumerate(lines)}},
        "version": {"N": str(version)},
        CARTS.ttl_attribute: {"N": str(expires)},
    }


def _from_item(item: dict[str, Any]) -> tuple[list[Line], int, int]:
    if QUANTITIES in item:
        lines = rules.lines_in_order(
            {sku: int(n["N"]) for sku, n in item[QUANTITIES]["M"].items()},
            {sku: int(n["N"]) for sku, n in item[ADDED]["M"].items()},
        )
    else:
        lines = [
            {"sku": entry["M"]["sku"]["S"], "quantity": int(entry["M"]["quantity"]["N"])}
            for entry in item[LISTED_LINES]["L"]
        ]
    return lines, int(item["version"]["N"]), int(item[CARTS.ttl_attribute]["N"])


def _live(item: dict[str, Any] | None, now: float) -> dict[str, Any] | None:
    """The item, unless there is none or it has expired (DynamoDB deletes expired items some
    time after they expire; until then they must not count)."""
    if not item or rules.is_expired(int(item[CARTS.ttl_attribute]["N"]), now):
        return None
    return item


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
    """`sku`'s line set to `quantity` (0 removes it) in one `UpdateItem`; a cart of the list
    form is rewritten in the maps' form first."""
    if not rules.is_cart_id(cart_id):
        raise NotFound("no such cart")
    async with deadline(table.timeout, "carts table"):
        for _ in range(MAX_ATTEMPTS):
            now = time.time()
            try:
                found = await table.client.update_item(
                    **line_update(table.name, cart_id, sku, quantity, now)
                )
            except ClientError as exc:
                if not _is_condition_failure(exc):
                    raise
                item = _live(exc.response.get("Item"), now)
                if item is None:
                    raise NotFound("no such cart") from None
                if QUANTITIES in item:
                    raise InvalidRequest(
                        f"a cart holds at most {rules.MAX_LINES} different products",
                        {"fields": ["sku"]},
                    ) from None
                await _rewrite_listed(table, cart_id, item)
                continue
            lines, _, expires = _from_item(found["Attributes"])
            return StoredCart(cart_id, lines, expires)
    raise Conflict("the cart is being changed by many requests at once; try again")


def line_update(
    table_name: str, cart_id: str, sku: str, quantity: int, now: float
) -> dict[str, Any]:
    """The `UpdateItem` that sets a line, answering the cart as it is then, or as it was when
    a condition stopped it. (bench/ceilings.py sends it alone: the one call the cart's `PUT`
    must make.)"""
    names = {
        "#k": CARTS.hash_key,
        "#q": QUANTITIES,
        "#a": ADDED,
        "#s": sku,
        "#e": CARTS.ttl_attribute,
        "#v": "version",
    }
    values = {
        ":now": {"N": str(int(now))},
        ":exp": {"N": str(rules.expires_at(now))},
        ":one": {"N": "1"},
    }
    condition = "attribute_exists(#k) AND #e > :now AND attribute_exists(#q)"
    if quantity:
        update = "SET #q.#s = :qty, #a.#s = if_not_exists(#a.#s, :at), #e = :exp ADD #v :one"
        # A line already there is only changed; a new one must fit.
        condition += " AND (attribute_exists(#q.#s) OR size(#q) < :max)"
        values |= {
            ":qty": {"N": str(quantity)},
            ":at": {"N": str(time.time_ns())},
            ":max": {"N": str(rules.MAX_LINES)},
        }
    else:
        update = "REMOVE #q.#s, #a.#s SET #e = :exp ADD #v :one"
    return {
        "TableName": table_name,
        "Key": {CARTS.hash_key: {"S": cart_id}},
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


async def _rewrite_listed(table: DynamoTable, cart_id: str, item: dict[str, Any]) -> None:
    """A cart of the list form, written again in the maps' form unless it changed meanwhile
    (then the next attempt sees what is there)."""
    lines, version, expires = _from_item(item)
    try:
        await table.client.put_item(
            TableName=table.name,
            Item=_to_item(cart_id, lines, version + 1, expires),
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": {"N": str(version)}},
        )
    except ClientError as exc:
        if not _is_condition_failure(exc):
            raise


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
    item = _live(found.get("Item"), time.time())
    if item is None:
        raise NotFound("no such cart")
    return _from_item(item)


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
