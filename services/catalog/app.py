"""The catalog's app factory: `sanic services.catalog.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Request, Sanic

from petshore.aws import open_client
from petshore.contract import MODEL_JOBS_QUEUE_SUFFIX, MODEL_RESULTS_QUEUE_SUFFIX
from petshore.db import DATABASE_ERRORS, ping, register_database, tortoise_config
from petshore.openapi import docs_blueprint
from petshore.queues import queue_url
from petshore.web import health_blueprint, setup_common
from services.catalog.results import read_results
from services.catalog.routes import products
from services.catalog.settings import Settings
from services.catalog.uploads import ModelStores

PACKAGE = "services.catalog"


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
    app = Sanic("catalog")
    app.ctx.settings = settings
    setup_common(
        app,
        "catalog",
        settings.common,
        (BotoCoreError, ClientError, *DATABASE_ERRORS),
    )
    register_database(app, tortoise_config(settings.database_url, PACKAGE))

    @app.before_server_start
    async def open_stores(app: Sanic) -> None:
        app.ctx.aws = AsyncExitStack()
        app.ctx.stores = await open_model_stores(app.ctx.aws, settings)

    @app.after_server_start
    async def start_reading(app: Sanic) -> None:
        app.ctx.results = asyncio.create_task(read_results(app.ctx.stores))

    @app.before_server_stop
    async def stop_reading(app: Sanic) -> None:
        app.ctx.results.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.results

    @app.after_server_stop
    async def close_stores(app: Sanic) -> None:
        await app.ctx.aws.aclose()

    async def check(request: Request) -> None:
        await ping()

    app.blueprint(health_blueprint("catalog", check))
    app.blueprint(docs_blueprint("catalog", "Pet Shore 3D catalog"))
    app.blueprint(products)
    return app
