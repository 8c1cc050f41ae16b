"""The back office's orders through the gateway: finding orders, shipping, cancelling and
refunding them (each safe to repeat, impossible ones refused with 409), the customer's
shipping email, the history of who did what, and the CSV export."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx

from devstack.stack import Stack
from tests.helpers import (
    ADMIN,
    assert_error,
    checkout_body,
    create_product,
    emails_to,
    new_cart,
    set_stock,
    shopper,
)


def _each_refused(gateway: httpx.Client, path: str, *bad: dict[str, str]) -> None:
    """Each of the `bad` queries of the admin list at `path` is a 400."""
    for params in bad:
        assert_error(gateway.get(path, params=params, headers=ADMIN), 400, "invalid_request")


def _place(
    gateway: httpx.Client,
    *,
    quantity: int = 2,
    price_cents: int = 1500,
    email_address: str = "shopper@example.com",
    name: str = "Sam Shopper",
) -> tuple[dict[str, Any], str]:
    """A paid order for `quantity` of a new product with 5 in stock, and its SKU."""
    product = create_product(gateway, name="Chew rope", price_cents=price_cents)
    set_stock(gateway, product["sku"], 5)
    body = checkout_body(new_cart(gateway, {product["sku"]: quantity}))
    body["email"] = email_address
    body["shipping_address"]["name"] = name
    placed = gateway.post(
        "/api/orders/orders", json=body, headers={"Idempotency-Key": f"bo-{time.time_ns()}"}
    )
    assert placed.status_code == 201, placed.text
    return placed.json(), product["sku"]


def _stock(gateway: httpx.Client, sku: str) -> int:
    items = gateway.get("/api/orders/inventory", params={"skus": sku}).json()["items"]
    return int(items[0]["available"])


def _post(gateway: httpx.Client, order_id: str, action: str, **kwargs: Any) -> httpx.Response:
    headers = {**ADMIN, **kwargs.pop("headers", {})}
    return gateway.post(f"/api/orders/orders/{order_id}/{action}", headers=headers, **kwargs)


def test_fulfilment_ships_once_and_emails_the_customer(gateway: httpx.Client, outbox: Path) -> None:
    address = f"ship-{time.time_ns()}@example.com"
    order, _ = _place(gateway, email_address=address)
    shipment = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    shipped = _post(gateway, order["order_id"], "fulfilment", json=shipment)
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["status"] == "fulfilled"
    assert body["fulfilment"]["carrier"] == "UPS"
    assert [e["kind"] for e in body["history"]] == ["placed", "paid", "fulfilled"]
    assert body["history"][-1]["actor"] == "admin-token"
    # The same shipment again changes nothing; another one is a conflict.
    again = _post(gateway, order["order_id"], "fulfilment", json=shipment)
    assert again.status_code == 200 and again.json()["fulfilment"] == body["fulfilment"]
    other = {"carrier": "UPS", "tracking_number": "other"}
    assert_error(_post(gateway, order["order_id"], "fulfilment", json=other), 409, "conflict")
    notices = emails_to(outbox, address, "has shipped")
    assert len(notices) == 1
    assert "1Z999AA10123456784" in notices[0].get_content()
    # The customer sees the shipment too, without the back office's fields.
    public = gateway.get(f"/api/orders/orders/{order['order_id']}").json()
    assert public["fulfilment"]["tracking_number"] == "1Z999AA10123456784"
    assert "history" not in public and "payment_reference" not in public


def test_cancelling_returns_the_stock_and_the_money(gateway: httpx.Client) -> None:
    order, sku = _place(gateway, quantity=2)
    assert _stock(gateway, sku) == 3
    cancelled = _post(gateway, order["order_id"], "cancellation", json={"reason": "asked to"})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["refunded_cents"] == body["total_cents"] == 3000
    assert [(r["amount_cents"], r["state"]) for r in body["refunds"]] == [(3000, "done")]
    assert body["refunds"][0]["reference"]
    assert _stock(gateway, sku) == 5
    # Again: nothing more comes back, and nothing more is refunded.
    again = _post(gateway, order["order_id"], "cancellation")
    assert again.status_code == 200 and len(again.json()["refunds"]) == 1
    assert _stock(gateway, sku) == 5
    shipment = {"carrier": "UPS", "tracking_number": "1"}
    assert_error(_post(gateway, order["order_id"], "fulfilment", json=shipment), 409, "conflict")
    refund = _post(gateway, order["order_id"], "refunds", json={"amount_cents": 100})
    assert_error(refund, 409, "conflict")


def test_a_shipped_order_cannot_be_cancelled(gateway: httpx.Client) -> None:
    order, sku = _place(gateway)
    shipment = {"carrier": "DHL", "tracking_number": "JD0123"}
    assert _post(gateway, order["order_id"], "fulfilment", json=shipment).status_code == 200
    assert_error(_post(gateway, order["order_id"], "cancellation"), 409, "conflict")
    assert _stock(gateway, sku) == 3


def test_refunds_in_part_and_in_full(gateway: httpx.Client) -> None:
    order, _ = _place(gateway, quantity=2, price_cents=1500)  # 3000 paid
    path = order["order_id"]
    first = _post(gateway, path, "refunds", json={"amount_cents": 500})
    assert first.status_code == 200, first.text
    assert first.json()["refunded_cents"] == 500 and first.json()["status"] == "paid"
    # The same amount again is the same refund (a double click, a retry).
    assert (
        _post(gateway, path, "refunds", json={"amount_cents": 500}).json()["refunded_cents"] == 500
    )
    # With keys of their own, two refunds of one amount are two refunds; a key is one.
    for key in ("goodwill-1", "goodwill-2", "goodwill-2"):
        keyed = _post(
            gateway, path, "refunds", json={"amount_cents": 500}, headers={"Idempotency-Key": key}
        )
        assert keyed.status_code == 200, keyed.text
    assert keyed.json()["refunded_cents"] == 1500
    reused = _post(
        gateway,
        path,
        "refunds",
        json={"amount_cents": 700},
        headers={"Idempotency-Key": "goodwill-2"},
    )
    assert_error(reused, 409, "idempotency_key_reused")
    too_much = _post(gateway, path, "refunds", json={"amount_cents": 1501})
    assert assert_error(too_much, 409, "conflict")["details"]["refundable_cents"] == 1500
    rest = _post(gateway, path, "refunds")
    assert rest.status_code == 200, rest.text
    body = rest.json()
    assert body["status"] == "refunded" and body["refunded_cents"] == 3000
    assert sorted(r["amount_cents"] for r in body["refunds"]) == [500, 500, 500, 1500]
    assert all(r["state"] == "done" for r in body["refunds"])
    assert _post(gateway, path, "refunds").json()["refunded_cents"] == 3000  # nothing left
    assert_error(_post(gateway, path, "refunds", json={"amount_cents": 1}), 409, "conflict")
    assert_error(_post(gateway, path, "cancellation"), 409, "conflict")


def test_bad_back_office_requests_are_clear_errors(gateway: httpx.Client) -> None:
    order, _ = _place(gateway)
    path = order["order_id"]
    assert_error(
        _post(gateway, path, "fulfilment", json={"carrier": "UPS"}), 400, "invalid_request"
    )
    typo = _post(gateway, path, "fulfilment", json={"carrier": "UPS", "tracking": "1"})
    assert "tracking" in assert_error(typo, 400, "invalid_request")["details"]["fields"]
    for amount in (0, -5, "10", 1.5):
        assert_error(
            _post(gateway, path, "refunds", json={"amount_cents": amount}), 400, "invalid_request"
        )
    assert_error(_post(gateway, "ord_missing", "cancellation"), 404, "not_found")
    assert_error(_post(gateway, "x" * 60, "refunds"), 404, "not_found")
    no_token = gateway.post(f"/api/orders/orders/{path}/cancellation")
    assert_error(no_token, 401, "unauthorized")
    assert gateway.get(f"/api/orders/orders/{path}").json()["status"] == "paid"


def test_the_back_office_finds_orders(gateway: httpx.Client) -> None:
    tag = f"{time.time_ns()}"
    by_email, _ = _place(gateway, email_address=f"finder-{tag}@example.com")
    by_name, _ = _place(gateway, name=f"Ada Finder{tag}")

    def found(**params: str) -> list[str]:
        listed = gateway.get("/api/orders/orders", params=params, headers=ADMIN)
        assert listed.status_code == 200, listed.text
        return [o["order_id"] for o in listed.json()["items"]]

    assert found(q=f"FINDER-{tag}@example") == [by_email["order_id"]]
    assert found(q=f"finder{tag}") == [by_name["order_id"]]
    assert found(q=by_email["order_id"]) == [by_email["order_id"]]
    assert found(q="%", limit="100") == []  # a LIKE wildcard is a character to find
    today = by_email["created_at"][:10]
    within = found(q=tag, created_from=today, created_to=today)
    assert within == [by_name["order_id"], by_email["order_id"]]  # newest first
    assert found(q=tag, created_to="2000-01-01") == []
    assert found(q=tag, created_from=by_name["created_at"]) == [by_name["order_id"]]
    # By status: one of the two cancelled, the other still paid.
    assert _post(gateway, by_name["order_id"], "cancellation").status_code == 200
    assert found(q=tag, status="cancelled") == [by_name["order_id"]]
    assert found(q=tag, status="paid") == [by_email["order_id"]]
    assert found(q=tag, status="fulfilled") == []
    # Everyone's orders page as a customer's own do, one at a time here; each with its address.
    pages, cursor = [], None
    while True:
        params = {"q": tag, "limit": "1", **({"cursor": cursor} if cursor else {})}
        listed = gateway.get("/api/orders/orders", params=params, headers=ADMIN).json()
        pages.append([(o["order_id"], o["shipping_address"]["name"]) for o in listed["items"]])
        cursor = listed["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        [(by_name["order_id"], f"Ada Finder{tag}")],
        [(by_email["order_id"], "Sam Shopper")],
    ]
    _each_refused(
        gateway,
        "/api/orders/orders",
        {"status": "lost"},
        {"limit": "0"},
        {"cursor": "not-one-of-ours"},
        {"created_from": "yesterday"},
        {"created_to": "2026-11-26T10:00:00"},
        {"created_from": "2026-12-02", "created_to": "2026-12-01"},
        {"q": ""},
    )


def test_the_csv_export(gateway: httpx.Client) -> None:
    tag = f"{time.time_ns()}"
    order, sku = _place(gateway, name=f'=HYPERLINK("http://evil") {tag}', quantity=3)
    exported = gateway.get("/api/orders/orders.csv", params={"q": tag}, headers=ADMIN)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert rows[0]["order_id"] == order["order_id"] and rows[0]["sku"] == sku
    assert rows[0]["quantity"] == "3" and rows[0]["status"] == "paid"
    assert rows[0]["ship_to_name"].startswith("'=")  # a spreadsheet shows it, never runs it
    assert_error(gateway.get("/api/orders/orders.csv"), 401, "unauthorized")
    assert_error(
        gateway.get("/api/orders/orders.csv", params={"status": "lost"}, headers=ADMIN),
        400,
        "invalid_request",
    )


def test_staff_actions_are_recorded_with_who_did_them(stack: Stack, gateway: httpx.Client) -> None:
    order, sku = _place(gateway)
    with shopper(stack, role="staff") as (staff, csrf):
        me = staff.get("/api/accounts/me").json()
        assert_error(
            staff.post(f"/api/orders/orders/{order['order_id']}/refunds"), 403, "forbidden"
        )
        refunded = staff.post(
            f"/api/orders/orders/{order['order_id']}/refunds",
            json={"amount_cents": 100},
            headers=csrf,
        )
        assert refunded.status_code == 200, refunded.text
        moved = staff.post(
            f"/api/orders/inventory/{sku}/adjustments",
            json={"delta": -1, "reason": "chewed by the shop cat"},
            headers=csrf,
        )
        assert moved.status_code == 200, moved.text
    actor = f"staff:{me['customer_id']}"
    body = refunded.json()
    assert body["history"][-1] == {**body["history"][-1], "kind": "refund", "actor": actor}
    assert body["refunds"][0]["actor"] == actor
    movements = gateway.get(f"/api/orders/inventory/{sku}/movements", headers=ADMIN).json()
    assert movements["items"][0]["reason"] == "chewed by the shop cat"
    assert movements["items"][0]["actor"] == actor
    assert movements["items"][0]["delta"] == -1
    with shopper(stack) as (customer, _):
        assert_error(customer.get(f"/api/orders/inventory/{sku}/movements"), 403, "forbidden")


def test_every_service_logs_who_changed_what(stack: Stack, gateway: httpx.Client) -> None:
    order, sku = _place(gateway)
    with shopper(stack, role="staff") as (staff, csrf):
        me = staff.get("/api/accounts/me").json()
        renamed = staff.patch(
            f"/api/catalog/products/{sku}", json={"name": "Renamed"}, headers=csrf
        )
        assert renamed.status_code == 200, renamed.text
        shipment = {"carrier": "UPS", "tracking_number": "1"}
        path = f"/api/orders/orders/{order['order_id']}/fulfilment"
        assert staff.post(path, json=shipment, headers=csrf).status_code == 200
        # A refused change is no change: not logged.
        assert (
            staff.post(path, json={**shipment, "tracking_number": "2"}, headers=csrf).status_code
            == 409
        )
    made = gateway.post(
        "/api/accounts/customers",
        json={
            "email": f"audit-{time.time_ns()}@example.com",
            "password": "a long passphrase",
            "name": "A",
        },
        headers=ADMIN,
    ).json()
    promoted = gateway.patch(
        f"/api/accounts/customers/{made['customer_id']}", json={"role": "staff"}, headers=ADMIN
    )
    assert promoted.status_code == 200, promoted.text

    def log(service: str, target: str) -> list[dict[str, Any]]:
        answer = gateway.get(
            f"/api/{service}/admin-actions", params={"target": target}, headers=ADMIN
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    staff_actor = f"staff:{me['customer_id']}"
    assert [(a["actor"], a["operation"], a["fields"]) for a in log("catalog", sku)] == [
        (staff_actor, "update_product", ["name"])
    ]
    assert [(a["actor"], a["operation"]) for a in log("orders", order["order_id"])] == [
        (staff_actor, "fulfil_order")
    ]
    assert [
        (a["actor"], a["operation"], a["fields"]) for a in log("accounts", made["customer_id"])
    ] == [
        ("admin-token", "set_role", ["role"]),
        # Made by automation: its fields are named, the password's value is nowhere.
        ("admin-token", "sign_up", ["email", "name", "password"]),
    ]
    assert_error(gateway.get("/api/catalog/admin-actions"), 401, "unauthorized")
    assert_error(
        gateway.get("/api/catalog/admin-actions", params={"target": ""}, headers=ADMIN),
        400,
        "invalid_request",
    )


def test_staff_find_customers_and_only_the_owner_sets_roles(
    stack: Stack, gateway: httpx.Client
) -> None:
    tag = f"{time.time_ns()}"
    # Made with the admin token: a sign-up would sign the shared client in.
    made = gateway.post(
        "/api/accounts/customers",
        json={"email": f"find-{tag}@example.com", "password": "a long passphrase", "name": "Lou"},
        headers=ADMIN,
    ).json()
    with shopper(stack, role="staff") as (staff, csrf):
        found = staff.get("/api/accounts/customers", params={"q": f"FIND-{tag}"})
        assert found.status_code == 200, found.text
        assert [c["customer_id"] for c in found.json()["items"]] == [made["customer_id"]]
        refused = staff.patch(
            f"/api/accounts/customers/{made['customer_id']}", json={"role": "staff"}, headers=csrf
        )
        assert_error(refused, 403, "forbidden")
    with shopper(stack, role="owner") as (owner, csrf):
        promoted = owner.patch(
            f"/api/accounts/customers/{made['customer_id']}", json={"role": "staff"}, headers=csrf
        )
        assert promoted.status_code == 200 and promoted.json()["role"] == "staff"
        staff_page = owner.get("/api/accounts/customers", params={"role": "staff", "limit": "1"})
        assert len(staff_page.json()["items"]) == 1 and staff_page.json()["next_cursor"]
    with shopper(stack) as (customer, _):
        assert_error(customer.get("/api/accounts/customers"), 403, "forbidden")
    assert_error(gateway.get("/api/accounts/customers"), 401, "unauthorized")
    _each_refused(
        gateway,
        "/api/accounts/customers",
        *({"role": "boss"}, {"q": ""}, {"limit": "0"}, {"cursor": "nope"}, {"sort": "x"}),
    )


def test_the_back_office_lists_discontinued_products_too(
    stack: Stack, gateway: httpx.Client
) -> None:
    tag = f"dc{time.time_ns()}"
    kept = create_product(gateway, name=f"Kept {tag}")
    gone = create_product(gateway, name=f"Gone {tag}")
    assert gateway.delete(f"/api/catalog/products/{gone['sku']}", headers=ADMIN).status_code == 200

    def listed(**params: str) -> list[str]:
        answer = gateway.get("/api/catalog/admin/products", params=params, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "no-store"  # never kept by CloudFront
        return [p["sku"] for p in answer.json()["items"]]

    assert listed(q=tag, limit="100") == sorted([kept["sku"], gone["sku"]])
    assert listed(q=tag, status="discontinued") == [gone["sku"]]
    assert listed(q=tag, status="active") == [kept["sku"]]
    assert listed(q=gone["sku"][-6:].lower()) == [gone["sku"]]  # part of a SKU, any case
    shop = gateway.get("/api/catalog/products", params={"q": tag}).json()["items"]
    assert [p["sku"] for p in shop] == [kept["sku"]]
    with shopper(stack, role="staff") as (staff, _):
        assert [
            p["sku"]
            for p in staff.get(
                "/api/catalog/admin/products", params={"q": tag, "status": "discontinued"}
            ).json()["items"]
        ] == [gone["sku"]]
    with shopper(stack) as (customer, _):
        assert_error(customer.get("/api/catalog/admin/products"), 403, "forbidden")
    assert_error(gateway.get("/api/catalog/admin/products"), 401, "unauthorized")
    _each_refused(
        gateway,
        "/api/catalog/admin/products",
        *({"status": "gone"}, {"q": " "}, {"limit": "0"}, {"cursor": "x"}, {"sort": "sku"}),
    )


def test_the_back_office_finds_low_stock_without_reading_the_catalog(
    stack: Stack, gateway: httpx.Client
) -> None:
    """`GET /api/orders/inventory?at_most=n` (admin): the SKUs with n units or fewer, fewest
    first, paged, whatever the size of the catalog."""
    counts = {0: create_product(gateway), 3: create_product(gateway), 6: create_product(gateway)}
    for count, product in counts.items():
        set_stock(gateway, product["sku"], count)
    seen: list[tuple[int, str]] = []
    pages, cursor = 0, None
    while True:
        params = {"at_most": "5", "limit": "7", **({"cursor": cursor} if cursor else {})}
        answer = gateway.get("/api/orders/inventory", params=params, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "no-store"
        items = answer.json()["items"]
        assert len(items) <= 7
        seen += [(item["available"], item["sku"]) for item in items]
        pages, cursor = pages + 1, answer.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen)), "fewest first, then by SKU, each SKU once"
    assert all(available <= 5 for available, _ in seen)
    listed = {sku for _, sku in seen}
    assert {counts[0]["sku"], counts[3]["sku"]} <= listed
    assert counts[6]["sku"] not in listed
    assert pages > 1  # the demo's sold-out shoes and the tests' own products fill more than one
    none = gateway.get(
        "/api/orders/inventory", params={"at_most": "0", "limit": "100"}, headers=ADMIN
    )
    assert counts[0]["sku"] in {item["sku"] for item in none.json()["items"]}
    assert all(item["available"] == 0 for item in none.json()["items"])
    # The shop's own question, by SKU, answers as it did.
    shop = gateway.get("/api/orders/inventory", params={"skus": counts[3]["sku"]}).json()
    assert shop == {"items": [{"sku": counts[3]["sku"], "available": 3}]}
    with shopper(stack, role="staff") as (staff, _):
        assert staff.get("/api/orders/inventory", params={"at_most": "5"}).status_code == 200
    with shopper(stack) as (customer, _):
        assert_error(
            customer.get("/api/orders/inventory", params={"at_most": "5"}), 403, "forbidden"
        )
    assert_error(gateway.get("/api/orders/inventory", params={"at_most": "5"}), 401, "unauthorized")
    _each_refused(
        gateway,
        "/api/orders/inventory",
        *(
            {"at_most": "-1"},
            {"at_most": "five"},
            {"at_most": "+5"},
            {"at_most": "5", "skus": counts[3]["sku"]},
            {"at_most": "5", "cursor": "x"},
            {"at_most": "5", "limit": "0"},
            {"skus": counts[3]["sku"], "limit": "5"},
            {},
        ),
    )
