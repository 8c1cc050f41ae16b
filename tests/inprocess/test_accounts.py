"""The accounts service alone, in this process, on PostgreSQL and the emulator's DynamoDB,
with no cart service to call: every rule of signing up, in and out, and each way a session or
a request is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sanic import Sanic
from sanic_testing.testing import TestingResponse as Answer

from devstack.processes import free_port
from petshore.aws import open_client
from petshore.contract import ACCOUNTS, SESSION_COOKIE, SESSIONS, Env
from petshore.db import apply_migrations, tortoise_config
from petshore.tables import ensure_table
from services.accounts.app import create_app
from services.accounts.rules import session_key
from services.accounts.settings import Settings
from tests.helpers import ADMIN, emulator_client
from tests.inprocess.conftest import ENVIRONMENT, call

PASSWORD = "correct horse battery"
ACCOUNT_FAILURES = 3
ADDRESS_FAILURES = 7


async def _prepare(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        dynamodb = await open_client(stack, "dynamodb", settings.common)
        await ensure_table(dynamodb, SESSIONS, settings.sessions_table)
    await apply_migrations(tortoise_config(settings.database_url, ACCOUNTS.module))


@pytest.fixture(scope="module")
def accounts(service_env: dict[str, str], own_database: str) -> Iterator[Sanic]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(Env.ACCOUNTS_DATABASE_URL, own_database)
        patch.setenv(Env.CART_URL, f"http://127.0.0.1:{free_port()}")  # nothing listens
        patch.setenv(Env.UPSTREAM_TIMEOUT_SECONDS, "1")
        patch.setenv(Env.SIGNIN_ACCOUNT_FAILURES, str(ACCOUNT_FAILURES))
        patch.setenv(Env.SIGNIN_ADDRESS_FAILURES, str(ADDRESS_FAILURES))
        settings = Settings.from_env()
        asyncio.run(_prepare(settings))
        yield create_app(settings)


@pytest.fixture(scope="module")
def sessions_table(service_env: dict[str, str]) -> Any:
    return emulator_client(service_env[Env.AWS_ENDPOINT_URL], "dynamodb")


_emails = iter(range(1_000_000))


def new_email() -> str:
    return f"Shopper{next(_emails)}-{time.monotonic_ns()}@Example.com"


def sign_up(app: Sanic, email: str, **extra: Any) -> Answer:
    body = {"email": email, "password": PASSWORD, "name": "Sam Shopper", **extra}
    return call(app, "post", "/api/accounts/customers", json=body)


def session_of(answer: Answer) -> dict[str, str]:
    """The headers a browser sends after `answer`: its session cookie, its CSRF token."""
    cookie = answer.cookies[SESSION_COOKIE]
    csrf = answer.json.get("csrf_token")
    return {"Cookie": f"{SESSION_COOKIE}={cookie}", "X-CSRF-Token": csrf or ""}


def cookie_only(headers: dict[str, str]) -> dict[str, str]:
    return {"Cookie": headers["Cookie"]}


def test_sign_up_starts_a_session_with_a_safe_cookie(accounts: Sanic) -> None:
    email = new_email()
    answer = sign_up(accounts, email)
    assert answer.status_code == 201, answer.text
    assert answer.json["email"] == email and answer.json["role"] == "customer"
    assert "password" not in answer.text and "argon2" not in answer.text
    set_cookie = answer.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
        assert attribute.lower() in set_cookie.lower(), set_cookie
    me = call(accounts, "get", "/api/accounts/me", headers=cookie_only(session_of(answer)))
    assert me.status_code == 200 and me.json["customer_id"] == answer.json["customer_id"]
    # On plain-HTTP localhost the browser would never send a Secure cookie back.
    local = call(
        accounts,
        "post",
        "/api/accounts/customers",
        json={"email": new_email(), "password": PASSWORD, "name": "Local"},
        headers={"Host": "localhost:8080"},
    )
    assert local.status_code == 201
    assert "secure" not in local.headers["set-cookie"].lower()


def test_only_a_hash_of_the_session_id_is_stored(accounts: Sanic, sessions_table: Any) -> None:
    answer = sign_up(accounts, new_email())
    session_id = answer.cookies[SESSION_COOKIE]
    assert len(session_id) >= 22  # at least 128 random bits, base64url
    table = f"petshore-{ENVIRONMENT}-sessions"
    item = sessions_table.get_item(
        TableName=table, Key={SESSIONS.hash_key: {"S": session_key(session_id)}}
    )["Item"]
    assert item["customer_id"]["S"] == answer.json["customer_id"]
    assert session_id not in str(item)


def test_one_account_per_email_whatever_its_case(accounts: Sanic) -> None:
    email = new_email()
    assert sign_up(accounts, email).status_code == 201
    again = sign_up(accounts, email.upper())
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    "password",
    ["short", "123456789", "password123", "iloveyou12", "PASSWORD123"],
)
def test_weak_passwords_are_refused(accounts: Sanic, password: str) -> None:
    body = {"email": new_email(), "password": password, "name": "Weak"}
    answer = call(accounts, "post", "/api/accounts/customers", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json["error"]["details"]["fields"] == ["password"]


def test_the_email_is_no_password(accounts: Sanic) -> None:
    email = new_email()
    answer = call(
        accounts,
        "post",
        "/api/accounts/customers",
        json={"email": email, "password": email, "name": "Same"},
    )
    assert answer.status_code == 400 and answer.json["error"]["details"]["fields"] == ["password"]


def test_bad_bodies_are_400s_naming_the_field(accounts: Sanic) -> None:
    cases: list[tuple[Any, str]] = [
        ({"email": "not an email", "password": PASSWORD, "name": "X"}, "email"),
        ({"email": new_email(), "password": PASSWORD}, "name"),
        ({"email": new_email(), "password": PASSWORD, "name": "X", "admin": True}, "admin"),
        ({"email": new_email(), "password": 1234567890, "name": "X"}, "password"),
    ]
    for body, field in cases:
        answer = call(accounts, "post", "/api/accounts/customers", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert field in answer.json["error"]["details"]["fields"]
    broken = call(
        accounts,
        "post",
        "/api/accounts/sessions",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400


def sign_in(app: Sanic, email: str, password: str, address: str = "198.51.100.7") -> Answer:
    return call(
        app,
        "post",
        "/api/accounts/sessions",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


def test_unknown_email_and_wrong_password_answer_alike(accounts: Sanic) -> None:
    email = new_email()
    sign_up(accounts, email)
    wrong = sign_in(accounts, email, "wrong password here", "198.51.100.1")
    unknown = sign_in(accounts, new_email(), "wrong password here", "198.51.100.1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    right = sign_in(accounts, email.lower(), PASSWORD, "198.51.100.1")
    assert right.status_code == 200, right.text
    assert set(right.json) >= {"customer", "csrf_token", "cart_id"}
    assert right.json["customer"]["email"] == email


def test_repeated_failures_are_throttled_per_account(accounts: Sanic) -> None:
    email = new_email()
    sign_up(accounts, email)
    for attempt in range(ACCOUNT_FAILURES):
        # A different address each time: the account's own counter stops them.
        assert (
            sign_in(accounts, email, "not the password", f"203.0.113.{attempt}").status_code == 401
        )
    throttled = sign_in(accounts, email, PASSWORD, "203.0.113.99")
    assert throttled.status_code == 429, throttled.text
    assert throttled.json["error"]["code"] == "too_many_requests"
    assert 1 <= int(throttled.headers["retry-after"]) <= 900


def test_repeated_failures_are_throttled_per_address(accounts: Sanic) -> None:
    address = "192.0.2.44"
    for _ in range(ADDRESS_FAILURES):
        assert sign_in(accounts, new_email(), "not the password", address).status_code == 401
    email = new_email()
    sign_up(accounts, email)
    assert sign_in(accounts, email, PASSWORD, address).status_code == 429
    assert sign_in(accounts, email, PASSWORD, "192.0.2.45").status_code == 200


def test_changes_with_the_cookie_need_the_csrf_token(accounts: Sanic) -> None:
    headers = session_of(sign_up(accounts, new_email()))
    change = {"name": "New Name"}
    missing = call(accounts, "patch", "/api/accounts/me", json=change, headers=cookie_only(headers))
    wrong = call(
        accounts, "patch", "/api/accounts/me", json=change, headers={**headers, "X-CSRF-Token": "x"}
    )
    for answer in (missing, wrong):
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"
    done = call(accounts, "patch", "/api/accounts/me", json=change, headers=headers)
    assert done.status_code == 200 and done.json["name"] == "New Name"
    signed_out = call(
        accounts, "delete", "/api/accounts/sessions/current", headers=cookie_only(headers)
    )
    assert signed_out.status_code == 403


def test_profile_keeps_a_default_address(accounts: Sanic) -> None:
    headers = session_of(sign_up(accounts, new_email()))
    address = {
        "name": "Sam Shopper",
        "line1": "1 Main St",
        "city": "Portland",
        "postal_code": "97201",
        "country": "US",
    }
    patched = call(
        accounts,
        "patch",
        "/api/accounts/me",
        json={"default_shipping_address": address},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    me = call(accounts, "get", "/api/accounts/me", headers=cookie_only(headers)).json
    assert me["default_shipping_address"]["postal_code"] == "97201"
    bad = call(
        accounts,
        "patch",
        "/api/accounts/me",
        json={"default_shipping_address": {**address, "country": "usa"}},
        headers=headers,
    )
    assert bad.status_code == 400
    assert bad.json["error"]["details"]["fields"] == ["default_shipping_address.country"]


def test_no_tampered_missing_or_ended_session_gets_in(accounts: Sanic, sessions_table: Any) -> None:
    answer = sign_up(accounts, new_email())
    session_id = answer.cookies[SESSION_COOKIE]
    tampered = session_id[:-1] + ("A" if session_id[-1] != "A" else "B")
    for cookie in (None, tampered, "short", session_id + "x"):
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        refused = call(accounts, "get", "/api/accounts/me", headers=headers)
        assert refused.status_code == 401, cookie
    # Expired, though DynamoDB's TTL has not deleted it yet.
    sessions_table.update_item(
        TableName=f"petshore-{ENVIRONMENT}-sessions",
        Key={SESSIONS.hash_key: {"S": session_key(session_id)}},
        UpdateExpression="SET expires_at_epoch = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    expired = call(
        accounts, "get", "/api/accounts/me", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"}
    )
    assert expired.status_code == 401


def test_signing_out_ends_one_session_or_all(accounts: Sanic) -> None:
    email = new_email()
    first = session_of(sign_up(accounts, email))
    second = session_of(sign_in(accounts, email, PASSWORD))
    third = session_of(sign_in(accounts, email, PASSWORD))
    out = call(accounts, "delete", "/api/accounts/sessions/current", headers=first)
    assert out.status_code == 204
    assert "max-age=0" in out.headers["set-cookie"].lower()
    assert call(accounts, "get", "/api/accounts/me", headers=cookie_only(first)).status_code == 401
    assert call(accounts, "get", "/api/accounts/me", headers=cookie_only(second)).status_code == 200
    everywhere = call(accounts, "delete", "/api/accounts/sessions", headers=second)
    assert everywhere.status_code == 204
    for ended in (second, third):
        assert (
            call(accounts, "get", "/api/accounts/me", headers=cookie_only(ended)).status_code == 401
        )


def test_a_new_password_ends_the_other_sessions(accounts: Sanic) -> None:
    email = new_email()
    mine = session_of(sign_up(accounts, email))
    other = session_of(sign_in(accounts, email, PASSWORD))
    wrong = call(
        accounts,
        "put",
        "/api/accounts/me/password",
        json={"current_password": "not it at all", "new_password": "another good one"},
        headers=mine,
    )
    assert wrong.status_code == 400
    assert wrong.json["error"]["details"]["fields"] == ["current_password"]
    weak = call(
        accounts,
        "put",
        "/api/accounts/me/password",
        json={"current_password": PASSWORD, "new_password": "password1"},
        headers=mine,
    )
    assert weak.status_code == 400 and weak.json["error"]["details"]["fields"] == ["new_password"]
    changed = call(
        accounts,
        "put",
        "/api/accounts/me/password",
        json={"current_password": PASSWORD, "new_password": "another good one"},
        headers=mine,
    )
    assert changed.status_code == 204, changed.text
    assert call(accounts, "get", "/api/accounts/me", headers=cookie_only(mine)).status_code == 200
    assert call(accounts, "get", "/api/accounts/me", headers=cookie_only(other)).status_code == 401
    assert sign_in(accounts, email, PASSWORD, "198.51.100.200").status_code == 401
    assert sign_in(accounts, email, "another good one", "198.51.100.200").status_code == 200


def test_the_session_answers_again_after_a_reload(accounts: Sanic) -> None:
    started = sign_up(accounts, new_email())
    headers = session_of(started)
    current = call(accounts, "get", "/api/accounts/sessions/current", headers=cookie_only(headers))
    assert current.status_code == 200
    assert current.json["csrf_token"] == started.json["csrf_token"]
    assert current.json["customer"]["customer_id"] == started.json["customer_id"]


def test_roles_are_set_by_the_owner_alone(accounts: Sanic) -> None:
    customer = sign_up(accounts, new_email())
    assert customer.status_code == 201
    claimed = sign_up(accounts, new_email(), role="owner")
    assert claimed.status_code == 403
    owner_email = new_email()
    made = call(
        accounts,
        "post",
        "/api/accounts/customers",
        json={"email": owner_email, "password": PASSWORD, "name": "Olive Owner", "role": "owner"},
        headers=ADMIN,
    )
    assert made.status_code == 201 and made.json["role"] == "owner"
    assert SESSION_COOKIE not in made.cookies  # automation gets no session
    owner = session_of(sign_in(accounts, owner_email, PASSWORD))
    target = f"/api/accounts/customers/{customer.json['customer_id']}"
    promoted = call(accounts, "patch", target, json={"role": "staff"}, headers=owner)
    assert promoted.status_code == 200 and promoted.json["role"] == "staff"
    staff = session_of(sign_in(accounts, customer.json["email"], PASSWORD))
    owner_path = f"/api/accounts/customers/{made.json['customer_id']}"
    refused = call(accounts, "patch", owner_path, json={"role": "customer"}, headers=staff)
    assert refused.status_code == 403
    bad_role = call(accounts, "patch", target, json={"role": "admin"}, headers=owner)
    assert bad_role.status_code == 400
    # The shop keeps an owner: the only one cannot step down until another is made.
    alone = call(accounts, "patch", owner_path, json={"role": "customer"}, headers=ADMIN)
    assert alone.status_code == 409, alone.text
    assert call(accounts, "patch", target, json={"role": "owner"}, headers=owner).status_code == 200
    stepped_down = call(accounts, "patch", owner_path, json={"role": "staff"}, headers=owner)
    assert stepped_down.status_code == 200
    for nobody in ("nobody", "0" * 32, "%15" + "x" * 60):
        unknown = call(
            accounts,
            "patch",
            f"/api/accounts/customers/{nobody}",
            json={"role": "staff"},
            headers=ADMIN,
        )
        assert unknown.status_code == 404, (nobody, unknown.text)


def test_sign_in_keeps_the_guest_cart_when_the_cart_service_is_down(accounts: Sanic) -> None:
    email = new_email()
    sign_up(accounts, email)
    answer = call(
        accounts,
        "post",
        "/api/accounts/sessions",
        json={"email": email, "password": PASSWORD, "cart_id": "guest-cart-id-0000000"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json["cart_id"] == "guest-cart-id-0000000"


def test_a_used_session_slides_forward(accounts: Sanic, sessions_table: Any) -> None:
    session_id = sign_up(accounts, new_email()).cookies[SESSION_COOKIE]
    key = {SESSIONS.hash_key: {"S": session_key(session_id)}}
    table = f"petshore-{ENVIRONMENT}-sessions"
    # As if signed in two days ago and not used since: 28 days left of 30.
    two_days_in = int(time.time()) + 28 * 24 * 3600
    sessions_table.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET expires_at_epoch = :e",
        ExpressionAttributeValues={":e": {"N": str(two_days_in)}},
    )
    used = call(
        accounts, "get", "/api/accounts/me", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"}
    )
    assert used.status_code == 200
    assert f"Max-Age={30 * 24 * 3600}".lower() in used.headers["set-cookie"].lower()
    slid = int(sessions_table.get_item(TableName=table, Key=key)["Item"]["expires_at_epoch"]["N"])
    assert slid >= int(time.time()) + 30 * 24 * 3600 - 60
    # Used again at once: nothing to write.
    again = call(
        accounts, "get", "/api/accounts/me", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"}
    )
    assert "set-cookie" not in again.headers
