"""A shopper's path through the storefront in Chromium: browse, open a product, see its 3D
model load, add to cart, check out with a good and a declined card."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from playwright.sync_api import Browser, Page, Route, expect

from devstack.processes import free_port
from devstack.stack import Stack
from petshore.contract import CATALOG, ORDERS, SERVICES, Env
from tests.browser.conftest import PHONE
from tests.helpers import ADMIN, create_product, set_stock

MODEL_LOADED = "() => { const v = document.querySelector('model-viewer'); return v && v.loaded; }"


def stocked_product(gateway: httpx.Client, units: int, **fields: object) -> dict:
    product = create_product(gateway, **fields)
    set_stock(gateway, product["sku"], units)
    return product


def add_to_cart(page: Page, sku: str) -> None:
    page.goto(f"/product/{sku}")
    page.get_by_role("button", name="Add to cart").click()
    # The page's own status; a product with a 3D model also has the viewer's.
    expect(page.get_by_role("status").filter(has_text="Added to your cart")).to_be_visible()


def fill_checkout(
    page: Page, card: str, before_placing: Callable[[], object] = lambda: None
) -> None:
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.get_by_role("button", name="Checkout", exact=True).click()
    before_placing()
    fill_address(page)
    page.get_by_label("Test card").select_option(card)
    page.get_by_role("button", name="Place order").click()


def fill_address(page: Page, email: str = "shopper@example.com", state: str = "OR") -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Sam Shopper")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("Address", exact=True).fill("1 Kennel Lane")
    page.get_by_label("City").fill("Portland")
    page.get_by_label("State").select_option(state)
    page.get_by_label("Postal code").fill("97201")


def test_browse_categories_and_search(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    expect(page.get_by_role("link", name="Fennec the Fox plush")).to_be_visible()
    fox_card = page.get_by_role("listitem").filter(has_text="Fennec the Fox plush")
    # A product with a photo shows it (tests/browser/test_photos.py: with a model only, its
    # poster).
    expect(fox_card.locator("img")).to_have_attribute("src", re.compile(r"^/media/.+\.jpg$"))
    photo = fox_card.locator("img")
    photo.scroll_into_view_if_needed()  # pictures in the grid load lazily
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    page.get_by_role("navigation", name="Categories").get_by_role(
        "link", name=re.compile("^Walking")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Walking")
    expect(page.get_by_role("link", name="Reflective leash, 2 m")).to_be_visible()
    expect(page.get_by_role("link", name="Fennec the Fox plush")).to_have_count(0)
    page.get_by_label("Search").fill("harness")
    page.get_by_label("Search").press("Enter")
    expect(page.get_by_role("link", name="No-pull harness")).to_be_visible()
    expect(page.get_by_role("link", name="Reflective leash, 2 m")).to_have_count(0)


def test_sort_price_filter_and_3d_badge(page: Page) -> None:
    page.goto("/?category=walking")
    names = page.get_by_role("list").get_by_role("heading", level=2)
    walking = ["Trail runner walking shoe", "Reflective leash, 2 m", "No-pull harness"]
    expect(names).to_have_text(walking)  # SKU order
    page.get_by_label("Sort by").select_option(label="Price, low to high")
    expect(page).to_have_url(re.compile(r"/\?category=walking&sort=price$"))
    expect(names).to_have_text([walking[1], walking[2], walking[0]])
    page.get_by_label("From").fill("20")
    page.get_by_label("to", exact=True).fill("89.00")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"min_price=20&max_price=89\.00$"))
    expect(names).to_have_text([walking[2], walking[0]])
    # A product with a 3D model says so on its card; one without does not.
    shoe = page.get_by_role("listitem").filter(has_text=walking[0])
    expect(shoe.get_by_text("3D", exact=True)).to_be_visible()
    expect(shoe.get_by_text("Has a 3D model")).to_be_attached()
    harness = page.get_by_role("listitem").filter(has_text=walking[2])
    expect(harness.get_by_text("3D", exact=True)).to_have_count(0)


def test_load_more_pages_through_the_catalog(page: Page, gateway: httpx.Client) -> None:
    slug = "paging-" + str(id(page))
    for i in range(14):
        create_product(gateway, category=slug, name=f"Paging bowl {i:02d}")
    page.goto(f"/?category={slug}")
    cards = page.get_by_role("link", name=re.compile("^Paging bowl"))
    expect(cards).to_have_count(12)
    page.get_by_role("button", name="Load more").click()
    expect(cards).to_have_count(14)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()


def test_product_page_loads_the_3d_model(page: Page, gateway: httpx.Client) -> None:
    model = gateway.get("/api/catalog/products/PS-TOY-0001").json()["model"]
    page.goto("/")
    page.get_by_role("link", name="Fennec the Fox plush").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fennec the Fox plush")
    viewer = page.locator("model-viewer")
    expect(viewer).to_have_attribute("camera-controls", "")
    expect(viewer).to_have_attribute("auto-rotate", "")
    # AR on an iPhone: Quick Look with the published USDZ, never one made at tap time.
    expect(viewer).to_have_attribute("ar", "")
    expect(viewer).to_have_attribute("ar-modes", "quick-look")
    expect(viewer).to_have_attribute("ios-src", model["ios_url"])
    # Not an Android browser: no Scene Viewer link.
    expect(page.locator("a[href^='intent:']")).to_have_count(0)
    page.wait_for_function(MODEL_LOADED, timeout=60_000)
    assert page.evaluate("document.querySelector('model-viewer').src").endswith(".glb")


ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def test_on_android_scene_viewer_is_handed_the_ar_glb(
    browser: Browser, stack: Stack, gateway: httpx.Client
) -> None:
    model = gateway.get("/api/catalog/products/PS-TOY-0001").json()["model"]
    context = browser.new_context(
        base_url=stack.gateway_url, viewport=PHONE, user_agent=ANDROID_CHROME, is_mobile=True
    )
    try:
        page = context.new_page()
        page.goto("/product/PS-TOY-0001")
        link = page.get_by_role("link", name="View in your room")
        expect(link).to_be_visible()
        intent = link.get_attribute("href") or ""
    finally:
        context.close()
    target, _, extras = intent.partition("#Intent;")
    assert target.startswith("intent://arvr.google.com/scene-viewer/1.0?")
    query = parse_qs(urlsplit(target).query)
    assert query["file"] == [f"{stack.gateway_url}{model['ar_url']}"]
    assert query["mode"] == ["ar_preferred"]
    assert model["ar_url"] != model["glb_url"]
    fields = extras.removesuffix(";end;").split(";")
    assert {"scheme=https", "package=com.google.ar.core"} <= set(fields)
    fallback = next(f for f in fields if f.startswith("S.browser_fallback_url="))
    assert unquote(fallback.partition("=")[2]) == f"{stack.gateway_url}/product/PS-TOY-0001"


VIEWER_SHOWS = (
    "detail => { const v = document.querySelector('model-viewer');"
    " return v && v.loaded && v.dataset.detail === detail; }"
)


def test_a_large_model_shows_its_preview_while_the_full_one_loads(
    page: Page, gateway: httpx.Client
) -> None:
    model = gateway.get("/api/catalog/products/PS-FEED-0001").json()["model"]
    assert model["preview_url"], "the demo mixer is over 1 MB: it has a preview"
    # The full model is held back until the preview has been seen.
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**{model['glb_url']}", hold)
    page.goto("/product/PS-FEED-0001")
    page.wait_for_function(VIEWER_SHOWS, arg="preview", timeout=60_000)
    viewer_src = "document.querySelector('model-viewer').src"
    assert page.evaluate(viewer_src).endswith(model["preview_url"])
    note = page.get_by_text("Loading full detail")
    expect(note).to_be_visible()
    box, viewer = note.bounding_box(), page.locator("model-viewer").bounding_box()
    assert box and viewer
    assert viewer["y"] < box["y"] < viewer["y"] + viewer["height"], "the note sits on the viewer"
    assert held, "the full model is asked for while the preview shows"
    released = True
    for route in held:
        route.continue_()
    page.wait_for_function(VIEWER_SHOWS, arg="full", timeout=60_000)
    assert page.evaluate(viewer_src).endswith(model["glb_url"])
    expect(page.get_by_text("Loading full detail")).to_have_count(0)


def test_stock_words_and_a_sold_out_product(page: Page, gateway: httpx.Client) -> None:
    few = stocked_product(gateway, 2, name="Last two leashes")
    none = stocked_product(gateway, 0, name="Sold out bowl")
    page.goto(f"/product/{few['sku']}")
    expect(page.get_by_text("Only 2 left")).to_be_visible()
    page.goto(f"/product/{none['sku']}")
    expect(page.get_by_text("Out of stock")).to_be_visible()
    expect(page.get_by_role("button", name="Add to cart")).to_be_disabled()


def test_cart_survives_a_reload_and_checkout_succeeds(page: Page, gateway: httpx.Client) -> None:
    product = stocked_product(gateway, 5, name="Checkout chew toy", price_cents=1450)
    add_to_cart(page, product["sku"])
    page.reload()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_role("link", name=re.compile("^Cart")).click()
    expect(page.get_by_role("link", name="Checkout chew toy")).to_be_visible()
    fill_checkout(page, "tok_visa")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    order_id = page.locator(".order-id").inner_text()
    assert order_id.startswith("ord_")
    expect(page.locator(".totals .grand dd")).to_have_text("$14.50")
    order = gateway.get(f"/api/orders/orders/{order_id}").json()
    assert order["status"] == "paid"
    assert order["total_cents"] == 1450
    expect(page.locator("#cart-count")).to_have_text("")


def test_a_declined_card_is_explained_and_nothing_is_bought(
    page: Page, gateway: httpx.Client
) -> None:
    product = stocked_product(gateway, 3, name="Declined treat jar")
    add_to_cart(page, product["sku"])
    fill_checkout(page, "tok_chargeDeclined")
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    stock = gateway.get("/api/orders/inventory", params={"skus": product["sku"]}).json()
    assert stock["items"][0]["available"] == 3
    page.get_by_label("Test card").select_option("tok_visa")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")


def test_selling_out_before_checkout_is_explained(page: Page, gateway: httpx.Client) -> None:
    product = stocked_product(gateway, 1, name="Last squeaky duck")
    add_to_cart(page, product["sku"])
    # Someone else buys it while this shopper fills in the form.
    fill_checkout(page, "tok_visa", lambda: set_stock(gateway, product["sku"], 0))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not enough left of Last squeaky duck.")
    alert.get_by_role("link", name="Review your cart").click()
    expect(page.get_by_role("row", name=re.compile("Last squeaky duck"))).to_contain_text(
        "Sold out"
    )


def test_the_cart_says_what_can_be_bought_before_checkout(
    page: Page, gateway: httpx.Client
) -> None:
    few = stocked_product(gateway, 5, name="Last few balls")
    gone = stocked_product(gateway, 5, name="Retired rope")
    for _ in range(3):
        add_to_cart(page, few["sku"])
    add_to_cart(page, gone["sku"])
    # Meanwhile others buy, and the owner stops selling the rope.
    set_stock(gateway, few["sku"], 2)
    assert gateway.delete(f"/api/catalog/products/{gone['sku']}", headers=ADMIN).status_code == 200

    page.get_by_role("link", name=re.compile("^Cart")).click()
    balls = page.get_by_role("row", name=re.compile("Last few balls"))
    rope = page.get_by_role("row", name=re.compile("Retired rope"))
    expect(balls).to_contain_text("Only 2 left")
    expect(rope).to_contain_text("No longer sold")
    checkout = page.get_by_role("button", name="Checkout", exact=True)
    expect(checkout).to_be_disabled()
    expect(checkout).to_have_accessible_description(re.compile("Change or remove"))
    # More than is left cannot be typed in.
    expect(page.get_by_label("Quantity of Last few balls")).to_have_attribute("max", "2")
    balls.get_by_role("button", name="Change to 2").click()
    expect(page.get_by_label("Quantity of Last few balls")).to_have_value("2")
    expect(checkout).to_be_disabled()  # the rope still
    page.get_by_role("button", name="Remove Retired rope").click()
    expect(rope).to_have_count(0)
    expect(checkout).to_be_enabled()


def test_keyboard_alone_adds_to_cart(page: Page, gateway: httpx.Client) -> None:
    product = stocked_product(gateway, 4, name="Keyboard kibble")
    page.goto(f"/product/{product['sku']}")
    page.get_by_role("button", name="Add to cart").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")


def test_an_unavailable_service_is_explained(page: Page, stack: Stack) -> None:
    # A second gateway whose orders service is down: the shopper is told, in words.
    dead = f"http://127.0.0.1:{free_port()}"
    upstreams = ";".join(
        f"{s.name}={dead if s is ORDERS else stack.urls[s.name][0]}" for s in SERVICES
    )
    port = free_port()
    child = stack.processes.start(
        "gateway-no-orders",
        "gateway",
        port,
        {**stack.env(), Env.GATEWAY_UPSTREAMS: upstreams},
        CATALOG.health_path,
    )
    try:
        stack.processes.wait_healthy()
        page.goto(f"http://127.0.0.1:{port}/product/PS-TOY-0002")
        expect(page.get_by_role("heading", level=1)).to_have_text("Squeaky rubber bone")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("status")).to_contain_text("Added to your cart")
        # Checkout prices the order with the orders service: without it, it says so at once.
        page.get_by_role("link", name=re.compile("^Cart")).click()
        page.get_by_role("button", name="Checkout", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("having trouble")
    finally:
        stack.processes.stop(child)


def test_screenshots_on_desktop_and_phone(page: Page, results: Path) -> None:
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        if viewport:
            page.set_viewport_size(viewport)
        page.goto("/")
        expect(page.get_by_role("link", name="Fennec the Fox plush")).to_be_visible()
        page.screenshot(path=str(results / f"home-{name}.png"), full_page=True)
        page.goto("/product/PS-TOY-0001")
        page.wait_for_function(MODEL_LOADED, timeout=60_000)
        page.screenshot(path=str(results / f"product-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], "the page scrolls sideways"
    shots = {f"{page}-{size}.png" for page in ("home", "product") for size in ("desktop", "phone")}
    assert shots <= {path.name for path in results.glob("*.png")}
