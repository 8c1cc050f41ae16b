"""Small helpers the service and end-to-end tests share."""

from __future__ import annotations

import email
import email.policy
import json
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import boto3
import httpx
from botocore.config import Config

from devstack.samples import TRIANGLE, glb, textured_glb, tiny_gltf
from devstack.stack import Stack
from petshore.aws import upload_origin
from petshore.contract import storefront_csp

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def recreate_databases(server: str, names: list[str], drop_only: bool = False) -> None:
    """Drop `names` on the PostgreSQL server at `server`, and create them empty again."""
    conn = await asyncpg.connect(server)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def emulator_client(endpoint: str, service: str, config: Config | None = None) -> Any:
    """A boto3 client of the AWS emulator (moto's server) at `endpoint`."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def object_tags(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def storefront_policy(stack: Stack) -> str:
    """The page's policy as the stack's gateway sends it: uploads go to its emulator."""
    endpoint = stack.config.aws_endpoint_url
    assert endpoint, "the test stacks run on the emulator"
    return storefront_csp(upload_origin(endpoint, region="", bucket=""))


def unique_sku(prefix: str = "T") -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def unique_slug(prefix: str = "cat") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def create_product(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": unique_sku(),
        "name": "Test product",
        "description": "Made by a test",
        "category": unique_slug(),
        "price_cents": 1000,
        "currency": "USD",
        **fields,
    }
    response = client.post("/api/catalog/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_stock(client: httpx.Client, sku: str, available: int) -> None:
    response = client.put(
        f"/api/orders/inventory/{sku}", json={"available": available}, headers=ADMIN
    )
    assert response.status_code == 200, response.text


def new_cart(client: httpx.Client, lines: dict[str, int] | None = None) -> str:
    cart_id = str(client.post("/api/cart/carts").json()["cart_id"])
    fill_cart(client, cart_id, lines or {})
    return cart_id


def fill_cart(client: httpx.Client, cart_id: str, lines: dict[str, int]) -> None:
    for sku, quantity in lines.items():
        response = client.put(f"/api/cart/carts/{cart_id}/items/{sku}", json={"quantity": quantity})
        assert response.status_code == 200, response.text


def checkout_body(cart_id: str, token: str = "tok_visa") -> dict[str, Any]:
    return {
        "cart_id": cart_id,
        "email": "shopper@example.com",
        "shipping_address": {
            "name": "Sam Shopper",
            "line1": "1 Kennel Lane",
            "city": "Portland",
            "postal_code": "97201",
            "country": "US",
        },
        "payment": {"token": token},
    }


def idempotency_key() -> dict[str, str]:
    """The header of a checkout no other request shares."""
    return {"Idempotency-Key": secrets.token_hex(12)}


def complete_upload(
    client: httpx.Client, path: str, body: dict[str, Any] | None = None, attempts: int = 6
) -> httpx.Response:
    """POST `path` (an upload's `complete`, with `body` if any), asking again while the
    catalog answers that the worker is still at it (`503`, as docs/api.md says a client
    should): the model search may take longer than the catalog waits, on a busy machine."""
    for _ in range(attempts):
        answer = client.post(path, json=body, headers=ADMIN, timeout=120)
        if answer.status_code != 503:
            break
    return answer


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return dict(error)


def png(width: int, height: int, pixels: bytes) -> bytes:
    """A PNG whose header declares `width` x `height` RGBA pixels, and whose pixel data is
    `pixels` deflated (whether or not it has that many)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def image_bomb_glb() -> bytes:
    """A valid-looking GLB of 1 KB with an image that would decode to 14 GB."""
    return textured_glb([png(60_000, 60_000, bytes(1000))], "image/png")


def broken_image_glb() -> bytes:
    """A GLB whose image has a sound header and pixel data that cannot be decoded."""
    return textured_glb([png(64, 64, b"not pixels")], "image/png")


def vertex_bomb_glb() -> bytes:
    """A GLB of 400 bytes declaring a billion vertices: an accessor with no data is valid glTF
    (zeros), so only its count says what reading it would allocate (12 GB)."""
    gltf = tiny_gltf()
    gltf["accessors"][0] = {
        "componentType": 5126,
        "count": 1_000_000_000,
        "type": "VEC3",
        "min": [0, 0, 0],
        "max": [0, 0, 0],
    }
    return glb(gltf, TRIANGLE)


def glb_json(data: bytes) -> dict[str, Any]:
    """The glTF JSON of a GLB: its first chunk, after the 12-byte header and the chunk's own
    length and type."""
    (length,) = struct.unpack_from("<I", data, 12)
    return dict(json.loads(data[20 : 20 + length]))


# What Android's Scene Viewer is handed without (modelworker/ar.mjs): the storefront's own
# decoders' formats, and what only a decoder or a newer viewer reads.
NOT_FOR_SCENE_VIEWER = {
    "EXT_meshopt_compression",
    "KHR_draco_mesh_compression",
    "EXT_texture_webp",
    "KHR_texture_basisu",
    "EXT_mesh_gpu_instancing",
    "KHR_mesh_quantization",
    "KHR_materials_variants",
}


PASSWORD = "a long enough passphrase"


@contextmanager
def shopper(stack: Stack, role: str | None = None) -> Iterator[tuple[httpx.Client, dict]]:
    """A browser signed in as a new customer (of `role`, made with the admin token), and the
    headers its changes carry (the CSRF token)."""
    email = f"orders-{time.monotonic_ns()}@example.com"
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        body = {"email": email, "password": PASSWORD, "name": "Customer"}
        if role:
            made = browser.post(
                "/api/accounts/customers", json={**body, "role": role}, headers=ADMIN
            )
            assert made.status_code == 201, made.text
            signed = browser.post(
                "/api/accounts/sessions", json={"email": email, "password": PASSWORD}
            ).json()
        else:
            signed = browser.post("/api/accounts/customers", json=body).json()
        csrf = signed["csrf_token"]
        yield browser, {"X-CSRF-Token": csrf}


T = TypeVar("T")


def polled(read: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float) -> T:
    """What `read` gives once `done` holds of it, read again every `every` seconds. After
    `timeout`, what it gives then, for the caller's assertion to say what is missing."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)


def log_text(paths: Iterable[Path], until: Callable[[str], bool], timeout: float = 5.0) -> str:
    """The logs' text, once `until` holds of it: services write their lines in batches
    (petshore.logs)."""
    paths = list(paths)
    return polled(lambda: "".join(path.read_text() for path in paths), until, timeout, 0.05)


def emails_to(
    outbox: Path, address: str, subject_part: str = "", *, at_least: int = 1, timeout: float = 10
) -> list[EmailMessage]:
    """The emails the emulator's SES took for `address` (with `subject_part` in the subject),
    once there are `at_least` of them: the orders service's mail sender sends them after the
    request that made them due. After `timeout`, those there are."""

    def read() -> list[EmailMessage]:
        found = []
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address and subject_part in message["Subject"]:
                found.append(message)
        return found  # type: ignore[return-value]

    return polled(read, lambda found: len(found) >= at_least, timeout, 0.1)
