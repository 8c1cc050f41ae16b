"""The model worker's SQS queues, as the catalog and the worker use them."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from petshore.aws import open_client
from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    MODEL_JOBS_QUEUE_SUFFIX,
    MODEL_RESULTS_QUEUE_SUFFIX,
    queue_name,
)
from petshore.settings import CommonSettings

# ReceiveMessage takes at most this many at once, and waits at most this long (a long poll:
# an idle reader asks three times a minute).
MAX_BATCH = 10
LONGEST_POLL_SECONDS = 20
# After an error of the queue itself, before asking it again.
RETRY_SECONDS = 2.0
# An emulator's queue polled without waiting answers at once when empty: ask again this much
# later, not at once.
IDLE_SECONDS = 0.2


@dataclass(frozen=True)
class ModelQueues:
    """The model worker's two queues, as the catalog and the worker reach them."""

    sqs: Any
    jobs_url: str
    results_url: str


class QueueSettings(Protocol):
    """What the catalog's and the model worker's settings both say of the queues."""

    @property
    def common(self) -> CommonSettings: ...
    @property
    def queue_wait_seconds(self) -> int: ...
    @property
    def jobs_queue_url(self) -> str | None: ...
    @property
    def results_queue_url(self) -> str | None: ...


async def open_model_queues(stack: AsyncExitStack, settings: QueueSettings) -> ModelQueues:
    """An SQS client open as long as `stack`, and both queues' URLs (the configured ones, or
    those named after the environment)."""
    common = settings.common
    # A long poll waits on purpose: its read may take that long and a little more.
    read_timeout = common.aws_timeout + settings.queue_wait_seconds
    sqs = await open_client(stack, "sqs", common, read_timeout)
    env = common.environment
    return ModelQueues(
        sqs,
        await queue_url(sqs, settings.jobs_queue_url, env, MODEL_JOBS_QUEUE_SUFFIX),
        await queue_url(sqs, settings.results_queue_url, env, MODEL_RESULTS_QUEUE_SUFFIX),
    )


async def queue_url(sqs: Any, configured: str | None, environment: str, suffix: str) -> str:
    """The configured URL (the stack passes it), or the URL of the queue named after the
    environment (local runs and tests)."""
    if configured:
        return configured
    answer = await sqs.get_queue_url(QueueName=queue_name(environment, suffix))
    return str(answer["QueueUrl"])


async def ensure_queues(sqs: Any, environment: str) -> None:
    """For emulators and local runs, as the stack makes them in AWS (templates/queues.py):
    jobs that fail MODEL_JOB_ATTEMPTS times go to a dead-letter queue."""
    jobs = queue_name(environment, MODEL_JOBS_QUEUE_SUFFIX)
    dead = await sqs.create_queue(QueueName=f"{jobs}-dead")
    dead_arn = await sqs.get_queue_attributes(
        QueueUrl=dead["QueueUrl"], AttributeNames=["QueueArn"]
    )
    redrive = {
        "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(MODEL_JOB_ATTEMPTS),
    }
    await sqs.create_queue(
        QueueName=jobs,
        Attributes={
            "VisibilityTimeout": str(MODEL_JOB_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    await sqs.create_queue(QueueName=queue_name(environment, MODEL_RESULTS_QUEUE_SUFFIX))


async def receive(sqs: Any, url: str, most: int, wait_seconds: int) -> list[dict[str, Any]]:
    """Up to `most` messages, waiting up to `wait_seconds` for the first (a long poll), each
    with how often it has been received."""
    answer = await sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(most, MAX_BATCH)),
        WaitTimeSeconds=wait_seconds,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    return list(answer.get("Messages", []))


async def poll(
    sqs: Any, url: str, most: int, wait_seconds: int, log: logging.Logger
) -> list[dict[str, Any]]:
    """`receive`, for a loop that asks again and again: a queue that does not answer is
    logged and asked again after RETRY_SECONDS, and an empty answer to a poll that did not
    wait is followed by IDLE_SECONDS of rest, so the loop never spins."""
    try:
        messages = await receive(sqs, url, most, wait_seconds)
    except Exception as exc:
        log.warning("cannot receive from the queue", extra={"queue": url, "error": str(exc)})
        await asyncio.sleep(RETRY_SECONDS)
        return []
    if not messages and wait_seconds == 0:
        await asyncio.sleep(IDLE_SECONDS)
    return messages


def receive_count(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
