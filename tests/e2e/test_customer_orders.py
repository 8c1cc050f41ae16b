"""Signed-in customers and staff across services, through the gateway: orders that record
the customer, a history no one else can read, admin calls made with a staff session."""

from __future__ import annotations

import time

import httpx

from devstack.stack import Stack
from tests.helpers import (
    ADMIN,
    assert_error,
    checkout_body,
    create_product,
    new_cart,
    set_stock,
    shopper,
)


def _order(browser: httpx.Client, gateway: httpx.Client, csrf: dict) -> dict:
    product = create_product(gateway)
    set_stock(gateway, product["sku"], 5)
    cart_id = new_cart(browser, {product["sku"]: 1})
    placed = browser.post(
        "/api/orders/orders",
        json=checkout_body(cart_id),
        headers={"Idempotency-Key": f"k-{time.monotonic_ns()}", **csrf},
    )
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


def test_a_signed_in_order_records_the_customer(stack: Stack, gateway: httpx.Client) -> None:
    with shopper(stack) as (browser, csrf):
        me = browser.get("/api/accounts/me").json()
        order = _order(browser, gateway, csrf)
        assert order["customer_id"] == me["customer_id"]
        # The cookie without its CSRF token places nothing.
        cart_id = new_cart(browser, {"PS-TOY-0001": 1})
        refused = browser.post(
            "/api/orders/orders", json=checkout_body(cart_id), headers={"Idempotency-Key": "x1"}
        )
        assert_error(refused, 403, "forbidden")


def test_history_lists_my_orders_newest_first_page_by_page(
    stack: Stack, gateway: httpx.Client
) -> None:
    with shopper(stack) as (browser, csrf):
        placed = [_order(browser, gateway, csrf)["order_id"] for _ in range(3)]
        seen: list[str] = []
        cursor = None
        while True:
            params = {"mine": "1", "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = browser.get("/api/orders/orders", params=params)
            assert page.status_code == 200, page.text
            seen += [o["order_id"] for o in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(placed))
    with shopper(stack) as (other, _):
        assert other.get("/api/orders/orders", params={"mine": "1"}).json()["items"] == []
    assert_error(gateway.get("/api/orders/orders", params={"mine": "1"}), 401, "unauthorized")
    assert_error(
        gateway.get("/api/orders/orders", params={"mine": "1", "cursor": "forged"}),
        400,
        "invalid_request",
    )


def test_no_one_else_reads_a_customers_order(stack: Stack, gateway: httpx.Client) -> None:
    with shopper(stack) as (browser, csrf):
        order_id = _order(browser, gateway, csrf)["order_id"]
        assert browser.get(f"/api/orders/orders/{order_id}").status_code == 200
    with shopper(stack) as (other, _):
        assert_error(other.get(f"/api/orders/orders/{order_id}"), 404, "not_found")
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as guest:
        assert_error(guest.get(f"/api/orders/orders/{order_id}"), 404, "not_found")
    assert gateway.get(f"/api/orders/orders/{order_id}", headers=ADMIN).status_code == 200
    with shopper(stack, role="staff") as (staff, _):
        assert staff.get(f"/api/orders/orders/{order_id}").status_code == 200


def test_staff_sessions_make_admin_calls(stack: Stack, gateway: httpx.Client) -> None:
    product = create_product(gateway)
    path = f"/api/orders/inventory/{product['sku']}"
    with shopper(stack, role="staff") as (staff, csrf):
        assert_error(staff.put(path, json={"available": 4}), 403, "forbidden")  # no CSRF token
        done = staff.put(path, json={"available": 4}, headers=csrf)
        assert done.status_code == 200, done.text
        renamed = staff.patch(
            f"/api/catalog/products/{product['sku']}", json={"name": "Renamed"}, headers=csrf
        )
        assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
        listed = staff.get("/api/orders/orders", params={"limit": "5"})
        assert listed.status_code == 200 and len(listed.json()["items"]) <= 5
    with shopper(stack) as (customer, csrf):
        assert_error(customer.put(path, json={"available": 9}, headers=csrf), 403, "forbidden")
        assert_error(customer.get("/api/orders/orders"), 403, "forbidden")
    assert_error(gateway.get("/api/orders/orders"), 401, "unauthorized")
    assert gateway.get("/api/orders/inventory", params={"skus": product["sku"]}).json()[
        "items"
    ] == [{"sku": product["sku"], "available": 4}]
