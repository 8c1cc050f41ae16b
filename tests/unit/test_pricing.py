"""How an order is priced beyond its goods: shipping, discount codes and tax, from the owner's
own data, and where an address is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from petshore.errors import InvalidRequest
from services.orders import pricing
from services.orders.addresses import Destination, countries, destination
from services.orders.rules import PricedLine, request_hash
from services.orders.schemas import Checkout
from tests.helpers import checkout_body

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
STANDARD = pricing.ShippingMethod("standard", "Standard", 499, "USD", 5000, 3, 7, None)
EXPRESS = pricing.ShippingMethod("express", "Express", 1500, "USD", None, 1, 2, ("US",))
EURO = pricing.ShippingMethod("euro", "Europe", 900, "EUR", None, 2, 5, ("DE",))
CALIFORNIA = pricing.TaxRate("US", "CA", "California sales tax", 725, on_shipping=False)
UK_VAT = pricing.TaxRate("GB", "", "VAT", 2000, on_shipping=True)
TEN_OFF = pricing.Discount("TEN", "percent", 10, None, None, 0, None, None, None, 0, True)


def lines(*prices: int) -> list[PricedLine]:
    return [PricedLine(f"SKU-{i}", "Thing", 1, p) for i, p in enumerate(prices)]


def test_shipping_is_free_from_its_threshold_and_goes_only_where_it_ships() -> None:
    assert pricing.price(lines(2000), STANDARD, None, None).shipping == 499
    assert pricing.price(lines(2500, 2500), STANDARD, None, None).shipping == 0
    offered = pricing.offered_methods([STANDARD, EXPRESS, EURO], "GB", "USD")
    assert offered == [STANDARD]
    assert pricing.choose_method(offered, "GB", None) == STANDARD
    with pytest.raises(InvalidRequest) as refused:
        pricing.choose_method(offered, "GB", "express")
    assert refused.value.details["fields"] == ["shipping_method"]
    with pytest.raises(InvalidRequest) as nowhere:
        pricing.choose_method([], "AQ", None, "shipping_address.")
    assert nowhere.value.details["problems"] == {
        "shipping_address.country": "the shop does not ship to Antarctica"
    }


def test_tax_is_the_regions_rate_else_the_countrys_on_what_is_left_after_the_discount() -> None:
    us_wide = pricing.TaxRate("US", "", "US", 100, on_shipping=False)
    rates = [CALIFORNIA, us_wide, UK_VAT]
    assert pricing.tax_rate_for(rates, Destination("US", "CA")) == CALIFORNIA
    assert pricing.tax_rate_for(rates, Destination("US", "OR")) == us_wide
    assert pricing.tax_rate_for(rates, Destination("FR", "")) is None
    # 7.25% of 1800 (2000 less 10%) is 130.5: halves round up; shipping is not taxed there.
    totals = pricing.price(lines(2000), STANDARD, CALIFORNIA, TEN_OFF)
    assert (totals.subtotal, totals.shipping, totals.discount, totals.tax) == (2000, 499, 200, 131)
    assert totals.total == 2000 + 499 - 200 + 131
    # VAT also on shipping.
    assert pricing.price(lines(1000), STANDARD, UK_VAT, None).tax == 300  # 20% of 1499


def test_each_kind_of_code_takes_off_what_it_says() -> None:
    five = replace(TEN_OFF, kind="amount", percent_off=None, amount_off_cents=500, currency="USD")
    free = replace(TEN_OFF, kind="free_shipping", percent_off=None)
    assert pricing.price(lines(333), STANDARD, None, TEN_OFF).discount == 33
    assert pricing.price(lines(300), STANDARD, None, five).discount == 300  # never below zero
    shipped_free = pricing.price(lines(1000), STANDARD, UK_VAT, free)
    assert (shipped_free.discount, shipped_free.tax, shipped_free.total) == (499, 200, 1200)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"active": False}, "this code is not one the shop knows"),
        ({"starts_at": NOW + timedelta(days=1)}, "this code cannot be used yet"),
        ({"ends_at": NOW}, "this code has expired"),
        ({"max_redemptions": 3, "redemptions": 3}, "this code has been used up"),
        ({"min_subtotal_cents": 5001}, "this code needs goods worth at least $50.01"),
        ({"kind": "amount", "amount_off_cents": 5, "currency": "EUR"}, "for orders in EUR"),
    ],
)
def test_a_code_that_cannot_be_used_says_why(change: dict[str, object], problem: str) -> None:
    code = replace(TEN_OFF, **change)  # type: ignore[arg-type]
    assert problem in (pricing.discount_problem(code, 5000, "USD", NOW) or "")
    assert pricing.discount_problem(TEN_OFF, 5000, "USD", NOW) is None
    assert pricing.discount_problem(None, 5000, "USD", NOW) == "this code is not one the shop knows"


def test_an_address_names_a_real_country_and_one_of_its_regions() -> None:
    assert destination("US", "oregon") == Destination("US", "OR")
    assert destination("US", "or") == Destination("US", "OR")
    assert destination("US", None) == Destination("US", "")
    assert destination("GB", "Greater London") == Destination("GB", "")  # text, prices nothing
    with pytest.raises(InvalidRequest) as no_state:
        destination("US", "Narnia", "shipping_address.")
    assert no_state.value.details["fields"] == ["shipping_address.region"]
    with pytest.raises(InvalidRequest) as no_country:
        destination("ZZ", None)
    assert no_country.value.details["problems"] == {
        "country": "there is no country with the code ZZ"
    }
    assert countries()["US"].regions is not None
    assert {"CA", "NY", "DC"} <= {r.code for r in countries()["US"].regions or ()}
    assert countries()["FR"].regions is None


def test_a_checkout_is_the_same_request_across_the_upgrade_that_added_its_choices() -> None:
    plain = Checkout.model_validate(checkout_body("c" * 22))
    # Exactly the fields a checkout had before: the same key and body hash as they did.
    assert set(plain.identity()) == {"cart_id", "email", "shipping_address", "payment"}
    chosen = Checkout.model_validate({**checkout_body("c" * 22), "shipping_method": "express"})
    assert chosen.identity()["shipping_method"] == "express"
    assert request_hash(plain.identity()) != request_hash(chosen.identity())
