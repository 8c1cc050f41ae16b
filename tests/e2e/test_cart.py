"""The cart lines of API.md, through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import assert_error, new_cart


def _expiry(cart: dict) -> datetime:
    return datetime.fromisoformat(cart["expires_at"].replace("Z", "+00:00"))


def test_create_gives_an_empty_cart_with_an_unguessable_id(gateway: httpx.Client) -> None:
    created = gateway.post("/api/cart/carts")
    assert created.status_code == 201
    cart = created.json()
    assert cart["items"] == []
    # 128 random bits in URL-safe base64 is 22 characters
    assert len(cart["cart_id"]) >= 22
    ids = {gateway.post("/api/cart/carts").json()["cart_id"] for _ in range(20)}
    assert len(ids) == 20
    expires = _expiry(cart) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < expires <= timedelta(days=30, minutes=1)
    assert gateway.get(f"/api/cart/carts/{cart['cart_id']}").json() == cart


def test_unknown_cart_is_a_404(gateway: httpx.Client) -> None:
    assert_error(gateway.get("/api/cart/carts/AAAAAAAAAAAAAAAAAAAAAA"), 404, "not_found")
    assert_error(gateway.get("/api/cart/carts/short"), 404, "not_found")
    assert_error(
        gateway.put(
            "/api/cart/carts/AAAAAAAAAAAAAAAAAAAAAA/items/PS-TOY-0001", json={"quantity": 1}
        ),
        404,
        "not_found",
    )


def test_put_sets_quantities_and_keeps_first_added_order(gateway: httpx.Client) -> None:
    cart_id = new_cart(gateway)
    path = f"/api/cart/carts/{cart_id}/items"
    gateway.put(f"{path}/B-2", json={"quantity": 1})
    gateway.put(f"{path}/A-1", json={"quantity": 3})
    gateway.put(f"{path}/C-3", json={"quantity": 2})
    cart = gateway.put(f"{path}/B-2", json={"quantity": 5}).json()
    assert cart["items"] == [
        {"sku": "B-2", "quantity": 5},
        {"sku": "A-1", "quantity": 3},
        {"sku": "C-3", "quantity": 2},
    ]
    cart = gateway.put(f"{path}/A-1", json={"quantity": 0}).json()
    assert [i["sku"] for i in cart["items"]] == ["B-2", "C-3"]
    deleted = gateway.delete(f"{path}/B-2")
    assert deleted.status_code == 200
    assert deleted.json()["items"] == [{"sku": "C-3", "quantity": 2}]
    assert gateway.get(f"/api/cart/carts/{cart_id}").json()["items"] == [
        {"sku": "C-3", "quantity": 2}
    ]


def test_every_change_pushes_expiry_forward(gateway: httpx.Client) -> None:
    created = gateway.post("/api/cart/carts").json()
    changed = gateway.put(
        f"/api/cart/carts/{created['cart_id']}/items/PS-TOY-0001", json={"quantity": 1}
    ).json()
    assert _expiry(changed) >= _expiry(created)
    assert _expiry(changed) > datetime.now(UTC) + timedelta(days=29)


def test_the_cart_checks_a_skus_form_not_the_catalog(gateway: httpx.Client) -> None:
    cart_id = new_cart(gateway)
    ok = gateway.put(f"/api/cart/carts/{cart_id}/items/NOT-IN-CATALOG-1", json={"quantity": 1})
    assert ok.status_code == 200
    error = assert_error(
        gateway.put(f"/api/cart/carts/{cart_id}/items/lower-case", json={"quantity": 1}),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["sku"]


@pytest.mark.parametrize("quantity", [-1, 100, 1.5, "2", True, None])
def test_quantity_must_be_an_integer_0_to_99(gateway: httpx.Client, quantity: object) -> None:
    cart_id = new_cart(gateway)
    error = assert_error(
        gateway.put(f"/api/cart/carts/{cart_id}/items/PS-TOY-0001", json={"quantity": quantity}),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["quantity"]
    assert gateway.get(f"/api/cart/carts/{cart_id}").json()["items"] == []


def test_missing_or_malformed_body_is_a_400(gateway: httpx.Client) -> None:
    cart_id = new_cart(gateway)
    path = f"/api/cart/carts/{cart_id}/items/PS-TOY-0001"
    assert_error(gateway.put(path, json={}), 400, "invalid_request")
    assert_error(
        gateway.put(path, content=b'{"quantity": ', headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
    )


def test_no_cart_answer_is_ever_stored(gateway: httpx.Client) -> None:
    """A cart id is a credential: no cache, shared or the browser's, may keep an answer."""
    created = gateway.post("/api/cart/carts")
    path = f"/api/cart/carts/{created.json()['cart_id']}"
    answers = [
        created,
        gateway.put(f"{path}/items/PS-TOY-0001", json={"quantity": 2}),
        gateway.get(path),
        gateway.get(path, headers={"If-None-Match": "*"}),
        gateway.delete(f"{path}/items/PS-TOY-0001"),
        gateway.get("/api/cart/carts/AAAAAAAAAAAAAAAAAAAAAA"),
        gateway.put(f"{path}/items/lower-case", json={"quantity": 1}),
    ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200, 404, 400]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.url
        assert "ETag" not in answer.headers
