"""The accounts service's answers: what each looks like (for the OpenAPI document) and how it
is made from what the store returns. The password hash and the cart id stay out of them."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from petshore.timestamps import rfc3339
from services.accounts.rules import Role


class Address(TypedDict, total=False):
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str


class Customer(TypedDict):
    customer_id: str
    email: str
    name: str
    role: Role
    default_shipping_address: Address | None
    created_at: str


class CustomerPage(TypedDict):
    items: list[Customer]
    next_cursor: str | None


class SignedUp(Customer):
    csrf_token: str | None
    cart_id: str | None


class SignedIn(TypedDict):
    customer: Customer
    csrf_token: str
    cart_id: str | None
    expires_at: str


def customer(row: dict[str, Any]) -> Customer:
    return {
        "customer_id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "default_shipping_address": row["default_shipping_address"],
        "created_at": rfc3339(row["created_at"]),
    }


def signed_in(row: dict[str, Any], csrf_token: str, expires_at: int) -> SignedIn:
    return {
        "customer": customer(row),
        "csrf_token": csrf_token,
        "cart_id": row["cart_id"],
        "expires_at": rfc3339(expires_at),
    }


def signed_up(row: dict[str, Any], csrf_token: str | None) -> SignedUp:
    return {**customer(row), "csrf_token": csrf_token, "cart_id": row["cart_id"]}
