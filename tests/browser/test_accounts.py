"""A customer's path in Chromium: sign up, save a default address, check out with it filled
in, find the order in the history, sign out and in again with a guest cart that merges."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Page, expect

from tests.browser.test_storefront import add_to_cart, stocked_product

PASSWORD = "walkies every morning"


def _email() -> str:
    return f"browser-{time.time_ns()}@example.com"


def sign_up(page: Page, email: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name").fill("Robin Walker")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Account")
    ).to_be_visible()


def test_a_customer_saves_an_address_and_checks_out_with_it(
    page: Page, gateway: httpx.Client
) -> None:
    email = _email()
    sign_up(page, email)
    page.get_by_label("Ship to").fill("Robin Walker")
    page.get_by_label("Country").select_option("AU")
    page.get_by_label("Address", exact=True).fill("7 Leash Road")
    page.get_by_label("Apartment").fill("Unit 4")
    page.get_by_label("City").fill("Sydney")
    page.get_by_label("State or territory").select_option(label="New South Wales")
    page.get_by_label("Postal code").fill("2000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    product = stocked_product(gateway, 3, name="Account chew toy", price_cents=900)
    add_to_cart(page, product["sku"])
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.get_by_role("button", name="Checkout", exact=True).click()
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Address", exact=True)).to_have_value("7 Leash Road")
    expect(page.get_by_label("Country")).to_have_value("AU")
    expect(page.get_by_label("State or territory")).to_have_value("NSW")
    # Australia's GST (the demo's 10%, on shipping too) on 9.00 shipped for free.
    expect(page.locator(".summary .totals")).to_contain_text("Tax (GST)$0.90")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    expect(page.locator(".order-email")).to_have_text(f"We sent a confirmation to {email}.")
    order_id = page.locator(".order-id").inner_text()

    page.goto("/account/orders")
    expect(page.get_by_role("link", name=order_id)).to_be_visible()


def test_signing_out_and_in_again_merges_the_guest_cart(page: Page, gateway: httpx.Client) -> None:
    email = _email()
    sign_up(page, email)
    first = stocked_product(gateway, 5, name="Merged ball")
    add_to_cart(page, first["sku"])
    page.goto("/account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("")
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    second = stocked_product(gateway, 5, name="Guest bone")
    add_to_cart(page, second["sku"])
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or the password is wrong.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("#cart-count")).to_have_text("2")
    page.get_by_role("link", name=re.compile("^Cart")).click()
    expect(page.get_by_role("link", name="Merged ball")).to_be_visible()
    expect(page.get_by_role("link", name="Guest bone")).to_be_visible()


def test_a_weak_password_is_explained(page: Page) -> None:
    page.goto("/sign-up")
    page.get_by_label("Name").fill("Weak")
    page.get_by_label("Email").fill(_email())
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("common")
