"""The catalog's reader of the model worker's results queue: each result is kept (uploads.
record) and only then deleted, so a result heard while the database is away is heard again
after the queue's visibility timeout. Every catalog process reads; SQS gives each result to
one of them."""

from __future__ import annotations

import asyncio
import logging

from petshore.modeljobs import BadMessage, ModelResult
from petshore.queues import MAX_BATCH, receive
from services.catalog.uploads import ModelStores, record

log = logging.getLogger("petshore.catalog.results")
RETRY_SECONDS = 2.0
# An emulator's queue answers at once when empty: ask again this much later.
IDLE_SECONDS = 0.2


async def read_results(stores: ModelStores) -> None:
    """Until cancelled."""
    wait = stores.settings.queue_wait_seconds
    while True:
        try:
            messages = await receive(stores.sqs, stores.results_url, MAX_BATCH, wait)
        except Exception as exc:  # the queue is down: keep asking, without spinning
            log.warning("cannot receive model results", extra={"error": str(exc)})
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if not messages and wait == 0:
            await asyncio.sleep(IDLE_SECONDS)
        for message in messages:
            await _keep(stores, message)


async def _keep(stores: ModelStores, message: dict[str, str]) -> None:
    try:
        result = ModelResult.from_message(message["Body"])
        await record(stores, result)
    except BadMessage as exc:
        log.error("not a model result; deleted", extra={"error": str(exc)})
    except Exception as exc:
        log.warning("model result not kept yet", extra={"error": str(exc)})
        return
    try:
        await stores.sqs.delete_message(
            QueueUrl=stores.results_url, ReceiptHandle=message["ReceiptHandle"]
        )
    except Exception as exc:  # heard again later; keeping it twice changes nothing
        log.warning("model result not deleted", extra={"error": str(exc)})
