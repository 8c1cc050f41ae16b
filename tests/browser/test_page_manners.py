"""Where focus goes after the page changes under the shopper, what a page shows while it is
still coming, and what a phone shows of the cart: each of the storefront's rough edges, fixed
and held in Chromium."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import PHONE
from tests.browser.test_storefront import MODEL_LOADED, add_to_cart, stocked_product

WARN_COLOUR = "rgb(164, 22, 26)"  # styles.css: --warn


def test_focus_stays_on_the_cart_line_after_a_change(page: Page, gateway: httpx.Client) -> None:
    product = stocked_product(gateway, 5, name="Focus rope toy", price_cents=700)
    add_to_cart(page, product["sku"])
    page.goto("/cart")
    quantity = page.get_by_label("Quantity of Focus rope toy")
    quantity.fill("3")
    quantity.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Cart updated.")).to_be_visible()
    expect(quantity).to_have_value("3")
    expect(quantity).to_be_focused()
    page.get_by_role("button", name="Remove Focus rope toy").click()
    expect(page.get_by_role("heading", level=1, name="Your cart")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="Removed from your cart.")).to_be_visible()


def test_load_more_moves_focus_to_the_first_product_it_brought(page: Page) -> None:
    page.goto("/")
    more = page.get_by_role("button", name="Load more")
    expect(more).to_be_visible()  # the demo and the tests' products fill more than a page
    cards = page.locator(".grid > li")
    shown = cards.count()
    more.focus()
    page.keyboard.press("Enter")
    expect(cards.nth(shown)).to_be_visible()
    first_new = cards.nth(shown).get_by_role("link").first
    expect(first_new).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="more products shown")).to_be_visible()


def test_the_viewer_keeps_the_tab_order(page: Page) -> None:
    """model-viewer's own AR button has tabindex 2 (axe: serious); the page brings its own."""
    page.goto("/product/PS-TOY-0001")
    page.wait_for_function(MODEL_LOADED, timeout=60_000)
    found = page.evaluate(
        """() => {
            const viewer = document.querySelector('model-viewer');
            const slot = viewer.shadowRoot.querySelector('slot[name="ar-button"]');
            // What is on the page: the slot's own default button is not, once a button is
            // put in its place (nor the exit button of an AR session that is not running).
            const all = [...document.querySelectorAll('[tabindex]'),
                         ...viewer.shadowRoot.querySelectorAll('[tabindex]')];
            return {
                ours: slot.assignedElements().map((e) => e.className),
                positive: all.filter((e) => e.tabIndex > 0 && e.getClientRects().length > 0)
                             .map((e) => e.outerHTML.slice(0, 80)),
            };
        }"""
    )
    assert found == {"ours": ["ar-button"], "positive": []}


def test_an_unknown_product_says_there_is_no_such_product(page: Page) -> None:
    page.goto("/product/PS-NO-SUCH-0001")
    expect(page.get_by_role("heading", level=1)).to_have_text("Product not found")
    expect(page.get_by_text("We have no such product")).to_be_visible()
    expect(page.get_by_text("Something went wrong")).to_have_count(0)


def test_a_model_on_its_way_says_so_over_its_poster(page: Page, gateway: httpx.Client) -> None:
    model = gateway.get("/api/catalog/products/PS-TOY-0001").json()["model"]
    first_file = f"**{model['preview_url'] or model['glb_url']}"
    held: list[Route] = []
    released = False
    page.route(first_file, lambda route: route.continue_() if released else held.append(route))
    page.goto("/product/PS-TOY-0001")
    note = page.get_by_role("status").filter(has_text="Loading the 3D model")
    expect(note).to_be_visible()
    expect(page.locator(".slide .poster, model-viewer").first).to_be_visible()
    released = True
    for route in held:
        route.continue_()
    page.wait_for_function(MODEL_LOADED, timeout=60_000)
    expect(page.get_by_text("Loading the 3D model")).to_have_count(0)


def test_a_page_still_loading_shows_a_bar(page: Page) -> None:
    page.goto("/")
    held: list[Route] = []
    released = False
    page.route(
        "**/api/catalog/products/PS-TOY-0002",
        lambda route: route.continue_() if released else held.append(route),
    )
    page.get_by_role("link", name="Squeaky rubber bone").first.click()
    bar = page.get_by_role("progressbar", name="Loading the page")
    expect(bar).to_be_visible()
    released = True
    for route in held:
        route.continue_()
    expect(page.get_by_role("heading", level=1)).to_have_text("Squeaky rubber bone")
    expect(bar).to_be_hidden()


def test_a_phone_shows_each_cart_lines_price(page: Page, gateway: httpx.Client) -> None:
    product = stocked_product(gateway, 5, name="Phone price ball", price_cents=1234)
    add_to_cart(page, product["sku"])
    page.set_viewport_size(PHONE)
    page.goto("/cart")
    row = page.get_by_role("row", name=re.compile("Phone price ball"))
    expect(row.get_by_role("cell", name="$12.34")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the cart fits the phone's width"


def test_few_left_is_said_in_the_warning_colour(page: Page, gateway: httpx.Client) -> None:
    few = stocked_product(gateway, 2, name="Two left leash")
    page.goto(f"/product/{few['sku']}")
    words = page.get_by_text("Only 2 left")
    expect(words).to_have_css("color", WARN_COLOUR)
