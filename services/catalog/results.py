"""The catalog's reader of the model worker's results queue: each result is kept (uploads.
record) and only then deleted, so a result heard while the database is away is heard again
after the queue's visibility timeout. Every catalog process reads; SQS gives each result to
one of them."""

from __future__ import annotations

import logging

from petshore.modeljobs import BadMessage, ModelResult
from petshore.queues import MAX_BATCH, poll
from services.catalog.uploads import ModelStores, record

log = logging.getLogger("petshore.catalog.results")


async def read_results(stores: ModelStores) -> None:
    """Until cancelled."""
    queues, wait = stores.queues, stores.settings.queue_wait_seconds
    while True:
        for message in await poll(queues.sqs, queues.results_url, MAX_BATCH, wait, log):
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
        await stores.queues.sqs.delete_message(
            QueueUrl=stores.queues.results_url, ReceiptHandle=message["ReceiptHandle"]
        )
    except Exception as exc:  # heard again later; keeping it twice changes nothing
        log.warning("model result not deleted", extra={"error": str(exc)})
