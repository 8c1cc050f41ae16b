"""All of the accounts service's data access: customers in PostgreSQL (through the ORM's
connection the app registers), sessions and sign-in counters in DynamoDB (through a
`petshore.tables.DynamoTable`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from petshore.aws import deadline
from petshore.contract import SESSIONS
from petshore.errors import Conflict, NotFound
from petshore.tables import DynamoTable
from services.accounts.models import Customer
from services.accounts.rules import email_key

Row = dict[str, Any]

CUSTOMER_FIELDS = (
    "id",
    "email",
    "name",
    "role",
    "default_shipping_address",
    "cart_id",
    "created_at",
)


# Customers -------------------------------------------------------------------------------


async def create_customer(email: str, name: str, password_hash: str, role: str) -> Row:
    customer_id = uuid.uuid4().hex
    try:
        await Customer.create(
            id=customer_id,
            email=email.strip(),
            email_key=email_key(email),
            name=name,
            password_hash=password_hash,
            role=role,
        )
    except IntegrityError as exc:
        raise Conflict("an account with this email exists already", {"fields": ["email"]}) from exc
    return await get_customer(customer_id)


async def list_customers(
    *, role: str | None, query: str | None, before: tuple[datetime, str] | None, limit: int
) -> tuple[list[Row], bool]:
    """One page of customers, newest first, and whether more follow."""
    rows = Customer.all()
    if role is not None:
        rows = rows.filter(role=role)
    if query is not None:
        rows = rows.filter(Q(email__icontains=query) | Q(name__icontains=query))
    if before is not None:
        at, customer_id = before
        rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=customer_id))
    page = await rows.order_by("-created_at", "-id").limit(limit + 1).values(*CUSTOMER_FIELDS)
    return page[:limit], len(page) > limit


async def get_customer(customer_id: str) -> Row:
    row = await Customer.filter(id=customer_id).first().values(*CUSTOMER_FIELDS)
    if row is None:
        raise NotFound("no such customer")
    return row


async def find_password(email: str) -> tuple[str, str] | None:
    """The customer id and password hash of an email, if it has an account."""
    found = await Customer.filter(email_key=email_key(email)).first().values("id", "password_hash")
    return (found["id"], found["password_hash"]) if found else None


async def password_hash(customer_id: str) -> str:
    found = await Customer.filter(id=customer_id).first().values("password_hash")
    if found is None:
        raise NotFound("no such customer")
    return str(found["password_hash"])


async def update_customer(customer_id: str, changes: dict[str, Any]) -> Row:
    if changes:
        await Customer.filter(id=customer_id).update(**changes)
    return await get_customer(customer_id)


async def owners() -> int:
    return await Customer.filter(role="owner").count()


# Sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    key: str
    customer_id: str
    csrf_token: str
    expires_at: int


async def put_session(table: DynamoTable, session: Session) -> None:
    async with deadline(table.timeout, "sessions table"):
        await table.client.put_item(
            TableName=table.name,
            Item={
                SESSIONS.hash_key: {"S": session.key},
                "customer_id": {"S": session.customer_id},
                "csrf_token": {"S": session.csrf_token},
                SESSIONS.ttl_attribute: {"N": str(session.expires_at)},
            },
        )


async def get_session(table: DynamoTable, key: str) -> Session | None:
    """The session stored under `key`, if it has not expired (TTL deletes expired items within
    days, not at once)."""
    async with deadline(table.timeout, "sessions table"):
        found = await table.client.get_item(
            TableName=table.name, Key={SESSIONS.hash_key: {"S": key}}, ConsistentRead=True
        )
    item = found.get("Item")
    if not item or "customer_id" not in item:
        return None
    session = Session(
        key=key,
        customer_id=item["customer_id"]["S"],
        csrf_token=item["csrf_token"]["S"],
        expires_at=int(item[SESSIONS.ttl_attribute]["N"]),
    )
    return session if session.expires_at > time.time() else None


async def extend_session(table: DynamoTable, key: str, expires_at: int) -> None:
    """Slide the expiry forward, unless the session ended meanwhile."""
    try:
        async with deadline(table.timeout, "sessions table"):
            await table.client.update_item(
                TableName=table.name,
                Key={SESSIONS.hash_key: {"S": key}},
                UpdateExpression="SET #e = :e",
                ConditionExpression="attribute_exists(customer_id)",
                ExpressionAttributeNames={"#e": SESSIONS.ttl_attribute},
                ExpressionAttributeValues={":e": {"N": str(expires_at)}},
            )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


async def delete_session(table: DynamoTable, key: str) -> None:
    async with deadline(table.timeout, "sessions table"):
        await table.client.delete_item(TableName=table.name, Key={SESSIONS.hash_key: {"S": key}})


async def delete_sessions(table: DynamoTable, customer_id: str, keep: str | None = None) -> int:
    """End every session of a customer (but `keep`); how many ended."""
    ended = 0
    pages = table.client.get_paginator("query").paginate(
        TableName=table.name,
        IndexName=SESSIONS.index_name,
        KeyConditionExpression="customer_id = :c",
        ExpressionAttributeValues={":c": {"S": customer_id}},
    )
    async with deadline(table.timeout * 4, "sessions table"):
        async for page in pages:
            for item in page.get("Items", []):
                key = item[SESSIONS.hash_key]["S"]
                if key != keep:
                    await table.client.delete_item(
                        TableName=table.name, Key={SESSIONS.hash_key: {"S": key}}
                    )
                    ended += 1
    return ended


# Sign-in counters --------------------------------------------------------------------------


async def failures(table: DynamoTable, keys: list[str]) -> list[int]:
    """The failed sign-ins counted under each key (0 where none)."""
    async with deadline(table.timeout, "sessions table"):
        found = await table.client.batch_get_item(
            RequestItems={
                table.name: {
                    "Keys": [{SESSIONS.hash_key: {"S": k}} for k in keys],
                    "ConsistentRead": True,
                }
            }
        )
    counts = {
        item[SESSIONS.hash_key]["S"]: int(item["failures"]["N"])
        for item in found.get("Responses", {}).get(table.name, [])
    }
    return [counts.get(k, 0) for k in keys]


async def count_failure(table: DynamoTable, keys: list[str], expires_at: int) -> None:
    async with deadline(table.timeout, "sessions table"):
        for key in keys:
            await table.client.update_item(
                TableName=table.name,
                Key={SESSIONS.hash_key: {"S": key}},
                UpdateExpression="ADD failures :one SET #e = :e",
                ExpressionAttributeNames={"#e": SESSIONS.ttl_attribute},
                ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"N": str(expires_at)}},
            )
