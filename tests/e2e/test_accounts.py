"""Accounts through the gateway, with the cart service it merges carts through: what a
shopper's browser sees when signing up and in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.stack import Stack
from tests.helpers import PASSWORD, assert_error, fill_cart, new_cart


@pytest.fixture
def browser(stack: Stack) -> Iterator[httpx.Client]:
    """A shopper's own cookie jar."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


def _email() -> str:
    return f"e2e-{time.monotonic_ns()}@example.com"


def _sign_up(client: httpx.Client, email: str) -> dict:
    answer = client.post(
        "/api/accounts/customers", json={"email": email, "password": PASSWORD, "name": "E2E"}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _items(client: httpx.Client, cart_id: str) -> dict[str, int]:
    answer = client.get(f"/api/cart/carts/{cart_id}")
    assert answer.status_code == 200, answer.text
    return {line["sku"]: line["quantity"] for line in answer.json()["items"]}


def test_the_session_cookie_through_the_front_door(browser: httpx.Client) -> None:
    signed_up = browser.post(
        "/api/accounts/customers",
        json={"email": _email(), "password": PASSWORD, "name": "Door"},
    )
    assert signed_up.status_code == 201
    set_cookie = signed_up.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    # The gateway on 127.0.0.1 is plain-HTTP localhost: a Secure cookie would never return.
    assert "secure" not in set_cookie
    assert browser.get("/api/accounts/me").status_code == 200
    assert signed_up.headers["cache-control"] == "no-store"
    # The gateway (like every service's client of another) keeps no caller's cookie: the next
    # shopper is not signed in as this one.
    with httpx.Client(base_url=str(browser.base_url), timeout=30) as stranger:
        assert_error(stranger.get("/api/accounts/me"), 401, "unauthorized")
        assert_error(stranger.get("/api/orders/orders", params={"mine": "1"}), 401, "unauthorized")


def test_sign_in_merges_the_guest_cart_into_the_customers(stack: Stack) -> None:
    email = _email()
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as laptop:
        mine = _sign_up(laptop, email)["cart_id"]
        assert mine  # a new customer has a cart of their own from the start
        again = laptop.post("/api/accounts/sessions", json={"email": email, "password": PASSWORD})
        assert again.json()["cart_id"] == mine
        fill_cart(laptop, mine, {"PS-A-1": 2, "PS-B-2": 98})
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as phone:
        guest = new_cart(phone, {"PS-B-2": 5, "PS-C-3": 1})
        signed_in = phone.post(
            "/api/accounts/sessions",
            json={"email": email.upper(), "password": PASSWORD, "cart_id": guest},
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["cart_id"] == mine
        # Quantities added, at most 99; the guest's new line after the customer's own.
        assert _items(phone, mine) == {"PS-A-1": 2, "PS-B-2": 99, "PS-C-3": 1}
        assert list(_items(phone, mine)) == ["PS-A-1", "PS-B-2", "PS-C-3"]
        assert_error(phone.get(f"/api/cart/carts/{guest}"), 404, "not_found")
        # Signing in again with the merged cart's id adds nothing a second time.
        again = phone.post(
            "/api/accounts/sessions",
            json={"email": email, "password": PASSWORD, "cart_id": guest},
        )
        assert again.json()["cart_id"] == mine
        assert _items(phone, mine) == {"PS-A-1": 2, "PS-B-2": 99, "PS-C-3": 1}


def test_signing_up_adopts_the_guest_cart(browser: httpx.Client) -> None:
    guest = new_cart(browser, {"PS-D-4": 3})
    signed_up = browser.post(
        "/api/accounts/customers",
        json={"email": _email(), "password": PASSWORD, "name": "Guest", "cart_id": guest},
    )
    assert signed_up.json()["cart_id"] == guest
    assert _items(browser, guest) == {"PS-D-4": 3}


def test_a_merge_is_one_transaction(gateway: httpx.Client) -> None:
    into = new_cart(gateway, {"PS-A-1": 1})
    source = new_cart(gateway, {"PS-A-1": 2, "PS-E-5": 1})
    merged = gateway.post(f"/api/cart/carts/{into}/merges", json={"from_cart_id": source})
    assert merged.status_code == 200, merged.text
    assert {i["sku"]: i["quantity"] for i in merged.json()["items"]} == {"PS-A-1": 3, "PS-E-5": 1}
    retried = gateway.post(f"/api/cart/carts/{into}/merges", json={"from_cart_id": source})
    assert retried.json()["items"] == merged.json()["items"]
    assert_error(
        gateway.post("/api/cart/carts/AAAAAAAAAAAAAAAAAAAAAA/merges", json={"from_cart_id": into}),
        404,
        "not_found",
    )
    assert_error(gateway.post(f"/api/cart/carts/{into}/merges", json={}), 400, "invalid_request")
