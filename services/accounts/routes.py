"""The accounts service's HTTP routes; handlers only translate between HTTP and
`sessions`/`store`."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from petshore import audit, paging
from petshore.auth import ADMIN_TOKEN_ACTOR, admin_token_given, check_csrf
from petshore.contract import ACCOUNTS, CSRF_HEADER, SESSION_COOKIE, STAFF_ROLES
from petshore.errors import Forbidden, NotFound
from petshore.openapi import ErrorBody, Param, operation, string
from petshore.responses import json
from petshore.web import parse_body, query_args, search_words
from services.accounts import rules, sessions, store, views
from services.accounts.schemas import PasswordChange, ProfilePatch, RoleChange, SignIn, SignUp
from services.accounts.sessions import Accounts, Started
from services.accounts.store import Session

accounts = Blueprint("accounts_accounts", url_prefix=ACCOUNTS.path_prefix.rstrip("/"))

CSRF = Param(
    CSRF_HEADER,
    string(),
    where="header",
    required=True,
    description="the csrf_token of the sign-in answer",
)


def _accounts(request: Request) -> Accounts:
    return request.app.ctx.resources


def _secure(request: Request) -> bool:
    return not rules.is_local_host(request.host)


def _set_cookie(request: Request, response: HTTPResponse, session_id: str, max_age: int) -> None:
    response.add_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
        max_age=max_age,
    )


def _started(request: Request, response: HTTPResponse, started: Started) -> HTTPResponse:
    _set_cookie(
        request, response, started.session_id, _accounts(request).settings.session_idle_seconds
    )
    return response


def _ended(request: Request) -> HTTPResponse:
    response = empty()
    _set_cookie(request, response, "", 0)  # the browser forgets it
    return response


async def _session(request: Request) -> Session:
    """The request's session (401 without one); a change made with it must carry the CSRF
    token (403)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session, slid = await sessions.current(_accounts(request), cookie)
    check_csrf(request, session.csrf_token)
    if slid:
        request.ctx.slid_session = cookie
    return session


@accounts.on_response
async def _send_slid_cookie(request: Request, response: HTTPResponse) -> None:
    """A session that slid forward gets its cookie again, with the new lifetime."""
    cookie = getattr(request.ctx, "slid_session", None)
    if cookie and response.status < 400:
        _set_cookie(request, response, cookie, _accounts(request).settings.session_idle_seconds)


def _address(request: Request) -> str:
    return request.remote_addr or request.ip


@accounts.post("/customers")
@operation(
    "Sign up: a customer and a session (with the admin token: any role, no session)",
    body=SignUp,
    answers={201: views.SignedUp},
    errors=[403, 409],
)
async def sign_up(request: Request) -> HTTPResponse:
    admin = admin_token_given(request)
    body = parse_body(request, SignUp)
    if body.role not in (None, "customer") and not admin:
        raise Forbidden("only the admin token creates staff and owners")
    row = await sessions.sign_up(_accounts(request), body, body.role or "customer")
    if admin:
        await audit.record(request, ADMIN_TOKEN_ACTOR, 201, {"customer_id": row["id"]})
        return json(views.signed_up(row, None), status=201)
    started = await sessions.start_session(_accounts(request), row["id"])
    response = json(views.signed_up(row, started.session.csrf_token), status=201)
    return _started(request, response, started)


@accounts.post("/sessions")
@operation(
    "Sign in; a guest cart given is merged into the customer's",
    body=SignIn,
    answers={200: views.SignedIn, 401: ErrorBody, 429: ErrorBody},
)
async def sign_in(request: Request) -> HTTPResponse:
    body = parse_body(request, SignIn)
    row, started = await sessions.sign_in(_accounts(request), body, _address(request))
    answer = views.signed_in(row, started.session.csrf_token, started.session.expires_at)
    return _started(request, json(answer), started)


@accounts.get("/sessions/current")
@operation(
    "The signed-in customer, the session's CSRF token and cart (for a page that reloads)",
    answers={200: views.SignedIn, 401: ErrorBody},
)
async def current_session(request: Request) -> HTTPResponse:
    session = await _session(request)
    row = await store.get_customer(session.customer_id)
    return json(views.signed_in(row, session.csrf_token, session.expires_at))


@accounts.delete("/sessions/current")
@operation("Sign out", params=[CSRF], answers={204: None, 401: ErrorBody, 403: ErrorBody})
async def sign_out(request: Request) -> HTTPResponse:
    session = await _session(request)
    await store.delete_session(_accounts(request).table, session.key)
    return _ended(request)


@accounts.delete("/sessions")
@operation(
    "Sign out everywhere: every session of this customer ends",
    params=[CSRF],
    answers={204: None, 401: ErrorBody, 403: ErrorBody},
)
async def sign_out_everywhere(request: Request) -> HTTPResponse:
    session = await _session(request)
    await store.delete_sessions(_accounts(request).table, session.customer_id)
    return _ended(request)


@accounts.get("/me")
@operation("The signed-in customer", answers={200: views.Customer, 401: ErrorBody})
async def me(request: Request) -> HTTPResponse:
    session = await _session(request)
    return json(views.customer(await store.get_customer(session.customer_id)))


@accounts.patch("/me")
@operation(
    "Change the name or the default shipping address (null clears it)",
    params=[CSRF],
    body=ProfilePatch,
    answers={200: views.Customer, 401: ErrorBody, 403: ErrorBody},
)
async def update_me(request: Request) -> HTTPResponse:
    session = await _session(request)
    changes = parse_body(request, ProfilePatch).changes()
    return json(views.customer(await store.update_customer(session.customer_id, changes)))


@accounts.put("/me/password")
@operation(
    "Change the password; the customer's other sessions end",
    params=[CSRF],
    body=PasswordChange,
    answers={204: None, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody},
)
async def change_password(request: Request) -> HTTPResponse:
    session = await _session(request)
    body = parse_body(request, PasswordChange)
    await sessions.change_password(_accounts(request), session, body, _address(request))
    return empty()


async def _staff_actor(request: Request, *, owner_only: bool) -> str:
    """Who makes a staff call to accounts: the admin token, or a signed-in member of staff
    (the owner, for what only the owner may do); 401 or 403 for anyone else."""
    if admin_token_given(request):
        return ADMIN_TOKEN_ACTOR
    session = await _session(request)
    me = await store.get_customer(session.customer_id)
    if owner_only and me["role"] != "owner":
        raise Forbidden("only the owner sets roles")
    if me["role"] not in STAFF_ROLES:
        raise Forbidden("this call is for the shop's staff")
    return f"{me['role']}:{me['id']}"


@accounts.get("/customers")
@operation(
    "Customers, newest first, found by email or name and by role (staff)",
    params=[
        Param("role", string(enum=list(rules.ROLES))),
        Param(
            "q",
            string(minLength=1, maxLength=rules.MAX_QUERY_LENGTH),
            description="part of an email or name",
        ),
        paging.LIMIT_PARAM,
        paging.CURSOR_PARAM,
    ],
    answers={200: views.CustomerPage, 401: ErrorBody, 403: ErrorBody},
)
async def list_customers(request: Request) -> HTTPResponse:
    await _staff_actor(request, owner_only=False)
    args = query_args(request)
    limit = paging.parse_limit(args.get("limit"))
    before = paging.decode_newest_first(args["cursor"][0]) if args.get("cursor") else None
    rows, more = await store.list_customers(
        role=rules.parse_role(args.get("role")),
        query=search_words(args.get("q"), rules.MAX_QUERY_LENGTH),
        before=before,
        limit=limit,
    )
    next_cursor = paging.encode_newest_first(rows[-1]) if more else None
    return json({"items": [views.customer(r) for r in rows], "next_cursor": next_cursor})


@accounts.patch("/customers/<customer_id>")
@operation(
    "Set a customer's role: the owner's session or the admin token",
    body=RoleChange,
    answers={200: views.Customer, 401: ErrorBody, 403: ErrorBody},
    errors=[409],
)
async def set_role(request: Request, customer_id: str) -> HTTPResponse:
    actor = await _staff_actor(request, owner_only=True)
    body = parse_body(request, RoleChange)
    if not rules.is_customer_id(customer_id):
        raise NotFound("no such customer")
    changed = await sessions.set_role(customer_id, body.role)
    await audit.record(request, actor, 200, {"customer_id": customer_id})
    return json(views.customer(changed))
