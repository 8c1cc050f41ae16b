"""A service's DynamoDB tables: how its store reaches one (`DynamoTable`), and how one is made
for emulators and local runs (`create-table`); in AWS the stack creates them
(templates/data.py) from the same entries of petshore.contract."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from petshore.aws import deadline, open_client
from petshore.contract import Table
from petshore.settings import CommonSettings


@dataclass(frozen=True)
class DynamoTable:
    """A table as a store reaches it: a DynamoDB client, the table's name and how long one
    call may take. Store functions take it as their first argument."""

    client: Any
    name: str
    timeout: float


async def ping(table: DynamoTable) -> None:
    async with deadline(table.timeout, f"table {table.name}"):
        await table.client.describe_table(TableName=table.name)


async def create_table(common: CommonSettings, table: Table, name: str) -> None:
    """A service's `create-table` command: the table, if it is missing, in the emulator."""
    async with AsyncExitStack() as stack:
        await ensure_table(await open_client(stack, "dynamodb", common), table, name)


async def ensure_table(dynamodb: Any, table: Table, name: str) -> None:
    try:
        await dynamodb.describe_table(TableName=name)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    attributes = [{"AttributeName": table.hash_key, "AttributeType": table.hash_key_type}]
    indexes: dict[str, Any] = {}
    if table.index:
        attributes.append({"AttributeName": table.index, "AttributeType": "S"})
        indexes["GlobalSecondaryIndexes"] = [
            {
                "IndexName": table.index_name,
                "KeySchema": [{"AttributeName": table.index, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    await dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": table.hash_key, "KeyType": "HASH"}],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **indexes,
    )
    await dynamodb.get_waiter("table_exists").wait(TableName=name)
    await dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
    )
