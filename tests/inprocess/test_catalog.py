"""The catalog alone, in this process: products and their errors, and the model worker's
protocol seen from the catalog — `complete` sends exactly one job, and a result on the
results queue becomes the product's model or a photo of it (once, however often it is heard),
or the upload's refusal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import httpx
import pytest
from sanic import Sanic

from devstack.samples import tiny_glb
from petshore.aws import open_client
from petshore.contract import (
    MAX_CART_LINES,
    MODEL_JOBS_QUEUE_SUFFIX,
    MODEL_RESULTS_QUEUE_SUFFIX,
    Env,
    queue_name,
)
from petshore.db import apply_migrations, tortoise_config
from petshore.modelfiles import ensure_bucket
from petshore.modeljobs import (
    ModelJob,
    ModelResult,
    Outcome,
    PhotoVariant,
    PublishedModel,
    PublishedPhoto,
)
from petshore.queues import ensure_queues
from services.catalog.app import create_app, open_model_stores
from services.catalog.results import read_results
from services.catalog.settings import Settings
from tests.helpers import ADMIN, emulator_client, polled, unique_sku
from tests.inprocess.conftest import ENVIRONMENT, call

# The longest the reader is given to take a message and delete it.
READ_SECONDS = 30.0
# No message visible, none taken and not deleted yet.
EMPTY = ("0", "0")


async def _prepare(settings: Settings) -> None:
    await apply_migrations(tortoise_config(settings.database_url, "services.catalog"))
    async with AsyncExitStack() as stack:
        await ensure_bucket(await open_client(stack, "s3", settings.common), settings.models_bucket)
        await ensure_queues(await open_client(stack, "sqs", settings.common), ENVIRONMENT)


@pytest.fixture(scope="module")
def catalog(service_env: dict[str, str], own_database: str) -> Iterator[Sanic]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(Env.CATALOG_DATABASE_URL, own_database)
        settings = Settings.from_env()
        asyncio.run(_prepare(settings))
        yield create_app(settings)


@pytest.fixture(scope="module")
def sqs(service_env: dict[str, str]) -> Any:
    return emulator_client(service_env[Env.AWS_ENDPOINT_URL], "sqs")


def queue(sqs: Any, suffix: str) -> str:
    return sqs.get_queue_url(QueueName=queue_name(ENVIRONMENT, suffix))["QueueUrl"]


def jobs_sent(sqs: Any) -> list[ModelJob]:
    """Every job waiting in the jobs queue, taken off it."""
    url, jobs = queue(sqs, MODEL_JOBS_QUEUE_SUFFIX), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            jobs.append(ModelJob.from_message(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return jobs


def send_result(sqs: Any, result: ModelResult) -> None:
    """What the model worker would answer."""
    url = queue(sqs, MODEL_RESULTS_QUEUE_SUFFIX)
    sqs.send_message(QueueUrl=url, MessageBody=result.to_message())


def new_product(catalog: Sanic) -> str:
    sku = unique_sku()
    body = {
        "sku": sku,
        "name": "In-process bowl",
        "description": "",
        "category": "feeding",
        "price_cents": 1299,
        "currency": "USD",
    }
    created = call(catalog, "post", "/api/catalog/products", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return sku


def uploaded(catalog: Sanic, sku: str, data: bytes) -> str:
    """An upload whose file is in the bucket; its path."""
    body = {"filename": "m.glb", "content_type": "model/gltf-binary", "bytes": len(data)}
    path = f"/api/catalog/products/{sku}/model-uploads"
    ticket = call(catalog, "post", path, json=body, headers=ADMIN).json
    assert httpx.put(ticket["put_url"], content=data, headers=ticket["headers"]).status_code == 200
    return f"{path}/{ticket['upload_id']}"


def test_products_and_their_errors(catalog: Sanic) -> None:
    sku = new_product(catalog)
    assert call(catalog, "get", f"/api/catalog/products/{sku}").json["model"] is None
    assert call(catalog, "get", "/api/catalog/products/not-a-sku").status_code == 404
    unauthorised = call(catalog, "patch", f"/api/catalog/products/{sku}", json={"name": "x"})
    assert unauthorised.json["error"]["code"] == "unauthorized"
    assert call(catalog, "get", "/api/catalog/health").json == {"status": "ok"}


def test_complete_sends_one_job_and_keeps_its_result(catalog: Sanic, sqs: Any) -> None:
    jobs_sent(sqs)
    sku = new_product(catalog)
    data = tiny_glb()
    path = uploaded(catalog, sku, data)
    prefer = {**ADMIN, "Prefer": "respond-async"}
    for _ in range(2):  # a retry while the first job can still finish sends none
        assert call(catalog, "post", path + "/complete", headers=prefer).status_code == 202
    [job] = jobs_sent(sqs)
    assert (job.sku, job.bytes, job.optimise) == (sku, len(data), True)
    assert path.endswith(job.upload_id) and job.key.startswith("uploads/")
    model = PublishedModel("models/abc.glb", "models/abc.webp", None, 900, None, len(data))
    result = ModelResult(job.upload_id, sku, "published", model=model)
    send_result(sqs, result)
    answer = call(catalog, "post", path + "/complete", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown = answer.json["model"]
    assert (shown["glb_url"], shown["poster_url"]) == ("/models/abc.glb", "/models/abc.webp")
    assert call(catalog, "get", path, headers=ADMIN).json["status"] == "done"
    assert not jobs_sent(sqs)


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [("invalid", 400, "invalid_request"), ("too_large", 413, "too_large"), ("failed", 503, None)],
)
def test_a_refused_model_is_said_as_the_api_says_it(
    catalog: Sanic, sqs: Any, outcome: Outcome, status: int, code: str | None
) -> None:
    sku = new_product(catalog)
    path = uploaded(catalog, sku, tiny_glb())
    prefer = {**ADMIN, "Prefer": "respond-async"}
    assert call(catalog, "post", path + "/complete", headers=prefer).status_code == 202
    [job] = jobs_sent(sqs)
    send_result(sqs, ModelResult(job.upload_id, sku, outcome, ["12 draw calls; at most 10"]))
    answer = call(catalog, "post", path + "/complete", headers=ADMIN)
    assert answer.status_code == status, answer.text
    if code:
        assert answer.json["error"]["code"] == code
        assert answer.json["error"]["details"]["errors"] == ["12 draw calls; at most 10"]
    upload = call(catalog, "get", path, headers=ADMIN).json
    assert upload["status"] == "failed" and "draw calls" in upload["error"]
    assert call(catalog, "get", f"/api/catalog/products/{sku}").json["model"] is None


def _messages_left(sqs: Any, url: str) -> tuple[str, str]:
    """How many messages the queue holds: visible, and taken but not deleted yet."""
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]


def test_a_bad_result_message_is_dropped(catalog: Sanic, sqs: Any) -> None:
    results = queue(sqs, MODEL_RESULTS_QUEUE_SUFFIX)
    sqs.send_message(QueueUrl=results, MessageBody=json.dumps({"outcome": "published"}))

    async def read_until_the_queue_is_empty() -> None:
        # The reader itself, with the catalog's real stores, outside a request: in Sanic's
        # test client it runs only while a request does, and a request ending cuts it short.
        # Stopped once the queue is empty (failing that, after READ_SECONDS), not at a fixed
        # time that may fall between hearing the message and deleting it.
        async with AsyncExitStack() as stack:
            stores = await open_model_stores(stack, Settings.from_env())
            reader = asyncio.create_task(read_results(stores))
            left = partial(_messages_left, sqs, results)
            await asyncio.to_thread(polled, left, lambda now: now == EMPTY, READ_SECONDS, 0.2)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    asyncio.run(read_until_the_queue_is_empty())
    # Deleted, not left to come back after its visibility timeout and fail again.
    assert _messages_left(sqs, results) == EMPTY


def test_a_photo_result_heard_twice_adds_one_photo(catalog: Sanic, sqs: Any) -> None:
    jobs_sent(sqs)
    sku = new_product(catalog)
    body = {"filename": "p.jpg", "content_type": "image/jpeg", "bytes": 4, "alt": "A bowl"}
    path = f"/api/catalog/products/{sku}/image-uploads"
    ticket = call(catalog, "post", path, json=body, headers=ADMIN).json
    assert httpx.put(ticket["put_url"], content=b"jpeg", headers=ticket["headers"]).is_success
    path = f"{path}/{ticket['upload_id']}"
    prefer = {**ADMIN, "Prefer": "respond-async"}
    assert call(catalog, "post", path + "/complete", headers=prefer).status_code == 202
    [job] = jobs_sent(sqs)
    assert (job.kind, job.upload_id) == ("photo", ticket["upload_id"])
    assert job.key.startswith("uploads/") and job.key.endswith(".jpg")
    variant = PhotoVariant("media/v.avif", "avif", 320, 240, 900)
    photo = PublishedPhoto("media/p.jpg", 800, 600, 5000, [variant])
    result = ModelResult(job.upload_id, sku, "published", photo=photo)
    send_result(sqs, result)
    send_result(sqs, result)  # SQS may deliver a message twice
    answer = call(catalog, "post", path + "/complete", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    results = queue(sqs, MODEL_RESULTS_QUEUE_SUFFIX)
    for _ in range(50):  # the reader runs while a request does: until both are kept
        images = call(catalog, "get", f"/api/catalog/products/{sku}").json["images"]
        if _messages_left(sqs, results) == EMPTY:
            break
    assert images == [
        {
            "image_id": images[0]["image_id"],
            "url": "/media/p.jpg",
            "width": 800,
            "height": 600,
            "alt": "A bowl",
            "variants": [{"url": "/media/v.avif", "format": "avif", "width": 320, "height": 240}],
        }
    ]
    assert call(catalog, "get", path, headers=ADMIN).json["status"] == "done"
    # A model upload's status is not found under the photo's path, and the other way round.
    model_path = path.replace("image-uploads", "model-uploads")
    assert call(catalog, "get", model_path, headers=ADMIN).status_code == 404


def _queries(caplog: pytest.LogCaptureFixture, catalog: Sanic, path: str) -> int:
    """The SQL statements the catalog ran to answer GET `path` (Tortoise logs each one)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        answer = call(catalog, "get", path)
    assert answer.status_code == 200, answer.text
    # The pool's own lines (made, closed) have other messages.
    return sum(1 for r in caplog.records if r.name == "tortoise.db_client" and r.msg == "%s: %s")


def test_a_page_of_products_costs_the_same_queries_whatever_its_size(
    catalog: Sanic, caplog: pytest.LogCaptureFixture
) -> None:
    """No query per product (an N+1): a page reads its products with their photos and their
    variants in one statement, whatever its size, and so does one product and a search."""
    category = f"n1-{secrets.token_hex(3)}"
    skus = []
    for i in range(12):
        sku = unique_sku("N")
        body = {
            "sku": sku,
            "name": f"Query-counted lead {i}",
            "description": "",
            "category": category,
            "price_cents": 1000 + i,
            "currency": "USD",
        }
        created = call(catalog, "post", "/api/catalog/products", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        variants = {
            "options": [{"name": "Size", "values": ["S", "L"]}],
            "variants": [
                {"sku": f"{sku}-{size}", "options": {"Size": size}} for size in ("S", "L")
            ],
        }
        path = f"/api/catalog/products/{sku}/variants"
        assert call(catalog, "put", path, json=variants, headers=ADMIN).status_code == 200
        skus.append(sku)
    listing = f"/api/catalog/products?category={category}&limit="
    small = _queries(caplog, catalog, listing + "2")
    assert small == _queries(caplog, catalog, listing + "12") == 1
    assert _queries(caplog, catalog, f"/api/catalog/products/{skus[0]}") == 1
    searched = _queries(caplog, catalog, f"/api/catalog/products?q=lead&category={category}")
    assert searched == 1
    # Checkout's lookup of a cart's SKUs, products' and variants' alike.
    assert _queries(caplog, catalog, f"/api/catalog/products?skus={skus[0]}") == 1
    every = ",".join(skus + [f"{sku}-{size}" for sku in skus for size in ("S", "L")])
    assert _queries(caplog, catalog, f"/api/catalog/products?skus={every}") == 1


def test_skus_are_looked_up_at_once_and_their_errors(catalog: Sanic) -> None:
    """`skus` answers each product as its own path does, in the order asked, leaving out
    SKUs the catalog does not have; with another parameter, a malformed SKU or more SKUs
    than a cart holds, it is a 400 naming them."""
    first, second = new_product(catalog), new_product(catalog)
    each = [call(catalog, "get", f"/api/catalog/products/{sku}").json for sku in (first, second)]
    found = call(catalog, "get", f"/api/catalog/products?skus={second},PS-NONE-0000,{first}")
    assert found.status_code == 200
    assert found.json == {"items": each[::-1], "next_cursor": None}
    assert found.headers["Cache-Control"].startswith("public, max-age=")
    nothing = call(catalog, "get", "/api/catalog/products?skus=")
    assert nothing.json == {"items": [], "next_cursor": None}
    too_many = ",".join(f"PS-MANY-{i:04d}" for i in range(MAX_CART_LINES + 1))
    for query, fields in (
        (f"skus={first}&limit=5", ["skus", "limit"]),
        (f"skus={first}&q=bowl&cursor=x", ["skus", "cursor", "q"]),
        ("skus=not%20a%20sku", ["skus"]),
        (f"skus={too_many}", ["skus"]),
    ):
        refused = call(catalog, "get", f"/api/catalog/products?{query}")
        assert refused.status_code == 400, query
        assert refused.json["error"]["code"] == "invalid_request"
        assert refused.json["error"]["details"]["fields"] == fields, query
