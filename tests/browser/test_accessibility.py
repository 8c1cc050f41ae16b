"""axe-core (from npm, the storefront's own copy) over every page of the storefront and the
back office, on a desktop and on a phone: no serious or critical violation anywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from devstack.stack import Stack
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_storefront import MODEL_LOADED
from tests.helpers import ADMIN, PASSWORD, checkout_body, new_cart

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ["serious", "critical"]
RUN_AXE = """async (blocking) => {
    const found = await axe.run(document, { resultTypes: ['violations'] });
    return found.violations
        .filter((v) => blocking.includes(v.impact))
        .map((v) => {
            const where = v.nodes.slice(0, 3).map((n) => n.target.join(' '));
            return `${v.id} (${v.impact}): ${where.join(' | ')}`;
        });
}"""
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
WITH_MODEL = "/product/PS-TOY-0001"


@pytest.fixture(scope="module")
def placed(stack: Stack) -> Iterator[dict[str, str]]:
    """An order to confirm, a customer and a member of staff to sign in as."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as gateway:
        cart = new_cart(gateway, {"PS-TOY-0002": 1})
        order = gateway.post(
            "/api/orders/orders", json=checkout_body(cart), headers={"Idempotency-Key": cart}
        )
        assert order.status_code == 201, order.text
        people = {}
        for role in ("customer", "staff"):
            email = f"axe-{role}-{time.time_ns()}@example.com"
            body = {"email": email, "password": PASSWORD, "name": "Axe Reader", "role": role}
            made = gateway.post("/api/accounts/customers", json=body, headers=ADMIN)
            assert made.status_code == 201, made.text
            people[role] = email
        yield {"order_id": order.json()["order_id"], **people}


def _context(
    browser: Browser, stack: Stack, viewport: dict[str, int], email: str | None
) -> BrowserContext:
    # axe is put into each page as a script of its own: the storefront's policy allows only
    # its own files, which is what this test's own script is not.
    context = browser.new_context(base_url=stack.gateway_url, viewport=viewport, bypass_csp=True)
    if email:
        signed = context.request.post(
            "/api/accounts/sessions", data={"email": email, "password": PASSWORD}
        )
        assert signed.ok, signed.text()
    return context


def _violations(page: Page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_selector("main:not([aria-busy]) h1")
    if path == WITH_MODEL:  # the viewer's own parts are checked once they are there
        page.wait_for_function(MODEL_LOADED, timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    return [f"{path}: {v}" for v in page.evaluate(RUN_AXE, BLOCKING)]


def _pages(who: str, placed: dict[str, str]) -> list[str]:
    order = placed["order_id"]
    return {
        "shopper": [
            "/",
            "/?q=bowl",
            "/?category=toys&sort=price",
            WITH_MODEL,
            "/product/PS-GROOM-0001",
            # Options as radio groups, a sold-out variant chosen.
            "/product/PS-WALK-0001-BCH-42",
            "/product/PS-NO-SUCH-0001",
            "/cart",
            "/checkout",
            f"/order/{order}",
            "/sign-in",
            "/sign-up",
            "/no-such-page",
            "/api-docs",
        ],
        "customer": ["/account", "/account/orders"],
        "staff": [
            "/admin/orders",
            f"/admin/orders/{order}",
            "/admin/products",
            "/admin/products?low=1",
            "/admin/products/new",
            "/admin/products/PS-TOY-0001",
            "/admin/products/PS-WALK-0001",  # options and variants, the model's colourways
            "/admin/pricing",
            "/admin/staff",
        ],
    }[who]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("who", ["shopper", "customer", "staff"])
def test_no_page_has_a_serious_accessibility_violation(
    browser: Browser, stack: Stack, placed: dict[str, Any], who: str, viewport: str
) -> None:
    email = placed.get(who)
    context = _context(browser, stack, VIEWPORTS[viewport], email)
    try:
        page = context.new_page()
        if who == "shopper":
            # A cart with a line, for the cart and checkout pages.
            page.goto("/product/PS-TOY-0002")
            page.get_by_role("button", name="Add to cart").click()
            page.get_by_role("status").filter(has_text="Added to your cart").wait_for()
        found = [v for path in _pages(who, placed) for v in _violations(page, path)]
    finally:
        context.close()
    assert found == [], "\n".join(found)
