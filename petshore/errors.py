"""The error codes of the API contract, as exceptions, and the handler that renders them.

Every error leaves a service as `{"error": {"code", "message", "details"}}`; nothing a client
sends can produce a traceback or an HTML page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from sanic import Request, Sanic
from sanic.constants import HTTP_METHODS
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from petshore.responses import json

log = logging.getLogger("petshore.errors")


class ApiError(SanicException):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, status_code=self.status_code)
        self.message = message
        self.details = details or {}


class InvalidRequest(ApiError):
    status_code = 400
    code = "invalid_request"


def fields_error(problems: dict[str, str]) -> InvalidRequest:
    """A 400 that says what is wrong with each field (`details.problems`), so that a form can
    show it beside that field."""
    return InvalidRequest(
        "; ".join(f"{field}: {problem}" for field, problem in problems.items()),
        {"fields": sorted(problems), "problems": problems},
    )


def field_error(field: str, problem: str) -> InvalidRequest:
    return fields_error({field: problem})


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class PaymentDeclined(ApiError):
    status_code = 402
    code = "payment_declined"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class OutOfStock(Conflict):
    code = "out_of_stock"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class TooManyRequests(ApiError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class RequestTimeout(ApiError):
    status_code = 408
    code = "request_timeout"


class TooLarge(ApiError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class RangeNotSatisfiable(ApiError):
    status_code = 416
    code = "range_not_satisfiable"


class Unavailable(ApiError):
    status_code = 503
    code = "unavailable"


class ClientClosedRequest(ApiError):
    """The caller hung up before the answer (nginx's 499): nobody receives it, and it is
    nobody's error, but the access log must say what happened rather than a 500."""

    status_code = 499
    code = "client_closed_request"


# Sanic raises its own exceptions for routing and protocol errors; map them onto the contract.
_SANIC_CODES: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    408: RequestTimeout,
    413: TooLarge,
    415: UnsupportedMediaType,
    503: Unavailable,
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def as_api_error(
    exc: BaseException, dependency_errors: tuple[type[BaseException], ...] = ()
) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, asyncio.CancelledError):
        return ClientClosedRequest("the client closed the connection before the answer")
    if isinstance(exc, (*dependency_errors, ConnectionError, TimeoutError)):
        return Unavailable("a service this request needs is not answering; try again")
    if isinstance(exc, SanicException):
        status = exc.status_code or 500
        kind = _SANIC_CODES.get(status)
        if kind is not None:
            err = kind(str(exc) or kind.code.replace("_", " "))
            # Sanic's 405 names the methods the path takes in `Allow` (RFC 9110 requires it).
            err.headers = dict(exc.headers or {})
            return err
    return ApiError("internal error")


def error_response(exc: BaseException) -> HTTPResponse:
    err = as_api_error(exc)
    return json(
        error_body(err.code, err.message, err.details),
        status=err.status_code,
        headers=err.headers or None,
    )


def _allowed_methods(app: Sanic, path: str) -> list[str]:
    allowed = []
    for method in HTTP_METHODS:
        try:
            app.router.get(path, method, None)
        except SanicException:
            continue
        allowed.append(method)
    return allowed


def setup_errors(app: Sanic, dependency_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Render every exception as a contract error. `dependency_errors` are the exception types
    of the service's own stores and peers: they mean `503 unavailable`, not a bug."""

    async def handle(request: Request, exc: Exception) -> HTTPResponse:
        err = as_api_error(exc, dependency_errors)
        if err.status_code == 405 and "Allow" not in err.headers:
            # Sanic's router leaves `Allow` out for paths with parameters.
            err.headers["Allow"] = ", ".join(_allowed_methods(request.app, request.path))
        if err.status_code >= 500 and not isinstance(exc, ApiError):
            log.error(
                "%s %s failed: %r",
                request.method,
                request.path,
                exc,
                exc_info=err.status_code == 500,
            )
        return error_response(err)

    app.error_handler.add(Exception, handle)
    # A client that hangs up reaches the handler as Sanic's RequestCancelled, a CancelledError.
    app.error_handler.add(asyncio.CancelledError, handle)  # type: ignore[arg-type]
