"""A product sold in variants, in Chromium: the shopper chooses a colour and a size, the page
prices and stocks that variant, the 3D model shows its colour, and the cart gets its SKU."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

SHOE = "/product/PS-WALK-0001"
SHOWS_MATERIAL = (
    "name => { const v = document.querySelector('model-viewer');"
    " return v && v.loaded && v.dataset.detail === 'full' && v.variantName === name; }"
)


def _choice(page: Page, option: str, value: str) -> Locator:
    return page.get_by_role("group", name=option).get_by_role("radio", name=re.compile(f"^{value}"))


def test_choosing_a_variant_prices_stocks_and_shows_it(page: Page) -> None:
    page.goto(SHOE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Trail runner walking shoe")
    # The first variant that can be bought: Midnight, EU 40 (4 left).
    expect(_choice(page, "Colour", "Midnight")).to_be_checked()
    expect(_choice(page, "Size", "EU 40")).to_be_checked()
    expect(page.locator(".offer .price")).to_have_text("$89.00")
    expect(page.locator(".offer .stock")).to_have_text("Only 4 left")
    # The keyboard moves along a group, as with any radio buttons.
    _choice(page, "Colour", "Midnight").focus()
    page.keyboard.press("ArrowRight")
    expect(_choice(page, "Colour", "Beach")).to_be_checked()
    expect(page.locator(".offer .price")).to_have_text("$94.00")
    expect(page).to_have_url(re.compile(r"/product/PS-WALK-0001-BCH-40$"))
    page.wait_for_function(SHOWS_MATERIAL, arg="beach", timeout=90_000)
    # Beach in EU 42 is sold out: the size says so before it is chosen, and cannot be bought.
    expect(_choice(page, "Size", "EU 42")).to_have_accessible_name("EU 42 (sold out)")
    _choice(page, "Size", "EU 42").check()
    expect(page.locator(".offer .stock")).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_be_disabled()
    _choice(page, "Size", "EU 44").check()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status").filter(has_text="Added to your cart")).to_be_visible()
    page.get_by_role("link", name="View cart").click()
    line = page.get_by_role("link", name="Trail runner walking shoe — Beach / EU 44")
    expect(line).to_have_attribute("href", "/product/PS-WALK-0001-BCH-44")


def test_a_variants_address_opens_with_that_variant_chosen(page: Page) -> None:
    page.goto(f"{SHOE}-STR-42")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trail runner walking shoe")
    expect(_choice(page, "Colour", "Street")).to_be_checked()
    expect(_choice(page, "Size", "EU 42")).to_be_checked()
    expect(page.locator(".offer .stock")).to_have_text("Only 2 left")
    page.wait_for_function(SHOWS_MATERIAL, arg="street", timeout=90_000)


def test_a_card_prices_a_product_from_its_cheapest_variant(page: Page) -> None:
    page.goto("/?category=walking")
    card = page.locator(".card").filter(has_text="Trail runner walking shoe")
    expect(card.locator(".price")).to_have_text("From $89.00")
    # Its variants' stock together: 22 units.
    expect(card.locator(".stock")).to_have_text("In stock")
