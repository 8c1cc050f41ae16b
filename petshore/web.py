"""What every Sanic app of the project sets up: request ids, access logs, JSON errors,
a deadline for slow clients, what caches may keep (and conditional requests), request-body
validation and the health endpoint. (Who a request comes from: petshore.auth.)"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import unquote

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sanic import Blueprint, Request, Sanic
from sanic.request.parameters import RequestParameters
from sanic.response import HTTPResponse

from petshore.bodies import PATTERN_PROBLEMS, storable_text
from petshore.contract import API_PATH_PREFIX, SKU_PATTERN, Service
from petshore.errors import (
    InvalidRequest,
    NotFound,
    RequestTimeout,
    Unavailable,
    UnsupportedMediaType,
    fields_error,
    setup_errors,
)
from petshore.logs import configure_logging, request_id_var
from petshore.openapi import (
    ADMIN_ATTRIBUTE,
    PUBLIC_ATTRIBUTE,
    Health,
    declared_query,
    operation,
)
from petshore.responses import json
from petshore.settings import CommonSettings

REQUEST_ID_HEADER = "X-Request-ID"
# API bodies are small JSON documents; model files go straight to S3, never through a service.
MAX_BODY_BYTES = 1024 * 1024
# A caller's id is passed on only when it is short and printable; otherwise a new one is made.
REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# What an answer gets unless its route is a `public_get`: carts and orders are personal data,
# admin answers are for the admin alone, and an error is no answer to keep.
NO_STORE = "no-store"
# One member of an If-None-Match list (RFC 9110 5.6.1, 8.8.3): an entity-tag, weak or strong,
# or nothing (a list may hold empty members), then a comma or the end of the field.
_LIST_MEMBER = re.compile(r'[ \t]*(?:(?:W/)?("[^"\x00-\x20\x7f]*"))?[ \t]*(?:,|\Z)')

access_log = logging.getLogger("petshore.access")
# A request that took this long gets its access line whatever its status.
SLOW_REQUEST_MS = 1000.0

Handler = Callable[..., Awaitable[HTTPResponse]]
M = TypeVar("M", bound=BaseModel)


def incoming_request_id(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    # Not a secret, only unique: no system call for random bytes on every request.
    return given if REQUEST_ID_OK.match(given) else f"{random.getrandbits(128):032x}"


async def _start_request(request: Request) -> None:
    request.ctx.request_id = incoming_request_id(request)
    request.ctx.started = time.perf_counter()
    request_id_var.set(request.ctx.request_id)
    _refuse_unstorable(request)


def _refuse_unstorable(request: Request) -> None:
    """A NUL or a lone surrogate in an API path or query is text no database stores
    (PostgreSQL refuses it outright): a 400 naming where, before any handler sees it.
    (Static files are not looked up in a database: there it is just no such file.)"""
    if not request.path.startswith(API_PATH_PREFIX):
        return
    if not storable_text(unquote(request.path)):
        raise InvalidRequest(
            "the path holds a character this API does not take", {"fields": ["path"]}
        )
    for name, values in request.args.items():
        if not all(storable_text(v) for v in values):
            raise InvalidRequest(
                f"{name} holds a character this API does not take", {"fields": [name]}
            )


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it arrives, or a 408 once the client has sent nothing of it for
    REQUEST_TIMEOUT seconds (Sanic applies that limit to the head only)."""
    stream = request.stream
    while stream is not None and stream.request_body:
        try:
            async with asyncio.timeout(request.app.config.REQUEST_TIMEOUT):
                chunk = await stream.read()
        except TimeoutError:
            # The rest will not come: close the connection after the 408 rather than keep
            # waiting to drain a body that never ends.
            stream.keep_alive = False
            stream.request_body = None
            raise RequestTimeout(
                f"the request body stopped arriving for "
                f"{request.app.config.REQUEST_TIMEOUT:g} seconds"
            ) from None
        if chunk:
            yield chunk


class TimedRequest(Request):
    """Reads a route's body (before its handler runs) with the deadline of `body_chunks`."""

    async def receive_body(self) -> None:
        if not self.body:
            self.body = b"".join([chunk async for chunk in body_chunks(self)])


def etag_matches(if_none_match: Iterable[str], etag: str) -> bool:
    """Whether If-None-Match (its field lines, as received) names `etag`: `*`, or a listed
    tag equal to it by the weak comparison, where `W/"x"` matches `"x"` (RFC 9110 13.1.2).
    A field that is not a valid list matches nothing: a full answer is always correct, a
    304 only when the client surely holds the body."""
    # Lines of a list field are one list (RFC 9110 5.3).
    value = ",".join(if_none_match)
    if value.strip(" \t") == "*":
        return True
    tags: set[str | None] = set()
    position = 0
    while position < len(value):
        member = _LIST_MEMBER.match(value, position)
        if member is None:
            return False
        tags.add(member.group(1))
        position = member.end()
    return etag.removeprefix("W/") in tags


def public_get(bp: Blueprint, uri: str, *, max_age: int) -> Callable[[Handler], Handler]:
    """Route GET and HEAD of `uri` to the handler, whose 200 answers are the same for every
    caller: any cache (CloudFront's, a browser's) may keep them `max_age` seconds. They
    carry a strong ETag of their body, and a request whose If-None-Match names it is
    answered 304. Every other route's answers are `no-store`."""

    def register(handler: Handler) -> Handler:
        if getattr(handler, ADMIN_ATTRIBUTE, False):
            raise TypeError(f"{handler.__name__}: an admin answer is never public")
        setattr(handler, PUBLIC_ATTRIBUTE, max_age)
        bp.route(uri, methods=["GET", "HEAD"], ignore_body=True)(handler)
        return handler

    return register


def _set_caching(request: Request, response: HTTPResponse) -> None:
    """Public 200s get their Cache-Control and ETag (or become a 304); any other answer
    without a Cache-Control of its own gets `no-store`. (The gateway's proxied answers keep
    the service's; its static and model files set their own.)"""
    route = request.route
    max_age: int | None = getattr(route.handler, PUBLIC_ATTRIBUTE, None) if route else None
    if max_age is None or response.status != 200 or response.body is None:
        response.headers.setdefault("Cache-Control", NO_STORE)
        return
    etag = f'"{hashlib.sha256(response.body).hexdigest()[:32]}"'
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["ETag"] = etag
    if etag_matches(request.headers.getall("If-None-Match", []), etag):
        response.status = 304
        response.body = b""


def access_level(status: int, ms: float | None, every_request: bool) -> int | None:
    """The level of a request's access line, or None for none: a failure's always (a server
    error's as an error: its line is written at once, petshore.logs, so not even a process
    killed right after it loses it), a slow answer's, and any other's only with
    `every_request`. The front door logs every request anyway, and a line for each cost a
    product page a quarter of the catalog's CPU (bench/README.md, session 29)."""
    if status >= 500:
        return logging.ERROR
    if status >= 400 or every_request or (ms is not None and ms >= SLOW_REQUEST_MS):
        return logging.INFO
    return None


async def _finish_request(request: Request, response: HTTPResponse) -> None:
    # First, so that the access log has the status sent (a 304 rather than the 200).
    _set_caching(request, response)
    request_id = getattr(request.ctx, "request_id", None) or incoming_request_id(request)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = getattr(request.ctx, "started", None)
    ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    level = access_level(response.status, ms, request.app.ctx.log_every_request)
    if level is None:
        return
    access_log.log(
        level,
        "request",
        extra={
            "method": request.method,
            # The formatter redacts the cart or order id a path may hold.
            "path": request.path,
            # Behind the gateway, or CloudFront and the ALB: the caller's address as the
            # front door saw it.
            "client": request.remote_addr or request.ip,
            "status": response.status,
            "ms": ms,
        },
    )


def setup_common(
    app: Sanic,
    service: str,
    common: CommonSettings,
    dependency_errors: tuple[type[BaseException], ...] = (),
) -> None:
    configure_logging(service, common.log_level)
    app.ctx.log_every_request = common.access_log == "all"
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.REQUEST_TIMEOUT = common.request_timeout
    app.config.PROXIES_COUNT = common.proxies_count
    app.request_class = TimedRequest
    app.register_middleware(_start_request, "request")
    app.register_middleware(_finish_request, "response")
    setup_errors(app, dependency_errors)


def query_args(request: Request) -> RequestParameters:
    """The query's parameters, blank ones kept (`limit=` is a malformed limit, not none); one
    the route's operation does not declare is a `400` naming it, as an unknown body field is."""
    args = request.get_args(keep_blank_values=True)
    known = declared_query(request.route.handler) if request.route else frozenset()
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidRequest(f"unknown query parameters: {', '.join(unknown)}", {"fields": unknown})
    return args


def search_words(raw: str | None, max_length: int, *, allow_blank: bool = False) -> str | None:
    """A search parameter's words, each run of white space made one space. `q=` with nothing
    in it is a `400`, or with `allow_blank` no search at all (a storefront's empty search
    box)."""
    if raw is None:
        return None
    words = " ".join(raw.split())
    if not words and allow_blank:
        return None
    if not 1 <= len(words) <= max_length:
        raise InvalidRequest(f"q holds 1 to {max_length} characters of text", {"fields": ["q"]})
    return words


def parse_skus(raw: str | None, most: int) -> list[str]:
    """`skus=A,B`: each SKU once, in the order given; at most `most` of them."""
    if raw is None:
        raise InvalidRequest("give skus=A,B", {"fields": ["skus"]})
    skus = list(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    if len(skus) > most:
        raise InvalidRequest(f"ask for at most {most} SKUs at once", {"fields": ["skus"]})
    bad = [s for s in skus if not SKU_PATTERN.match(s)]
    if bad:
        raise InvalidRequest(f"not SKUs: {', '.join(bad)}", {"fields": ["skus"]})
    return skus


def product_sku(sku: str) -> str:
    """A SKU in a path names a product: one that cannot be a SKU names none, and is `404` like
    an unknown one. (The cart's item paths are the contract's exception: the cart checks a
    SKU's form, `400`, and leaves whether it exists to checkout.)"""
    if not SKU_PATTERN.match(sku):
        raise NotFound(f"no product with SKU {sku}")
    return sku


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _problem(error: ErrorDetails) -> str:
    """What is wrong with a field, in words a form can show beside it."""
    context = error.get("ctx", {})
    match error["type"]:
        case "missing":
            return "this is required"
        case "string_too_short" if context.get("min_length") == 1:
            return "fill this in"
        case "string_too_long":
            return f"at most {context['max_length']} characters"
        case "string_pattern_mismatch" if context.get("pattern") in PATTERN_PROBLEMS:
            return PATTERN_PROBLEMS[context["pattern"]]
        case "extra_forbidden":
            return "not a field this request takes"
        case "value_error":
            return str(context.get("error", error["msg"]))
    return str(error["msg"])


def validation_error(exc: ValidationError) -> InvalidRequest:
    """A 400 naming every field that is wrong (`details.fields`) and, for each, what is wrong
    with it (`details.problems`, the first problem of a field)."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        problems.setdefault(_field_name(error["loc"]), _problem(error))
    return fields_error(problems)


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


def health_blueprint(service: Service, check: Callable[[Request], Awaitable[None]]) -> Blueprint:
    """`GET /api/<service>/health`: 200 when the service reaches its own store, else 503."""
    bp = Blueprint(f"{service.name}_health")

    @bp.get(service.health_path)
    @operation("Whether the service reaches its own data store", answers={200: Health})
    async def health(request: Request) -> HTTPResponse:
        try:
            await check(request)
        except Exception as exc:
            raise Unavailable(f"{service.name} cannot reach its data store") from exc
        return json({"status": "ok"})

    return bp
