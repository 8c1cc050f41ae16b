"""The carts table for emulators and local runs; in AWS the stack creates it
(templates/data.py) from the same key schema."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from petshore.contract import CARTS_HASH_KEY, CARTS_HASH_KEY_TYPE, CARTS_TTL_ATTRIBUTE


async def ensure_table(dynamodb: Any, table: str) -> None:
    try:
        await dynamodb.describe_table(TableName=table)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    await dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": CARTS_HASH_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": CARTS_HASH_KEY, "AttributeType": CARTS_HASH_KEY_TYPE}
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    await dynamodb.get_waiter("table_exists").wait(TableName=table)
    await dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": CARTS_TTL_ATTRIBUTE},
    )
