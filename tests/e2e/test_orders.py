"""The orders and inventory lines of API.md, through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import (
    ADMIN,
    assert_error,
    checkout_body,
    create_product,
    idempotency_key,
    new_cart,
    set_stock,
    unique_sku,
)


def _available(gateway: httpx.Client, *skus: str) -> list[int]:
    items = gateway.get("/api/orders/inventory", params={"skus": ",".join(skus)}).json()["items"]
    assert [i["sku"] for i in items] == list(skus)
    return [i["available"] for i in items]


@pytest.fixture
def stocked(gateway: httpx.Client) -> tuple[dict, dict]:
    """Two products, 5 and 3 units in stock."""
    a = create_product(gateway, price_cents=1250)
    b = create_product(gateway, price_cents=399)
    set_stock(gateway, a["sku"], 5)
    set_stock(gateway, b["sku"], 3)
    return a, b


def test_checkout_takes_stock_charges_and_empties_the_cart(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, b = stocked
    cart_id = new_cart(gateway, {a["sku"]: 2, b["sku"]: 3})
    placed = gateway.post(
        "/api/orders/orders", json=checkout_body(cart_id), headers=idempotency_key()
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "paid"
    assert order["email"] == "shopper@example.com"
    assert order["items"] == [
        {"sku": a["sku"], "name": a["name"], "quantity": 2, "unit_price_cents": 1250},
        {"sku": b["sku"], "name": b["name"], "quantity": 3, "unit_price_cents": 399},
    ]
    assert order["subtotal_cents"] == order["total_cents"] == 2 * 1250 + 3 * 399
    assert order["shipping_cents"] == order["tax_cents"] == order["discount_cents"] == 0
    assert order["currency"] == "USD"
    created = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)
    assert order["order_id"].startswith("ord_") and len(order["order_id"]) >= 26
    assert _available(gateway, a["sku"], b["sku"]) == [3, 0]
    assert gateway.get(f"/api/cart/carts/{cart_id}").json()["items"] == []
    read = gateway.get(f"/api/orders/orders/{order['order_id']}").json()
    # The mail sender may have sent the confirmation since the checkout answered.
    sent = read.pop("confirmation_sent_at")
    assert sent is None or sent.endswith("Z")
    assert read == {k: v for k, v in order.items() if k != "confirmation_sent_at"}


def test_out_of_stock_names_the_skus_and_changes_nothing(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, b = stocked
    cart_id = new_cart(gateway, {a["sku"]: 1, b["sku"]: 4})
    error = assert_error(
        gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=idempotency_key()),
        409,
        "out_of_stock",
    )
    assert error["details"]["skus"] == [b["sku"]]
    assert error["message"] == f"not enough left of {b['name']}"  # in words, for the shopper
    assert _available(gateway, a["sku"], b["sku"]) == [5, 3]
    assert len(gateway.get(f"/api/cart/carts/{cart_id}").json()["items"]) == 2


def test_declined_card_is_a_402_and_releases_stock(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, _ = stocked
    cart_id = new_cart(gateway, {a["sku"]: 2})
    key = idempotency_key()
    body = checkout_body(cart_id, token="tok_chargeDeclined")
    error = assert_error(
        gateway.post("/api/orders/orders", json=body, headers=key), 402, "payment_declined"
    )
    assert _available(gateway, a["sku"]) == [5]
    order = gateway.get(f"/api/orders/orders/{error['details']['order_id']}").json()
    assert order["status"] == "payment_failed"
    assert gateway.get(f"/api/cart/carts/{cart_id}").json()["items"] != []
    again = assert_error(
        gateway.post("/api/orders/orders", json=body, headers=key), 402, "payment_declined"
    )
    assert again["details"]["order_id"] == error["details"]["order_id"]
    # A new attempt with a good card and a new key succeeds.
    paid = gateway.post(
        "/api/orders/orders", json=checkout_body(cart_id), headers=idempotency_key()
    )
    assert paid.status_code == 201
    assert _available(gateway, a["sku"]) == [3]


def test_same_key_same_body_returns_the_same_order_once(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, _ = stocked
    cart_id = new_cart(gateway, {a["sku"]: 1})
    key = idempotency_key()
    first = gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=key)
    second = gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert _available(gateway, a["sku"]) == [4]
    other = checkout_body(cart_id)
    other["email"] = "someone.else@example.com"
    assert_error(
        gateway.post("/api/orders/orders", json=other, headers=key), 409, "idempotency_key_reused"
    )


@pytest.mark.parametrize("key", [None, "", "k" * 256])
def test_idempotency_key_is_required(gateway: httpx.Client, key: str | None) -> None:
    headers = {} if key is None else {"Idempotency-Key": key}
    cart_id = new_cart(gateway, {"PS-TOY-0002": 1})
    error = assert_error(
        gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=headers),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["Idempotency-Key"]


def test_empty_unknown_cart_and_unbuyable_skus_are_400(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, b = stocked
    empty = new_cart(gateway)
    assert_error(
        gateway.post("/api/orders/orders", json=checkout_body(empty), headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert_error(
        gateway.post(
            "/api/orders/orders",
            json=checkout_body("AAAAAAAAAAAAAAAAAAAAAA"),
            headers=idempotency_key(),
        ),
        400,
        "invalid_request",
    )
    unknown = unique_sku()
    cart_id = new_cart(gateway, {a["sku"]: 1, unknown: 1})
    error = assert_error(
        gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert error["details"]["skus"] == [unknown]
    assert error["message"] == f"no longer sold: {unknown}"  # the catalog has no name for it
    gateway.delete(f"/api/catalog/products/{b['sku']}", headers=ADMIN)
    cart_id = new_cart(gateway, {b["sku"]: 1})
    error = assert_error(
        gateway.post("/api/orders/orders", json=checkout_body(cart_id), headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert error["details"]["skus"] == [b["sku"]]
    assert error["message"] == f"no longer sold: {b['name']}"
    assert _available(gateway, a["sku"], b["sku"]) == [5, 3]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"cart_id": 5}, "cart_id"),
        ({"payment": {}}, "payment.token"),
        ({"shipping_address": {"name": "x"}}, "shipping_address.city"),
        ({"shipping_address": None}, "shipping_address"),
    ],
)
def test_checkout_names_bad_fields(gateway: httpx.Client, change: dict, field: str) -> None:
    body = {**checkout_body("AAAAAAAAAAAAAAAAAAAAAA"), **change}
    error = assert_error(
        gateway.post("/api/orders/orders", json=body, headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert field in error["details"]["fields"]


def test_unknown_payment_token_is_a_400(gateway: httpx.Client, stocked: tuple[dict, dict]) -> None:
    a, _ = stocked
    cart_id = new_cart(gateway, {a["sku"]: 1})
    error = assert_error(
        gateway.post(
            "/api/orders/orders",
            json=checkout_body(cart_id, token="tok_bogus"),
            headers=idempotency_key(),
        ),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["payment.token"]
    assert _available(gateway, a["sku"]) == [5]


def test_unknown_order_is_a_404(gateway: httpx.Client) -> None:
    assert_error(gateway.get("/api/orders/orders/ord_nope"), 404, "not_found")
    assert_error(gateway.get("/api/orders/orders/" + "x" * 300), 404, "not_found")


def test_inventory_reports_unknown_skus_as_zero(gateway: httpx.Client) -> None:
    sku = unique_sku()
    assert gateway.get("/api/orders/inventory", params={"skus": f"{sku},PS-TOY-0002"}).json()[
        "items"
    ][0] == {"sku": sku, "available": 0}


@pytest.mark.parametrize("skus", [None, "bad sku", ",".join(f"S-{i}" for i in range(101))])
def test_inventory_query_is_validated(gateway: httpx.Client, skus: str | None) -> None:
    params = {} if skus is None else {"skus": skus}
    error = assert_error(
        gateway.get("/api/orders/inventory", params=params), 400, "invalid_request"
    )
    assert error["details"]["fields"] == ["skus"]


def test_setting_inventory_is_for_admins_only(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    path = f"/api/orders/inventory/{sku}"
    assert_error(gateway.put(path, json={"available": 3}), 401, "unauthorized")
    assert_error(
        gateway.put(path, json={"available": 3}, headers={"Authorization": "Bearer no"}),
        403,
        "forbidden",
    )
    for bad in (-1, "3", 1.5, None):
        assert_error(
            gateway.put(path, json={"available": bad}, headers=ADMIN), 400, "invalid_request"
        )
    set_to = gateway.put(path, json={"available": 7}, headers=ADMIN)
    assert set_to.json() == {"sku": sku, "available": 7}
    assert _available(gateway, sku) == [7]
    assert_error(
        gateway.put("/api/orders/inventory/bad sku", json={"available": 1}, headers=ADMIN),
        404,
        "not_found",
    )


def test_stock_is_set_only_for_skus_the_catalog_has(gateway: httpx.Client) -> None:
    unknown = unique_sku()
    assert_error(
        gateway.put(f"/api/orders/inventory/{unknown}", json={"available": 3}, headers=ADMIN),
        404,
        "not_found",
    )
    assert _available(gateway, unknown) == [0]
    a, b = create_product(gateway)["sku"], create_product(gateway)["sku"]
    # Two SKUs where the path names one product name none: not found, and nothing is set.
    assert_error(
        gateway.put(f"/api/orders/inventory/{a},{b}", json={"available": 3}, headers=ADMIN),
        404,
        "not_found",
    )
    assert _available(gateway, a, b) == [0, 0]


def test_stock_is_adjusted_with_a_reason_and_never_below_zero(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    path = f"/api/orders/inventory/{sku}/adjustments"
    added = gateway.post(path, json={"delta": 5, "reason": "delivery"}, headers=ADMIN)
    assert added.status_code == 200, added.text
    assert added.json() == {"sku": sku, "available": 5}
    taken = gateway.post(path, json={"delta": -2, "reason": "damaged"}, headers=ADMIN)
    assert taken.json() == {"sku": sku, "available": 3}
    assert_error(
        gateway.post(path, json={"delta": -4, "reason": "recount"}, headers=ADMIN), 409, "conflict"
    )
    assert _available(gateway, sku) == [3]
    error = assert_error(
        gateway.post(path, json={"delta": 1}, headers=ADMIN), 400, "invalid_request"
    )
    assert error["details"]["fields"] == ["reason"]
    assert_error(gateway.post(path, json={"delta": 1, "reason": "x"}), 401, "unauthorized")
    assert_error(
        gateway.post(
            f"/api/orders/inventory/{unique_sku()}/adjustments",
            json={"delta": 1, "reason": "x"},
            headers=ADMIN,
        ),
        404,
        "not_found",
    )


def test_unknown_fields_are_named_not_ignored(gateway: httpx.Client) -> None:
    body = {**checkout_body("AAAAAAAAAAAAAAAAAAAAAA"), "coupon": "FREE"}
    body["shipping_address"] = {**body["shipping_address"], "floor": 3}
    error = assert_error(
        gateway.post("/api/orders/orders", json=body, headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["coupon", "shipping_address.floor"]


def test_an_address_keeps_its_second_line_and_region(
    gateway: httpx.Client, stocked: tuple[dict, dict]
) -> None:
    a, _ = stocked
    body = checkout_body(new_cart(gateway, {a["sku"]: 1}))
    body["shipping_address"] |= {"line2": "Flat 2", "region": "OR"}
    placed = gateway.post("/api/orders/orders", json=body, headers=idempotency_key())
    assert placed.status_code == 201, placed.text
    assert placed.json()["shipping_address"]["line2"] == "Flat 2"
    assert placed.json()["shipping_address"]["region"] == "OR"


def test_no_orders_answer_is_ever_stored(gateway: httpx.Client, stocked: tuple[dict, dict]) -> None:
    """Orders hold names, addresses and what was bought: no cache may keep an answer."""
    a, _ = stocked
    placed = gateway.post(
        "/api/orders/orders",
        json=checkout_body(new_cart(gateway, {a["sku"]: 1})),
        headers=idempotency_key(),
    )
    declined = gateway.post(
        "/api/orders/orders",
        json=checkout_body(new_cart(gateway, {a["sku"]: 1}), token="tok_chargeDeclined"),
        headers=idempotency_key(),
    )
    answers = [
        placed,
        declined,
        gateway.get(f"/api/orders/orders/{placed.json()['order_id']}"),
        gateway.get("/api/orders/orders/ord_nope"),
        gateway.get("/api/orders/inventory", params={"skus": a["sku"]}),
        gateway.put(f"/api/orders/inventory/{a['sku']}", json={"available": 9}, headers=ADMIN),
    ]
    assert [r.status_code for r in answers] == [201, 402, 200, 404, 200, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.url
        assert "ETag" not in answer.headers
