"""The one shape of a service's app: `service_app` builds it from the routing table's entry
and the service's own parts, so every service sets up the same way — logging, JSON errors,
its database (if it owns one), its resources opened in the server's start listener and closed
at its stop, background tasks, the health check, the OpenAPI document and its routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Protocol, TypeVar

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

from petshore import audit, paging
from petshore.auth import admin_route
from petshore.contract import ACCOUNTS, Service
from petshore.db import DATABASE_ERRORS, register_database, tortoise_config
from petshore.errors import InvalidRequest
from petshore.openapi import Param, docs_blueprint, string
from petshore.responses import json
from petshore.settings import CommonSettings
from petshore.upstream import ServiceClient
from petshore.web import health_blueprint, query_args, setup_common

R = TypeVar("R")


class ServiceSettings(Protocol):
    @property
    def common(self) -> CommonSettings: ...


def service_app(
    service: Service,
    settings: ServiceSettings,
    *,
    routes: Blueprint,
    open_resources: Callable[[AsyncExitStack], Awaitable[R]],
    check: Callable[[R], Awaitable[None]],
    database_url: str | None = None,
    dependency_errors: tuple[type[BaseException], ...] = (),
    background: Sequence[Callable[[R], Awaitable[None]]] = (),
    accounts_url: str | None = None,
    upstream_timeout: float = 5.0,
) -> Sanic:
    """`open_resources` opens what the handlers use (clients, stores, peers), closing each on
    the stack it is given; handlers reach it as `request.app.ctx.resources`. `check` is the
    health check: whether the service reaches its own store. `background`: tasks that run
    while the server serves, each given the resources. `accounts_url`: where the accounts
    service answers who a session cookie belongs to (petshore.auth), for a service whose
    routes ask."""
    app = Sanic(service.name)
    app.ctx.settings = settings
    errors = dependency_errors + (DATABASE_ERRORS if database_url else ())
    setup_common(app, service.name, settings.common, errors)
    if database_url:
        register_database(app, tortoise_config(database_url, service.module))

    @app.before_server_start
    async def open_all(app: Sanic) -> None:
        app.ctx.resources_stack = AsyncExitStack()
        if accounts_url:
            app.ctx.accounts = ServiceClient(ACCOUNTS.name, accounts_url, upstream_timeout)
            app.ctx.resources_stack.push_async_callback(app.ctx.accounts.close)
        app.ctx.resources = await open_resources(app.ctx.resources_stack)

    @app.after_server_start
    async def start_background(app: Sanic) -> None:
        app.ctx.background = [asyncio.create_task(task(app.ctx.resources)) for task in background]

    @app.before_server_stop
    async def stop_background(app: Sanic) -> None:
        for task in app.ctx.background:
            task.cancel()
        for task in app.ctx.background:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @app.after_server_stop
    async def close_all(app: Sanic) -> None:
        await app.ctx.resources_stack.aclose()

    async def health(request: Request) -> None:
        await check(request.app.ctx.resources)

    app.blueprint(health_blueprint(service, health))
    app.blueprint(docs_blueprint(service))
    if database_url and service.admin:
        app.blueprint(audit_blueprint(service))
    app.blueprint(routes)
    return app


def audit_blueprint(service: Service) -> Blueprint:
    """`GET /api/<service>/admin-actions`: the service's log of admin changes."""
    bp = Blueprint(f"{service.name}_audit", url_prefix=service.path_prefix.rstrip("/"))

    @admin_route(
        bp,
        "GET",
        "/admin-actions",
        "Changes made with admin rights, newest first: who, what and to which",
        params=[
            Param(
                "target",
                string(minLength=1, maxLength=audit.TARGET_LENGTH),
                description="a SKU, an id",
            ),
            paging.LIMIT_PARAM,
        ],
        answers={200: audit.Actions},
    )
    async def admin_actions(request: Request) -> HTTPResponse:
        args = query_args(request)
        limit = paging.parse_limit(args.get("limit"))
        target = args.get("target")
        if target is not None and not 1 <= len(target) <= audit.TARGET_LENGTH:
            raise InvalidRequest(
                f"target holds 1 to {audit.TARGET_LENGTH} characters", {"fields": ["target"]}
            )
        return json(await audit.actions(target, limit))

    return bp
