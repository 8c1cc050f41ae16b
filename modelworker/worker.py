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
)
from petshore.modeljobs import BadMessage, ModelJob, ModelResult
from petshore.queues import ModelQueues, open_model_queues, poll, receive_count

log = logging.getLogger("petshore.modelworker")


class Worker:
    def __init__(self, settings: Settings, s3: Any, queues: ModelQueues) -> None:
        self.settings = settings
        self.s3, self.queues = s3, queues
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
        return await poll(self.queues.sqs, self.queues.jobs_url, free, wait, log)

    async def _delete(self, receipt: str) -> None:
        await self.queues.sqs.delete_message(QueueUrl=self.queues.jobs_url, ReceiptHandle=receipt)

    async def _handle(self, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        try:
            job = ModelJob.from_message(message["Body"])
        except BadMessage as exc:
            # It would fail on every offer: gone, and said.
            log.error("not a model job; deleted", extra={"error": str(exc)})
            await self._delete(receipt)
            return
        attempt = {"upload_id": job.upload_id, "attempt": receive_count(message)}
        log.info("model job started", extra=attempt)
        try:
            result = await jobs.run(self.s3, self.settings, self.pipeline, job)
        except asyncio.CancelledError:
            # Stopping: another worker may take the job now rather than after the timeout.
            with contextlib.suppress(Exception):
                await self.queues.sqs.change_message_visibility(
                    QueueUrl=self.queues.jobs_url, ReceiptHandle=receipt, VisibilityTimeout=0
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
            await self.queues.sqs.send_message(
                QueueUrl=self.queues.results_url, MessageBody=result.to_message()
            )
            await self._delete(receipt)
        except Exception as exc:  # the job is offered again; its files are published already
            log.error(
                "model result not sent", extra={"upload_id": job.upload_id, "error": str(exc)}
            )


async def open_worker(stack: AsyncExitStack, settings: Settings) -> Worker:
    queues = await open_model_queues(stack, settings)
    s3 = await open_client(stack, "s3", settings.common)
    return Worker(settings, s3, queues)
