"""What every Sanic app of the project sets up: request ids, access logs, JSON errors,
admin authentication, request-body validation and the health endpoint."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from petshore.errors import (
    Forbidden,
    InvalidRequest,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    setup_errors,
)
from petshore.logs import configure_logging, request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# API bodies are small JSON documents; model files go straight to S3, never through a service.
MAX_BODY_BYTES = 1024 * 1024
# A caller's id is passed on only when it is short and printable; otherwise a new one is made.
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

access_log = logging.getLogger("petshore.access")

Handler = Callable[..., Awaitable[HTTPResponse]]
M = TypeVar("M", bound=BaseModel)


def incoming_request_id(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID_OK.match(given) else uuid.uuid4().hex


async def _start_request(request: Request) -> None:
    request.ctx.request_id = incoming_request_id(request)
    request.ctx.started = time.perf_counter()
    request_id_var.set(request.ctx.request_id)


async def _finish_request(request: Request, response: HTTPResponse) -> None:
    request_id = getattr(request.ctx, "request_id", None) or incoming_request_id(request)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = getattr(request.ctx, "started", None)
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            # Behind the gateway or the ALB, the caller's address as the front door saw it.
            "client": request.headers.get("X-Forwarded-For") or request.ip,
            "status": response.status,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )


def setup_common(
    app: Sanic,
    service: str,
    log_level: str,
    dependency_errors: tuple[type[BaseException], ...] = (),
) -> None:
    configure_logging(service, log_level)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.register_middleware(_start_request, "request")
    app.register_middleware(_finish_request, "response")
    setup_errors(app, dependency_errors)


def admin_required(handler: Handler) -> Handler:
    """Admin routes need `Authorization: Bearer <token>`: 401 without it, 403 when wrong."""

    @wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        expected: str = request.app.ctx.settings.common.admin_token
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this call needs an admin token: Authorization: Bearer <token>")
        if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise Forbidden("the admin token is not valid")
        return await handler(request, *args, **kwargs)

    return wrapper


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error(exc: ValidationError) -> InvalidRequest:
    fields = sorted({_field_name(e["loc"]) for e in exc.errors()})
    problems = [f"{_field_name(e['loc'])}: {e['msg']}" for e in exc.errors()]
    return InvalidRequest(
        "; ".join(problems),
        {"fields": fields},
    )


def parse_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as `model`, or a 400/415 that names what is wrong."""
    content_type = request.headers.get("Content-Type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith(("/json", "+json")):
        raise UnsupportedMediaType("send the body as application/json")
    try:
        return model.model_validate_json(request.body or b"")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidRequest("the body is not valid JSON", {"fields": ["body"]}) from exc
        raise validation_error(exc) from exc


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def health_blueprint(service: str, check: Callable[[Request], Awaitable[None]]) -> Blueprint:
    """`GET /api/<service>/health`: 200 when the service reaches its own store, else 503."""
    bp = Blueprint(f"{service}_health", url_prefix=f"/api/{service}")

    @bp.get("/health")
    async def health(request: Request) -> HTTPResponse:
        try:
            await check(request)
        except Exception as exc:
            raise Unavailable(f"{service} cannot reach its data store") from exc
        return json({"status": "ok"})

    return bp
