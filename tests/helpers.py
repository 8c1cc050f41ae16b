"""Small helpers the service and end-to-end tests share."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def unique_sku(prefix: str = "T") -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def unique_slug(prefix: str = "cat") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def create_product(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": unique_sku(),
        "name": "Test product",
        "description": "Made by a test",
        "category": unique_slug(),
        "price_cents": 1000,
        "currency": "USD",
        **fields,
    }
    response = client.post("/api/catalog/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_stock(client: httpx.Client, sku: str, available: int) -> None:
    response = client.put(
        f"/api/orders/inventory/{sku}", json={"available": available}, headers=ADMIN
    )
    assert response.status_code == 200, response.text


def new_cart(client: httpx.Client, lines: dict[str, int] | None = None) -> str:
    cart_id = str(client.post("/api/cart/carts").json()["cart_id"])
    for sku, quantity in (lines or {}).items():
        response = client.put(f"/api/cart/carts/{cart_id}/items/{sku}", json={"quantity": quantity})
        assert response.status_code == 200, response.text
    return cart_id


def checkout_body(cart_id: str, token: str = "tok_visa") -> dict[str, Any]:
    return {
        "cart_id": cart_id,
        "email": "shopper@example.com",
        "shipping_address": {
            "name": "Sam Shopper",
            "line1": "1 Kennel Lane",
            "city": "Portland",
            "postal_code": "97201",
            "country": "US",
        },
        "payment": {"token": token},
    }


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return dict(error)
