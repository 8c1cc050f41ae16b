"""A service's DynamoDB tables for emulators and local runs; in AWS the stack creates them
(templates/data.py) from the same entries of petshore.contract."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from petshore.contract import Table


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
