"""A full checkout's money, through the gateway: shipping methods, tax rates and discount codes
are the owner's data (admin routes over the orders service's tables), a quote and the order
price the cart the same way, and each field a shopper gets wrong is named with what is wrong."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import Stack
from petshore.contract import ORDERS
from tests.helpers import (
    ADMIN,
    assert_error,
    checkout_body,
    create_product,
    idempotency_key,
    new_cart,
    set_stock,
    shopper,
)


def _code() -> str:
    return f"TEST{secrets.token_hex(4).upper()}"


@pytest.fixture
def nevada(gateway: httpx.Client) -> Iterator[None]:
    """A tax the test owns: 8.25% in Nevada, shipping taxed too (no other test ships there)."""
    rate = {"name": "Nevada sales tax", "rate_bp": 825, "on_shipping": True}
    assert gateway.put("/api/orders/tax-rates/US-NV", json=rate, headers=ADMIN).status_code == 200
    yield
    assert gateway.delete("/api/orders/tax-rates/US-NV", headers=ADMIN).status_code == 200


def _order_body(cart_id: str, region: str, **extra: Any) -> dict[str, Any]:
    body = checkout_body(cart_id)
    body["shipping_address"] |= {"region": region}
    return body | extra


def test_a_new_shop_ships_for_free_everywhere_and_by_express_in_the_us(
    gateway: httpx.Client,
) -> None:
    methods = {m["code"]: m for m in gateway.get("/api/orders/shipping-methods").json()["items"]}
    assert methods["standard"]["price_cents"] == 0 and methods["standard"]["countries"] is None
    assert methods["express"]["countries"] == ["US"]
    countries = {c["code"]: c for c in gateway.get("/api/orders/countries").json()["items"]}
    assert {"US", "GB", "JP", "FR"} <= set(countries)
    assert countries["FR"]["regions"] is None
    assert {"code": "OR", "name": "Oregon"} in countries["US"]["regions"]


def test_the_quote_and_the_order_charge_the_owners_shipping_tax_and_discount(
    gateway: httpx.Client, nevada: None
) -> None:
    product = create_product(gateway, price_cents=2000)
    set_stock(gateway, product["sku"], 10)
    cart_id = new_cart(gateway, {product["sku"]: 2})
    code = _code()
    assert gateway.put(
        f"/api/orders/discount-codes/{code}",
        json={"kind": "percent", "percent_off": 15, "min_subtotal_cents": 3000},
        headers=ADMIN,
    ).json()["items"]
    wanted = {"shipping_method": "express", "discount_code": code.lower()}
    quoted = gateway.post(
        "/api/orders/quotes", json={"cart_id": cart_id, "country": "US", "region": "nv", **wanted}
    )
    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    # 4000 of goods, 15% off (600), express 1500; 8.25% of 3400 + 1500 = 404.25.
    assert (quote["subtotal_cents"], quote["discount_cents"]) == (4000, 600)
    assert (quote["shipping_cents"], quote["tax_cents"]) == (1500, 404)
    assert quote["total_cents"] == 4000 - 600 + 1500 + 404
    assert quote["tax"] == {"name": "Nevada sales tax", "rate_bp": 825}
    assert [m["code"] for m in quote["shipping_methods"]][:2] == ["standard", "express"]
    assert quote["items"] == [
        {"sku": product["sku"], "name": product["name"], "quantity": 2, "unit_price_cents": 2000}
    ]
    # Oregon has no sales tax here, and the shop's default is free standard shipping.
    oregon = gateway.post("/api/orders/quotes", json={"cart_id": cart_id, "country": "US"})
    assert oregon.json()["total_cents"] == 4000 and oregon.json()["shipping_method"] == "standard"

    placed = gateway.post(
        "/api/orders/orders",
        json=_order_body(cart_id, "Nevada", **wanted),
        headers=idempotency_key(),
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    for field in ("subtotal_cents", "shipping_cents", "tax_cents", "discount_cents", "total_cents"):
        assert order[field] == quote[field], field
    assert order["shipping_method"] == {"code": "express", "name": "Express shipping"}
    assert order["discount_code"] == code and order["shipping_address"]["region"] == "NV"
    used = gateway.get("/api/orders/discount-codes", headers=ADMIN).json()["items"]
    assert next(d for d in used if d["code"] == code)["redemptions"] == 1
    # What the staff see is what the shopper was charged.
    staff = gateway.get(f"/api/orders/orders/{order['order_id']}", headers=ADMIN).json()
    assert staff["total_cents"] == quote["total_cents"]


def test_an_order_charges_what_another_instance_just_changed_in_the_price_list(
    gateway: httpx.Client, postgres_databases: dict[str, str], nevada: None
) -> None:
    """An instance keeps the price list it read while the list's revision stays the same: a
    change made elsewhere (here straight in the database, as another instance's would be)
    is charged by the very next order, the new shipping method offered with it."""
    product = create_product(gateway, price_cents=2000)
    set_stock(gateway, product["sku"], 10)

    def order() -> dict[str, Any]:
        body = _order_body(new_cart(gateway, {product["sku"]: 1}), "NV")
        placed = gateway.post("/api/orders/orders", json=body, headers=idempotency_key())
        assert placed.status_code == 201, placed.text
        return dict(placed.json())

    assert order()["tax_cents"] == 165  # 8.25% of 2000
    code = f"t{secrets.token_hex(4)}"

    async def elsewhere() -> None:
        connection = await asyncpg.connect(postgres_databases[ORDERS.name].split("?")[0])
        try:
            await connection.execute(
                "UPDATE tax_rate SET rate_bp = 1000 WHERE country = 'US' AND region = 'NV'"
            )
            await connection.execute(
                "INSERT INTO shipping_method (code, name, price_cents, currency, min_days,"
                " max_days, countries, position, updated_at)"
                " VALUES ($1, 'Pony express', 700, 'USD', 1, 2, NULL, -1, now())",
                code,
            )
        finally:
            await connection.close()

    asyncio.run(elsewhere())
    try:
        changed = order()
        assert (changed["tax_cents"], changed["shipping_cents"]) == (270, 700)  # 10% of 2700
        assert changed["shipping_method"]["code"] == code
    finally:
        gateway.delete(f"/api/orders/shipping-methods/{code}", headers=ADMIN)


def test_a_single_use_code_goes_to_one_order_and_a_declined_one_gives_it_back(
    gateway: httpx.Client,
) -> None:
    product = create_product(gateway, price_cents=1000)
    set_stock(gateway, product["sku"], 20)
    code = _code()
    gateway.put(
        f"/api/orders/discount-codes/{code}",
        json={"kind": "amount", "amount_off_cents": 300, "currency": "USD", "max_redemptions": 1},
        headers=ADMIN,
    )
    declined = checkout_body(new_cart(gateway, {product["sku"]: 1}), token="tok_chargeDeclined")
    refused = gateway.post(
        "/api/orders/orders", json=declined | {"discount_code": code}, headers=idempotency_key()
    )
    assert_error(refused, 402, "payment_declined")

    def place(_: int) -> httpx.Response:
        body = checkout_body(new_cart(gateway, {product["sku"]: 1})) | {"discount_code": code}
        return gateway.post("/api/orders/orders", json=body, headers=idempotency_key())

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(place, range(4)))
    assert sorted(a.status_code for a in answers) == [201, 400, 400, 400]
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert winner["discount_cents"] == 300 and winner["total_cents"] == 700
    for loser in (a for a in answers if a.status_code == 400):
        error = assert_error(loser, 400, "invalid_request")
        assert error["details"]["problems"] == {"discount_code": "this code has been used up"}
    stock = gateway.get("/api/orders/inventory", params={"skus": product["sku"]}).json()
    assert stock["items"][0]["available"] == 19, "refused orders took no stock"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"email": "pat@localhost"}, "email", "enter an email address, like name@example.com"),
        ({"address": {"name": "   "}}, "shipping_address.name", "fill this in"),
        ({"address": {"region": "Narnia"}}, "shipping_address.region", "has no state"),
        ({"address": {"country": "ZZ"}}, "shipping_address.country", "no country"),
        ({"address": {"country": "us"}}, "shipping_address.country", "two-letter code"),
        ({"shipping_method": "teleport"}, "shipping_method", "ships there only as one of"),
        ({"discount_code": "NO-SUCH-CODE"}, "discount_code", "not one the shop knows"),
        ({"address": {"line1": "x" * 201}}, "shipping_address.line1", "at most 200 characters"),
    ],
)
def test_each_field_the_shopper_got_wrong_is_named_with_its_problem(
    gateway: httpx.Client, change: dict[str, Any], field: str, problem: str
) -> None:
    product = create_product(gateway, price_cents=500)
    set_stock(gateway, product["sku"], 3)
    body = checkout_body(new_cart(gateway, {product["sku"]: 1}))
    body["shipping_address"] |= change.pop("address", {})
    error = assert_error(
        gateway.post("/api/orders/orders", json=body | change, headers=idempotency_key()),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == [field]
    assert problem in error["details"]["problems"][field]
    left = gateway.get("/api/orders/inventory", params={"skus": product["sku"]}).json()
    assert left["items"][0]["available"] == 3


def test_the_owners_prices_are_changed_by_staff_only_and_checked(
    gateway: httpx.Client, stack: Stack
) -> None:
    method = {
        "name": "Pigeon",
        "price_cents": 250,
        "currency": "USD",
        "min_days": 9,
        "max_days": 14,
    }
    place = "/api/orders/shipping-methods/pigeon"
    assert_error(gateway.put(place, json=method), 401, "unauthorized")
    with shopper(stack) as (customer, csrf):
        assert_error(customer.put(place, json=method, headers=csrf), 403, "forbidden")
    with shopper(stack, role="staff") as (staff, csrf):
        changed = staff.put(place, json=method | {"countries": ["GB"], "position": 5}, headers=csrf)
        assert changed.status_code == 200, changed.text
        try:
            listed = {m["code"]: m for m in changed.json()["items"]}
            assert listed["pigeon"]["countries"] == ["GB"]
            cart = new_cart(gateway, {create_product(gateway, price_cents=100)["sku"]: 1})
            to_gb = gateway.post("/api/orders/quotes", json={"cart_id": cart, "country": "GB"})
            assert [m["code"] for m in to_gb.json()["shipping_methods"]] == ["standard", "pigeon"]
        finally:
            assert staff.delete(place, headers=csrf).status_code == 200
    refused = [
        (place, method | {"max_days": 1}),
        (place, method | {"countries": ["ZZ"]}),
        (place, method | {"price_cents": -1}),
        ("/api/orders/tax-rates/US-XX", {"name": "x", "rate_bp": 100}),
        ("/api/orders/tax-rates/FR-IDF", {"name": "x", "rate_bp": 100}),
        ("/api/orders/tax-rates/GB", {"name": "x", "rate_bp": 10001}),
        (f"/api/orders/discount-codes/{_code()}", {"kind": "percent", "amount_off_cents": 5}),
        (f"/api/orders/discount-codes/{_code()}", {"kind": "percent", "percent_off": 101}),
        (
            f"/api/orders/discount-codes/{_code()}",
            {"kind": "free_shipping", "ends_at": "2026-01-01T00:00:00"},  # no time zone
        ),
    ]
    for path, body in refused:
        assert_error(gateway.put(path, json=body, headers=ADMIN), 400, "invalid_request")
    assert_error(gateway.delete("/api/orders/discount-codes/NOPE", headers=ADMIN), 404, "not_found")
    assert_error(gateway.get("/api/orders/discount-codes"), 401, "unauthorized")
