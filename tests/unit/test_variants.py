"""The catalog's rules for options and variants, and how a variant is answered."""

from __future__ import annotations

from typing import Any

import pytest

from petshore.errors import InvalidRequest
from services.catalog import rules, views
from services.catalog.rules import Option, Variant

COLOUR = Option("Colour", ("Red", "Blue"))
SIZE = Option("Size", ("S", "L"))


def _problems(options: list[Option], variants: list[Variant]) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as refused:
        rules.check_variants("P-1", options, variants)
    return dict(refused.value.details["problems"])


def test_every_choice_of_every_option_may_be_a_variant() -> None:
    variants = [
        Variant(f"P-1-{c}{s}", {"Colour": c, "Size": s}) for c in COLOUR.values for s in SIZE.values
    ]
    rules.check_variants("P-1", [COLOUR, SIZE], variants)
    rules.check_variants("P-1", [], [])


def test_each_problem_is_named_at_its_field() -> None:
    problems = _problems(
        [COLOUR, SIZE],
        [
            Variant("P-1", {"Colour": "Red", "Size": "S"}),
            Variant("P-1-A", {"Colour": "Red"}),
            Variant("P-1-B", {"Colour": "Red", "Size": "S"}),
            Variant("P-1-B", {"Colour": "Red", "Size": "XL"}),
        ],
    )
    assert problems == {
        "variants.0.sku": "this is the product's own SKU",
        "variants.1.options": "give one value of each option: Colour, Size",
        "variants.2.options": "another variant is the same choice",
        "variants.3.sku": "another variant has it",
        "variants.3.options": "not one of the values of Size",
    }


def test_options_are_named_once_and_their_values_given_once_whatever_the_case() -> None:
    problems = _problems(
        [Option("Colour", ("Red", "RED")), Option("colour", ("X",))],
        [Variant("P-1-A", {"Colour": "Red", "colour": "X"})],
    )
    assert set(problems) == {"options.0.values", "options.1.name"}


def _row(**fields: Any) -> dict[str, Any]:
    row = {"sku": "P-1", "name": "Jumper", "description": "", "category_id": "c"}
    row |= {"price_cents": 2000, "currency": "USD", "status": "active", "model_glb_key": None}
    row |= {"images": [], "options": [{"name": "Colour", "values": ["Red"]}], "variants": []}
    return row | fields


def test_a_variant_is_answered_at_its_price_or_the_products() -> None:
    red = {"sku": "P-1-R", "options": {"Colour": "Red"}, "price_cents": None}
    red |= {"status": "active", "material_variant": "red"}
    answer = views.product(_row(variants=[red]), red)
    assert (answer["sku"], answer["name"], answer["price_cents"]) == ("P-1-R", "Jumper — Red", 2000)
    assert answer["variant_of"] == "P-1"
    dearer = views.product(_row(variants=[red]), red | {"price_cents": 2600})
    assert dearer["price_cents"] == 2600
    gone = views.product(_row(status="discontinued", variants=[red]), red)
    assert gone["status"] == "discontinued"
    assert gone["variants"][0]["status"] == "discontinued"
