"""A full checkout in Chromium: the order summary beside the form, priced by the orders
service as the shopper chooses where and how it ships and types a code; the server's word on
each field shown at that field; and a confirmation with lines, address and totals."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.test_storefront import add_to_cart, fill_address, stocked_product


def test_the_summary_follows_the_shoppers_choices_and_the_order_keeps_them(
    page: Page, gateway: httpx.Client
) -> None:
    product = stocked_product(gateway, 4, name="Summary squeaky bone", price_cents=3000)
    add_to_cart(page, product["sku"])
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.get_by_role("button", name="Checkout", exact=True).click()
    summary = page.get_by_role("complementary", name="Order summary")
    expect(summary).to_contain_text("Summary squeaky bone \u00d7 1$30.00")
    total = summary.locator(".grand dd")
    expect(total).to_have_text("$30.00")

    fill_address(page, email="pat@localhost", state="CA")
    # The demo's California sales tax: 7.25% of 30.00, to the nearest cent.
    expect(summary).to_contain_text("Tax (California sales tax)$2.18")
    expect(total).to_have_text("$32.18")
    page.get_by_role("radio", name=re.compile("^Express shipping")).check()
    expect(total).to_have_text("$47.18")

    code = page.get_by_label("Discount code")
    code.fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-discount_code-error")).to_have_text(
        "This code is not one the shop knows."
    )
    expect(total).to_have_text("$47.18")
    code.fill("welcome10")
    code.press("Enter")
    expect(summary).to_contain_text("Discount (WELCOME10)-$3.00")
    # 7.25% of 27.00 is 1.9575.
    expect(total).to_have_text("$43.96")

    # The browser takes "pat@localhost"; the shop does not, and says so at the field.
    page.get_by_role("button", name="Place order").click()
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("#f-email-error")).to_have_text(
        "Enter an email address, like name@example.com."
    )
    email.fill("pat@example.com")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    lines = page.get_by_role("table", name="What you ordered")
    expect(lines.get_by_role("row", name=re.compile("Summary squeaky bone"))).to_contain_text(
        "1$30.00"
    )
    expect(page.locator(".ship-to")).to_contain_text("Portland CA 97201")
    totals = page.locator(".confirmation .totals")
    expect(totals).to_contain_text("Shipping (Express shipping)$15.00")
    expect(totals).to_contain_text("Discount (WELCOME10)-$3.00")
    expect(totals.locator(".grand dd")).to_have_text("$43.96")
    order_id = page.locator(".order-id").inner_text()
    order = gateway.get(f"/api/orders/orders/{order_id}").json()
    assert (order["total_cents"], order["tax_cents"], order["discount_cents"]) == (4396, 196, 300)
    assert order["shipping_address"]["region"] == "CA"
