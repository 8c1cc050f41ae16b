"""The catalog's app factory: `python -m services.catalog serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import CATALOG, MODEL_JOBS_QUEUE_SUFFIX, MODEL_RESULTS_QUEUE_SUFFIX
from petshore.db import ping
from petshore.queues import queue_url
from petshore.service import service_app
from services.catalog.results import read_results
from services.catalog.routes import products
from services.catalog.settings import Settings
from services.catalog.uploads import ModelStores


async def open_model_stores(stack: AsyncExitStack, settings: Settings) -> ModelStores:
    """The models bucket and the model worker's queues, open as long as `stack`."""
    common = settings.common
    s3 = await open_client(stack, "s3", common)
    # A long poll waits on purpose: its read may take that long and a little more.
    sqs = await open_client(stack, "sqs", common, common.aws_timeout + settings.queue_wait_seconds)
    env = common.environment
    return ModelStores(
        settings,
        s3,
        sqs,
        await queue_url(sqs, settings.jobs_queue_url, env, MODEL_JOBS_QUEUE_SUFFIX),
        await queue_url(sqs, settings.results_queue_url, env, MODEL_RESULTS_QUEUE_SUFFIX),
    )


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()

    async def open_stores(stack: AsyncExitStack) -> ModelStores:
        return await open_model_stores(stack, settings)

    async def reach_database(stores: ModelStores) -> None:
        await ping()

    return service_app(
        CATALOG,
        settings,
        routes=products,
        open_resources=open_stores,
        check=reach_database,
        database_url=settings.database_url,
        dependency_errors=(BotoCoreError, ClientError),
        background=[read_results],
    )
