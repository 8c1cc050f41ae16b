"""The gateway's app factory: `python -m gateway serve`."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from botocore.exceptions import BotoCoreError, ClientError
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from gateway import modelfiles, proxy, static
from gateway.balancer import Pool, run_health_checks
from gateway.security import security_headers
from gateway.settings import Settings
from petshore.aws import open_client, upload_origin
from petshore.contract import API_PATH_PREFIX, FILE_PATH_PREFIXES, SERVICES, service_for_path
from petshore.errors import MethodNotAllowed, NotFound
from petshore.web import setup_common

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic("gateway")
    app.ctx.settings = settings
    setup_common(app, "gateway", settings.common, (BotoCoreError, ClientError))
    # The front door, as CloudFront is: whatever X-Forwarded-For a caller sends is its own
    # claim, never its address.
    app.config.PROXIES_COUNT = 0
    app.register_middleware(
        security_headers(
            upload_origin(
                settings.common.aws_endpoint_url, settings.common.aws_region, settings.models_bucket
            )
        ),
        "response",
    )
    pools = {s.name: Pool.of(s, settings.upstreams[s.name]) for s in SERVICES}
    app.ctx.pools = pools

    @app.before_server_start
    async def start(app: Sanic) -> None:
        app.ctx.aws = AsyncExitStack()
        app.ctx.s3 = await open_client(app.ctx.aws, "s3", settings.common)
        app.ctx.clients = proxy.Clients(settings.upstream_timeout)
        app.ctx.health = asyncio.create_task(
            run_health_checks(
                list(pools.values()), app.ctx.clients.session, settings.health_interval
            )
        )

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        app.ctx.health.cancel()
        await app.ctx.clients.close()
        await app.ctx.aws.aclose()

    async def route(request: Request, path: str = "") -> HTTPResponse | None:
        service = service_for_path(request.path)
        if service is not None:
            target = pools[service.name].pick()
            return await proxy.forward(request.app.ctx.clients, target.url, request)
        if request.path.startswith(API_PATH_PREFIX):
            raise NotFound(f"no service answers {request.path}")
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        if request.path.startswith(FILE_PATH_PREFIXES):
            return await modelfiles.serve(request.app.ctx.s3, settings.models_bucket, request)
        return await static.serve(settings.static_dir, request)

    app.add_route(route, "/", methods=METHODS, name="root", stream=True)
    app.add_route(route, "/<path:path>", methods=METHODS, name="everything", stream=True)
    return app
