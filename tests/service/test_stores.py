"""What the services do with their own stores: health when a store is down, expired carts,
and model files tagged for Glacier when a product is discontinued."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.processes import free_port
from devstack.stack import Stack
from petshore.contract import (
    CART,
    CARTS,
    CATALOG,
    ORDERS,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    Env,
    Service,
    models_bucket_name,
)
from tests.helpers import (
    ADMIN,
    assert_error,
    create_product,
    emulator_client,
    new_cart,
    object_tags,
)


def _aws(stack: Stack, service: str) -> Any:
    assert stack.config.aws_endpoint_url
    return emulator_client(stack.config.aws_endpoint_url, service)


@pytest.mark.parametrize(
    ("service", "broken"),
    [
        (CATALOG, {Env.CATALOG_DATABASE_URL: "postgres://postgres@127.0.0.1:{port}/nowhere"}),
        (ORDERS, {Env.ORDERS_DATABASE_URL: "postgres://postgres@127.0.0.1:{port}/nowhere"}),
        (CART, {Env.AWS_ENDPOINT_URL: "http://127.0.0.1:{port}"}),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_health_is_503_when_the_store_is_unreachable(
    stack: Stack, service: Service, broken: dict[str, str]
) -> None:
    dead = free_port()
    env = {**stack.env(), **{k: v.format(port=dead) for k, v in broken.items()}}
    port = free_port()
    child = stack.processes.start(f"{service.name}-broken", service.module, port, env, "/")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{service.health_path}", timeout=20)
                break
            except httpx.TransportError:
                assert child.process.poll() is None, child.log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert_error(response, 503, "unavailable")
    finally:
        stack.processes.stop(child)


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """An address that takes connections and requests, and never answers: a hung store."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def test_a_hung_dynamodb_is_a_503_before_the_orders_service_stops_waiting(
    stack: Stack, hung_endpoint: str
) -> None:
    """The cart gives up on its store after PETSHORE_AWS_TIMEOUT_SECONDS, retries included,
    which must stay under the orders service's wait for its peers (its default 5 s)."""
    env = {**stack.env(), Env.AWS_ENDPOINT_URL: hung_endpoint, Env.AWS_TIMEOUT_SECONDS: "1.5"}
    port = free_port()
    child = stack.processes.start("cart-hung", CART.module, port, env, "/")
    try:
        url = f"http://127.0.0.1:{port}/api/cart/carts/{'A' * 22}"
        deadline = time.monotonic() + 30
        while True:
            try:
                # The client would wait 20 s: only the cart's own deadline can answer first.
                response = httpx.get(url, timeout=20)
                break
            except httpx.ConnectError:
                assert child.process.poll() is None, child.log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the cart did not start"
                time.sleep(0.2)
        error = assert_error(response, 503, "unavailable")
        assert "did not answer in time" in error["message"]
    finally:
        stack.processes.stop(child)


def test_an_expired_cart_is_gone_before_dynamodb_deletes_it(
    gateway: httpx.Client, stack: Stack
) -> None:
    cart_id = new_cart(gateway, {"PS-TOY-0002": 1})
    _aws(stack, "dynamodb").update_item(
        TableName=CARTS.name(stack.config.environment),
        Key={CARTS.hash_key: {"S": cart_id}},
        UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": CARTS.ttl_attribute},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert_error(gateway.get(f"/api/cart/carts/{cart_id}"), 404, "not_found")
    assert_error(
        gateway.put(f"/api/cart/carts/{cart_id}/items/PS-TOY-0002", json={"quantity": 2}),
        404,
        "not_found",
    )


def test_the_carts_table_has_the_contract_key_schema_and_ttl(stack: Stack) -> None:
    dynamodb = _aws(stack, "dynamodb")
    table = CARTS.name(stack.config.environment)
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert described["KeySchema"] == [{"AttributeName": CARTS.hash_key, "KeyType": "HASH"}]
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == CARTS.ttl_attribute


def _attach_model(stack: Stack, sku: str, key: str, preview_key: str | None = None) -> None:
    async def attach() -> None:
        conn = await asyncpg.connect(stack.config.database_urls[CATALOG.name].split("?")[0])
        try:
            await conn.execute(
                "UPDATE product SET model_glb_key=$1, model_preview_key=$2, model_bytes=4, "
                "model_original_bytes=4 WHERE sku=$3",
                key,
                preview_key,
                sku,
            )
        finally:
            await conn.close()

    asyncio.run(attach())


def test_discontinuing_tags_model_files_nothing_else_shows(
    gateway: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    s3 = _aws(stack, "s3")
    bucket = models_bucket_name(stack.config.environment)
    shared_key, own_key, own_preview, other = (f"models/{c * 64}.glb" for c in ("a", "b", "c", "d"))
    for key in (shared_key, own_key, own_preview, other):
        s3.put_object(Bucket=bucket, Key=key, Body=b"glTF")
    leaving, staying, own = (create_product(gateway) for _ in range(3))
    _attach_model(stack, leaving["sku"], shared_key)
    # The same file as another product's preview still counts as shown.
    _attach_model(stack, staying["sku"], other, preview_key=shared_key)
    _attach_model(stack, own["sku"], own_key, preview_key=own_preview)

    def tags(key: str) -> dict[str, str]:
        return object_tags(s3, bucket, key)

    assert (
        gateway.delete(f"/api/catalog/products/{leaving['sku']}", headers=ADMIN).status_code == 200
    )
    assert tags(shared_key) == {}, "another active product still shows this file"
    published = s3.head_object(Bucket=bucket, Key=own_key)
    time.sleep(1.1)  # S3 times objects to the second
    assert gateway.delete(f"/api/catalog/products/{own['sku']}", headers=ADMIN).status_code == 200
    assert tags(own_key) == {RETIRED_TAG_KEY: RETIRED_TAG_VALUE}
    assert tags(own_preview) == {RETIRED_TAG_KEY: RETIRED_TAG_VALUE}
    retired = s3.head_object(Bucket=bucket, Key=own_key)
    # Rewritten when retired: the lifecycle's 30 days count from now, not from publishing.
    assert retired["LastModified"] > published["LastModified"]
    assert retired["Metadata"] == {"retired": "yes"}
    assert s3.get_object(Bucket=bucket, Key=own_key)["Body"].read() == b"glTF"
    assert gateway.get(f"/api/catalog/products/{own['sku']}").json()["model"]["glb_url"] == (
        "/" + own_key
    )
    # Re-listed: its files come back, untagged, in the Standard class.
    relisted = gateway.patch(
        f"/api/catalog/products/{own['sku']}", json={"status": "active"}, headers=ADMIN
    )
    assert relisted.status_code == 200, relisted.text
    assert relisted.json()["status"] == "active"
    assert tags(own_key) == {} and tags(own_preview) == {}
    back = s3.head_object(Bucket=bucket, Key=own_key)
    assert back["Metadata"] == {"retired": "no"}
    assert back.get("StorageClass", "STANDARD") == "STANDARD"
    listed = gateway.get("/api/catalog/products", params={"category": own["category"]}).json()
    assert [p["sku"] for p in listed["items"]] == [own["sku"]]
