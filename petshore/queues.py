"""The model worker's SQS queues, as the catalog and the worker use them."""

from __future__ import annotations

import json
from typing import Any

from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    MODEL_JOBS_QUEUE_SUFFIX,
    MODEL_RESULTS_QUEUE_SUFFIX,
    queue_name,
)

# ReceiveMessage takes at most this many at once.
MAX_BATCH = 10


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


def receive_count(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
