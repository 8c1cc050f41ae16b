"""The catalog's app factory: `sanic services.catalog.app:create_app --factory`."""

from __future__ import annotations

from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Request, Sanic

from petshore.aws import open_client
from petshore.db import DATABASE_ERRORS, ping, register_database, tortoise_config
from petshore.openapi import docs_blueprint
from petshore.web import health_blueprint, setup_common
from services.catalog.routes import products
from services.catalog.settings import Settings, make_pipeline

PACKAGE = "services.catalog"


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
    app.config.RESPONSE_TIMEOUT = settings.pipeline_timeout + 10
    app.ctx.pipeline = make_pipeline(settings)

    @app.before_server_start
    async def open_aws(app: Sanic) -> None:
        app.ctx.aws = AsyncExitStack()
        app.ctx.s3 = await open_client(app.ctx.aws, "s3", settings.common)

    @app.after_server_stop
    async def close_aws(app: Sanic) -> None:
        await app.ctx.aws.aclose()

    async def check(request: Request) -> None:
        await ping()

    app.blueprint(health_blueprint("catalog", check))
    app.blueprint(docs_blueprint("catalog", "Pet Shore 3D catalog"))
    app.blueprint(products)
    return app
