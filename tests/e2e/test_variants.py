"""Variants: a product's options, and each choice sold under its own SKU with its own price
and stock, through carts and checkout, which know a variant only by its SKU."""

from __future__ import annotations

from typing import Any

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

COLOURS = ["Red", "Blue"]
SIZES = ["S", "L"]


def _variants_body(sku: str, **blue_large: Any) -> dict[str, Any]:
    """Red and Blue in S and L; the blue large one with `blue_large`'s own fields."""
    variants = []
    for colour in COLOURS:
        for size in SIZES:
            variant: dict[str, Any] = {
                "sku": f"{sku}-{colour[0]}{size}",
                "options": {"Colour": colour, "Size": size},
                "material_variant": colour.lower(),
            }
            if (colour, size) == ("Blue", "L"):
                variant |= blue_large
            variants.append(variant)
    return {
        "options": [{"name": "Colour", "values": COLOURS}, {"name": "Size", "values": SIZES}],
        "variants": variants,
    }


def _checkout(gateway: httpx.Client, lines: dict[str, int]) -> httpx.Response:
    body = checkout_body(new_cart(gateway, lines))
    return gateway.post("/api/orders/orders", json=body, headers=idempotency_key())


def _red(**fields: Any) -> dict[str, Any]:
    """A body's one variant, red, with `fields` changed."""
    return {"variants": [{"sku": "X-1", "options": {"Colour": "Red"}, **fields}]}


def _put(gateway: httpx.Client, sku: str, body: dict[str, Any]) -> httpx.Response:
    return gateway.put(f"/api/catalog/products/{sku}/variants", json=body, headers=ADMIN)


@pytest.fixture
def jumper(gateway: httpx.Client) -> dict[str, Any]:
    product = create_product(gateway, name="Dog jumper", price_cents=2000)
    answer = _put(gateway, product["sku"], _variants_body(product["sku"], price_cents=2500))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_product_without_options_keeps_the_contract_fields(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    assert product["options"] == [] and product["variants"] == []
    assert product["variant_of"] is None and product["selected_options"] is None


def test_variants_are_answered_with_their_own_sku_price_and_name(
    gateway: httpx.Client, jumper: dict[str, Any]
) -> None:
    sku = jumper["sku"]
    assert [o["name"] for o in jumper["options"]] == ["Colour", "Size"]
    assert [v["sku"] for v in jumper["variants"]] == [
        f"{sku}-RS",
        f"{sku}-RL",
        f"{sku}-BS",
        f"{sku}-BL",
    ]
    prices = {v["sku"]: v["price_cents"] for v in jumper["variants"]}
    assert prices == {f"{sku}-RS": 2000, f"{sku}-RL": 2000, f"{sku}-BS": 2000, f"{sku}-BL": 2500}
    blue = gateway.get(f"/api/catalog/products/{sku}-BL")
    assert blue.status_code == 200
    answer = blue.json()
    assert answer["sku"] == f"{sku}-BL"
    assert answer["name"] == "Dog jumper — Blue / L"
    assert answer["price_cents"] == 2500
    assert answer["variant_of"] == sku
    assert answer["selected_options"] == {"Colour": "Blue", "Size": "L"}
    # The page of a variant can offer the others: the product's choices come with it.
    assert answer["variants"] == jumper["variants"]
    # A variant without a price of its own follows the product's.
    gateway.patch(f"/api/catalog/products/{sku}", json={"price_cents": 1800}, headers=ADMIN)
    assert gateway.get(f"/api/catalog/products/{sku}-RS").json()["price_cents"] == 1800
    assert gateway.get(f"/api/catalog/products/{sku}-BL").json()["price_cents"] == 2500


def test_a_variant_is_stocked_carted_and_bought_by_its_sku(
    gateway: httpx.Client, jumper: dict[str, Any]
) -> None:
    sku = jumper["sku"]
    set_stock(gateway, f"{sku}-BL", 2)
    set_stock(gateway, f"{sku}-RS", 5)
    order = _checkout(gateway, {f"{sku}-BL": 2, f"{sku}-RS": 1})
    assert order.status_code == 201, order.text
    lines = {line["sku"]: line for line in order.json()["items"]}
    assert lines[f"{sku}-BL"]["unit_price_cents"] == 2500
    assert lines[f"{sku}-RS"]["unit_price_cents"] == 2000
    assert lines[f"{sku}-BL"]["name"] == "Dog jumper — Blue / L"
    stock = gateway.get("/api/orders/inventory", params={"skus": f"{sku}-BL,{sku}-RS"}).json()
    assert {s["sku"]: s["available"] for s in stock["items"]} == {f"{sku}-BL": 0, f"{sku}-RS": 4}
    # Sold out, this variant alone: the others are still sold.
    refused = _checkout(gateway, {f"{sku}-BL": 1})
    assert_error(refused, 409, "out_of_stock")


def test_the_product_itself_is_not_bought_once_it_has_variants(
    gateway: httpx.Client, jumper: dict[str, Any]
) -> None:
    set_stock(gateway, jumper["sku"], 5)
    refused = _checkout(gateway, {jumper["sku"]: 1})
    error = assert_error(refused, 400, "invalid_request")
    assert error["details"]["skus"] == [jumper["sku"]]
    assert "Dog jumper" in error["message"]


def test_a_discontinued_variant_or_product_is_no_longer_sold(
    gateway: httpx.Client, jumper: dict[str, Any]
) -> None:
    sku = jumper["sku"]
    body = _variants_body(sku, status="discontinued")
    assert _put(gateway, sku, body).status_code == 200
    assert gateway.get(f"/api/catalog/products/{sku}-BL").json()["status"] == "discontinued"
    assert gateway.get(f"/api/catalog/products/{sku}-BS").json()["status"] == "active"
    set_stock(gateway, f"{sku}-BL", 3)
    refused = _checkout(gateway, {f"{sku}-BL": 1})
    assert_error(refused, 400, "invalid_request")
    gateway.delete(f"/api/catalog/products/{sku}", headers=ADMIN)
    assert gateway.get(f"/api/catalog/products/{sku}-BS").json()["status"] == "discontinued"


def test_putting_variants_replaces_them(gateway: httpx.Client, jumper: dict[str, Any]) -> None:
    sku = jumper["sku"]
    fewer = {
        "options": [{"name": "Colour", "values": ["Red"]}],
        "variants": [{"sku": f"{sku}-R", "options": {"Colour": "Red"}}],
    }
    answer = _put(gateway, sku, fewer).json()
    assert [v["sku"] for v in answer["variants"]] == [f"{sku}-R"]
    assert_error(gateway.get(f"/api/catalog/products/{sku}-BL"), 404, "not_found")
    none = _put(gateway, sku, {"options": [], "variants": []}).json()
    assert none["options"] == [] and none["variants"] == []


def test_a_variant_sku_belongs_to_one_product(
    gateway: httpx.Client, jumper: dict[str, Any]
) -> None:
    other = create_product(gateway)
    stolen = {
        "options": [{"name": "Colour", "values": ["Red"]}],
        "variants": [{"sku": jumper["variants"][0]["sku"], "options": {"Colour": "Red"}}],
    }
    error = assert_error(_put(gateway, other["sku"], stolen), 409, "conflict")
    assert error["details"]["skus"] == [jumper["variants"][0]["sku"]]
    product_sku = {
        "options": [{"name": "Colour", "values": ["Red"]}],
        "variants": [{"sku": other["sku"], "options": {"Colour": "Red"}}],
    }
    assert_error(_put(gateway, jumper["sku"], product_sku), 409, "conflict")
    # Nor may a new product take a variant's SKU.
    taken = gateway.post(
        "/api/catalog/products",
        json={"sku": jumper["variants"][1]["sku"], "name": "x", "category": "x", "price_cents": 1},
        headers=ADMIN,
    )
    assert_error(taken, 409, "conflict")
    # What was refused changed nothing.
    assert gateway.get(f"/api/catalog/products/{other['sku']}").json()["variants"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": []}, "variants"),
        ({"options": []}, "options"),
        ({"options": [{"name": "Colour", "values": ["Red", "red"]}]}, "options.0.values"),
        (
            {
                "options": [
                    {"name": "Colour", "values": ["Red"]},
                    {"name": "colour", "values": ["X"]},
                ]
            },
            "options.1.name",
        ),
        (_red(options={"Colour": "Green"}), "variants.0.options"),
        (_red(options={"Size": "S"}), "variants.0.options"),
        (
            {
                "variants": [
                    {"sku": "X-1", "options": {"Colour": "Red"}},
                    {"sku": "X-2", "options": {"Colour": "Red"}},
                ]
            },
            "variants.1.options",
        ),
        (
            {
                "variants": [
                    {"sku": "X-1", "options": {"Colour": "Red"}},
                    {"sku": "X-1", "options": {"Colour": "Blue"}},
                ]
            },
            "variants.1.sku",
        ),
        (_red(sku="lower"), "variants.0.sku"),
        (_red(price_cents=-1), "variants.0.price_cents"),
        (_red(colour="Red"), "variants.0.colour"),
        (_red(status="gone"), "variants.0.status"),
        ({"sizes": []}, "sizes"),
    ],
)
def test_bad_variants_are_named_at_their_field(
    gateway: httpx.Client, change: dict[str, Any], field: str
) -> None:
    product = create_product(gateway)
    body = {
        "options": [{"name": "Colour", "values": ["Red", "Blue"]}],
        "variants": [{"sku": unique_sku(), "options": {"Colour": "Red"}}],
        **change,
    }
    error = assert_error(_put(gateway, product["sku"], body), 400, "invalid_request")
    assert field in error["details"]["fields"]
    assert field in error["details"]["problems"]
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json()["variants"] == []


def test_variants_of_an_unknown_product_are_a_404(gateway: httpx.Client) -> None:
    body = _variants_body("NO-SUCH")
    assert_error(_put(gateway, unique_sku("NONE"), body), 404, "not_found")


def test_putting_variants_needs_the_admin_token(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    anonymous = gateway.put(
        f"/api/catalog/products/{product['sku']}/variants", json=_variants_body(product["sku"])
    )
    assert_error(anonymous, 401, "unauthorized")


def test_the_demo_shoe_comes_in_colours_its_model_can_show(gateway: httpx.Client) -> None:
    shoe = gateway.get("/api/catalog/products/PS-WALK-0001").json()
    assert [o["name"] for o in shoe["options"]] == ["Colour", "Size"]
    assert len(shoe["variants"]) == 9
    assert {v["material_variant"] for v in shoe["variants"]} == {"midnight", "beach", "street"}
    skus = ",".join(v["sku"] for v in shoe["variants"])
    stock = gateway.get("/api/orders/inventory", params={"skus": skus}).json()["items"]
    assert sum(s["available"] for s in stock) > 0
    # The published model keeps the material variants the page switches between.
    glb = gateway.get(shoe["model"]["glb_url"]).content
    assert b"KHR_materials_variants" in glb
