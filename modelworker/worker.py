"""The worker's loop: as many jobs at once as it has slots, each deleted from the queue only
once its result is sent, so a worker that dies mid-job loses nothing (SQS offers the job
again after its visibility timeout, and after MODEL_JOB_ATTEMPTS offers moves it to the
dead-letter queue). On the last offer a job that still cannot run is reported `failed`, so
the upload does not wait for ever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from typing import Any

from modelworker import jobs
from modelworker.pipeline import Pipeline
from modelworker.settings import Settings
from petshore.aws import open_client
from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOBS_QUEUE_SUFFIX,
    MODEL_RESULTS_QUEUE_SUFFIX,
)
from petshore.modeljobs import BadMessage, ModelJob, ModelResult
from petshore.queues import queue_url, receive, receive_count

log = logging.getLogger("petshore.modelworker")
# After an error of the queue itself, before asking it again.
RETRY_SECONDS = 2.0
IDLE_SECONDS = 0.2


class Worker:
    def __init__(
        self, settings: Settings, s3: Any, sqs: Any, jobs_url: str, results_url: str
    ) -> None:
        self.settings = settings
        self.s3, self.sqs = s3, sqs
        self.jobs_url, self.results_url = jobs_url, results_url
        self.pipeline: Pipeline = settings.pipeline()
        self._running: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Until cancelled; then the jobs under way are handed back to the queue."""
        free = asyncio.Semaphore(self.settings.concurrent_jobs)
        try:
            while True:
                async with free:
                    messages = await self._receive()
                for message in messages:
                    await free.acquire()
                    task = asyncio.create_task(self._handle(message))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                    task.add_done_callback(lambda _: free.release())
        finally:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _receive(self) -> list[dict[str, Any]]:
        free = self.settings.concurrent_jobs - len(self._running)
        wait = self.settings.queue_wait_seconds
        try:
            messages = await receive(self.sqs, self.jobs_url, free, wait)
        except Exception as exc:  # the queue is down: keep asking, without spinning
            log.warning("cannot receive model jobs", extra={"error": str(exc)})
            await asyncio.sleep(RETRY_SECONDS)
            return []
        if not messages and wait == 0:
            await asyncio.sleep(IDLE_SECONDS)  # an emulator that answers at once when empty
        return messages

    async def _handle(self, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        try:
            job = ModelJob.from_message(message["Body"])
        except BadMessage as exc:
            # It would fail on every offer: gone, and said.
            log.error("not a model job; deleted", extra={"error": str(exc)})
            await self.sqs.delete_message(QueueUrl=self.jobs_url, ReceiptHandle=receipt)
            return
        attempt = {"upload_id": job.upload_id, "attempt": receive_count(message)}
        log.info("model job started", extra=attempt)
        try:
            result = await jobs.run(self.s3, self.settings, self.pipeline, job)
        except asyncio.CancelledError:
            # Stopping: another worker may take the job now rather than after the timeout.
            with contextlib.suppress(Exception):
                await self.sqs.change_message_visibility(
                    QueueUrl=self.jobs_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
                log.info("model job handed back", extra=attempt)
            raise
        except Exception as exc:
            log.error("model job could not run", extra={**attempt, "error": str(exc)})
            if attempt["attempt"] < MODEL_JOB_ATTEMPTS:
                return  # offered again after the visibility timeout
            result = ModelResult(
                job.upload_id, job.sku, "failed", [f"the model could not be processed: {exc}"]
            )
        try:
            await self.sqs.send_message(QueueUrl=self.results_url, MessageBody=result.to_message())
            await self.sqs.delete_message(QueueUrl=self.jobs_url, ReceiptHandle=receipt)
        except Exception as exc:  # the job is offered again; its files are published already
            log.error(
                "model result not sent", extra={"upload_id": job.upload_id, "error": str(exc)}
            )


async def open_worker(stack: AsyncExitStack, settings: Settings) -> Worker:
    common = settings.common
    s3 = await open_client(stack, "s3", common)
    # A long poll waits on purpose: its read may take that long and a little more.
    sqs = await open_client(stack, "sqs", common, common.aws_timeout + settings.queue_wait_seconds)
    env = common.environment
    jobs_url = await queue_url(sqs, settings.jobs_queue_url, env, MODEL_JOBS_QUEUE_SUFFIX)
    results_url = await queue_url(sqs, settings.results_queue_url, env, MODEL_RESULTS_QUEUE_SUFFIX)
    return Worker(settings, s3, sqs, jobs_url, results_url)
