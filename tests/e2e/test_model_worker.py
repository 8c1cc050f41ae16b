"""The model worker, a process of its own behind two queues: `complete` that does not wait
(`Prefer: respond-async`), one job per upload however often `complete` is retried, a worker
stopped mid-job that hands the job back, and messages that are not jobs or results."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.processes import Child
from devstack.stack import Stack
from petshore.contract import (
    MODEL_JOBS_QUEUE_SUFFIX,
    MODEL_RESULTS_QUEUE_SUFFIX,
    MODEL_WORKER,
    queue_name,
)
from tests.helpers import ADMIN, complete_upload, create_product, emulator_client

MODELS = Path(__file__).resolve().parents[2] / "demo" / "models"


def log_lines(child: Child, message: str) -> list[dict[str, object]]:
    lines = (
        json.loads(line) for line in child.log_path.read_text().splitlines() if line[:1] == "{"
    )
    return [line for line in lines if line.get("message") == message]


def worker(stack: Stack) -> Child:
    return next(c for c in stack.processes.children if c.name == MODEL_WORKER.name)


def put_file(gateway: httpx.Client, sku: str, data: bytes) -> str:
    """An upload with its file in S3, not completed yet: its status path."""
    body = {"filename": "model.glb", "content_type": "model/gltf-binary", "bytes": len(data)}
    ticket = gateway.post(f"/api/catalog/products/{sku}/model-uploads", json=body, headers=ADMIN)
    assert ticket.status_code == 201, ticket.text
    ticket_body = ticket.json()
    put = httpx.put(ticket_body["put_url"], content=data, headers=ticket_body["headers"])
    assert put.status_code == 200
    return f"/api/catalog/products/{sku}/model-uploads/{ticket_body['upload_id']}"


def complete_async(gateway: httpx.Client, path: str) -> httpx.Response:
    return gateway.post(path + "/complete", headers={**ADMIN, "Prefer": "respond-async"})


def finished(gateway: httpx.Client, path: str, seconds: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while (upload := gateway.get(path, headers=ADMIN).json())["status"] == "processing":
        assert time.monotonic() < deadline, f"{path} still processing after {seconds} s"
        time.sleep(0.3)
    return upload


def test_complete_may_answer_at_once_with_where_to_ask(gateway: httpx.Client) -> None:
    data = (MODELS / "Fox.glb").read_bytes()
    sku = create_product(gateway)["sku"]
    path = put_file(gateway, sku, data)
    accepted = complete_async(gateway, path)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["Preference-Applied"] == "respond-async"
    assert accepted.headers["Location"] == path == accepted.json()["status_url"]
    assert accepted.json()["status"] == "processing"
    assert finished(gateway, path)["status"] == "done"
    product = gateway.get(f"/api/catalog/products/{sku}").json()
    assert product["model"]["original_bytes"] == len(data)
    # Once published, `complete` answers the product, waiting or not.
    again = complete_async(gateway, path)
    assert again.status_code == 200 and again.json() == product


def test_a_retried_complete_sends_no_second_job(gateway: httpx.Client, stack: Stack) -> None:
    sku = create_product(gateway)["sku"]
    path = put_file(gateway, sku, (MODELS / "Fox.glb").read_bytes())
    upload_id = path.rsplit("/", 1)[1]
    answers = [complete_async(gateway, path) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    waited = complete_upload(gateway, path + "/complete")
    assert waited.status_code == 200, waited.text
    started = [line for line in log_lines(worker(stack), "model job started")]
    assert [line["upload_id"] for line in started].count(upload_id) == 1


@pytest.fixture
def restartable_worker(stack: Stack) -> Iterator[Child]:
    """The stack's worker, running again after the test whatever the test did to it."""
    yield worker(stack)
    if not any(c.name == MODEL_WORKER.name for c in stack.processes.children):
        stack.processes.start(
            MODEL_WORKER.name, MODEL_WORKER.module, None, stack.env(), command="work"
        )


def test_a_worker_stopped_mid_job_hands_it_to_the_next(
    gateway: httpx.Client, stack: Stack, restartable_worker: Child
) -> None:
    sku = create_product(gateway)["sku"]
    path = put_file(gateway, sku, (MODELS / "Mixer.glb").read_bytes())
    upload_id = path.rsplit("/", 1)[1]
    assert complete_async(gateway, path).status_code == 202
    deadline = time.monotonic() + 60
    while upload_id not in [
        line["upload_id"] for line in log_lines(restartable_worker, "model job started")
    ]:
        assert time.monotonic() < deadline, "the worker never took the job"
        time.sleep(0.1)
    stopped_at = time.monotonic()
    stack.processes.stop(restartable_worker)  # SIGTERM, as systemd and a scale-in send it
    assert time.monotonic() - stopped_at < 10, "the worker did not stop promptly"
    handed = [line["upload_id"] for line in log_lines(restartable_worker, "model job handed back")]
    assert handed == [upload_id]
    assert gateway.get(path, headers=ADMIN).json()["status"] == "processing"
    stack.processes.start(MODEL_WORKER.name, MODEL_WORKER.module, None, stack.env(), command="work")
    assert finished(gateway, path)["status"] == "done"
    assert gateway.get(f"/api/catalog/products/{sku}").json()["model"]["preview_url"]


def test_messages_that_are_not_jobs_or_results_are_dropped_and_said(
    gateway: httpx.Client, stack: Stack
) -> None:
    sqs = emulator_client(stack.config.aws_endpoint_url or "", "sqs")
    environment = stack.config.environment
    for suffix in (MODEL_JOBS_QUEUE_SUFFIX, MODEL_RESULTS_QUEUE_SUFFIX):
        url = sqs.get_queue_url(QueueName=queue_name(environment, suffix))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody='{"upload_id": 7}')
    # Both keep working: the next upload is published as usual.
    sku = create_product(gateway)["sku"]
    path = put_file(gateway, sku, (MODELS / "Fox.glb").read_bytes())
    assert complete_upload(gateway, path + "/complete").status_code == 200
    assert log_lines(worker(stack), "not a model job; deleted")
    catalogs = [c for c in stack.processes.children if c.name.startswith("catalog-")]
    assert any(log_lines(c, "not a model result; deleted") for c in catalogs)
