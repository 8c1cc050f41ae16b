"""Who a request comes from: automation with the admin token, or a customer whose session
cookie it carries, as the accounts service says; and the guard of admin routes, which take
either the token or a staff session.

How services other than accounts learn who the customer is (docs/architecture.md): each
request that carries the cookie to a route that asks costs one call to the accounts service
(`GET /api/accounts/sessions/current`, inside the VPC), which reads the session from DynamoDB
and the customer from PostgreSQL. No key is shared between services, and a signed-out or
demoted customer is refused from the next request on. Browsing, carts and guest checkouts pay
nothing. A signed token would save the call but need a revocation list to match that."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from petshore import audit
from petshore.contract import CSRF_HEADER, CURRENT_SESSION_PATH, SESSION_COOKIE, STAFF_ROLES
from petshore.errors import Forbidden, Unauthorized, Unavailable
from petshore.openapi import ADMIN_ATTRIBUTE, operation
from petshore.upstream import ServiceClient
from petshore.web import Handler

# Methods that change nothing, so a request made with the cookie needs no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIN_TOKEN_ACTOR = "admin-token"


@dataclass(frozen=True)
class Customer:
    customer_id: str
    email: str
    role: str
    csrf_token: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


async def signed_in(request: Request) -> Customer | None:
    """The customer whose session the request's cookie names; None without a cookie or when
    the session has ended. Asked once per request."""
    if hasattr(request.ctx, "customer"):
        return request.ctx.customer  # type: ignore[no-any-return]
    customer = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts: ServiceClient = request.app.ctx.accounts
        status, body = await accounts.request(
            "GET", CURRENT_SESSION_PATH, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
        )
        if status == 200:
            who = body["customer"]
            customer = Customer(who["customer_id"], who["email"], who["role"], body["csrf_token"])
        elif status != 401:
            raise Unavailable(f"the accounts service answered {status}")
    request.ctx.customer = customer
    return customer


def check_csrf(request: Request, csrf_token: str) -> None:
    """A change made with the session cookie carries the session's CSRF token (403); a read
    needs none. The accounts service checks its own sessions with this too."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token.encode()):
        raise Forbidden(f"a change made with the session cookie needs its {CSRF_HEADER}")


def admin_token_given(request: Request) -> bool:
    """Whether the request carries the admin token: False without an Authorization header,
    401 when the header is not a bearer token, 403 when the token is wrong."""
    header = request.headers.get("Authorization")
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this call needs an admin token: Authorization: Bearer <token>")
    expected: str = request.app.ctx.settings.common.admin_token
    if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Forbidden("the admin token is not valid")
    return True


async def admin_actor(request: Request) -> str:
    """Who makes an admin call: the admin token, or a staff member's session (401 with
    neither; 403 for a customer who is not staff, or a change without the CSRF token)."""
    if admin_token_given(request):
        return ADMIN_TOKEN_ACTOR
    customer = await signed_in(request)
    if customer is None:
        raise Unauthorized(
            "this call needs the admin token (Authorization: Bearer <token>) or a staff session"
        )
    if not customer.is_staff:
        raise Forbidden("this call is for the shop's staff")
    check_csrf(request, customer.csrf_token)
    return f"{customer.role}:{customer.customer_id}"


def admin_required(handler: Handler) -> Handler:
    """Admin routes take the admin token or a staff session; the handler finds who in
    `request.ctx.actor`, and a change it makes is recorded (`petshore.audit`)."""

    @wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        request.ctx.actor = await admin_actor(request)
        response = await handler(request, *args, **kwargs)
        # A streamed answer (the CSV export) was sent by the handler itself.
        await audit.record(request, request.ctx.actor, response.status if response else 200, kwargs)
        return response

    setattr(wrapper, ADMIN_ATTRIBUTE, True)
    return wrapper


def admin_route(
    bp: Blueprint, method: str, uri: str, summary: str, **declared: Any
) -> Callable[[Handler], Handler]:
    """Route `method uri` to the handler behind `admin_required`, declared for the OpenAPI
    document as `operation(summary, **declared)` declares it."""

    def register(handler: Handler) -> Handler:
        guarded = admin_required(operation(summary, **declared)(handler))
        bp.route(uri, methods=[method])(guarded)
        return guarded

    return register
