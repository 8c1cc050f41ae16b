"""The catalog's app factory: `python -m services.catalog serve`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Sanic

from petshore.aws import open_client
from petshore.contract import CATALOG
from petshore.db import ping
from petshore.queues import open_model_queues
from petshore.service import service_app
from services.catalog.results import read_results
from services.catalog.routes import products
from services.catalog.settings import Settings
from services.catalog.uploads import ModelStores


async def open_model_stores(stack: AsyncExitStack, settings: Settings) -> ModelStores:
    """The models bucket and the model worker's queues, open as long as `stack`."""
    queues = await open_model_queues(stack, settings)
    s3 = await open_client(stack, "s3", settings.common)
    return ModelStores(settings, s3, queues)


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
        accounts_url=settings.accounts_url,
        upstream_timeout=settings.upstream_timeout,
    )
