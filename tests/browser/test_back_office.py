"""The back office in Chromium, as a member of staff runs the shop: sign in with a staff
account, create a product with its stock, a photo and a 3D model, see it in the shop, where a
shopper buys it twice; find the orders, ship one (with the keyboard alone) and refund the
other."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.browser.test_storefront import add_to_cart, fill_checkout
from tests.helpers import (
    ADMIN,
    PASSWORD,
    checkout_body,
    create_product,
    idempotency_key,
    new_cart,
    set_stock,
)

SHOPPER_EMAIL = "shopper@example.com"
PHOTO_ALT = "A white bone on a blue rug"
FOX = Path(__file__).resolve().parents[2] / "demo" / "models" / "Fox.glb"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (40, 90, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _staff(gateway: httpx.Client) -> tuple[str, str]:
    """A staff account, made as automation makes one (with the admin token); its email and id."""
    email = f"staff-{time.time_ns()}@example.com"
    made = gateway.post(
        "/api/accounts/customers",
        json={"email": email, "password": PASSWORD, "name": "Pat Staff", "role": "staff"},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    return email, made.json()["customer_id"]


def _sign_in(page: Page, email: str, then: str) -> None:
    page.goto(f"/sign-in?next={then}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _buy(browser: Browser, stack: Stack, sku: str) -> str:
    """A shopper in a browser of their own sees the product, its 3D model first and then its
    photo, and buys one; the order id."""
    context = browser.new_context(base_url=stack.gateway_url)
    try:
        shopper = context.new_page()
        shopper.goto(f"/product/{sku}")
        views = shopper.get_by_role("list", name="Views of Back office bone")
        expect(views.get_by_role("button", name="3D model")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(views.get_by_role("button", name=f"Photo 1: {PHOTO_ALT}")).to_be_visible()
        add_to_cart(shopper, sku)
        fill_checkout(shopper, "tok_visa")
        expect(shopper.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
        return shopper.locator(".order-id").inner_text()
    finally:
        context.close()


def _open_order(page: Page, order_id: str) -> None:
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Orders").click()
    page.get_by_label("Order id, email or name").fill(order_id)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=order_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order_id}")


def test_staff_run_the_shop_from_the_back_office(
    page: Page, browser: Browser, stack: Stack, gateway: httpx.Client
) -> None:
    email, staff_id = _staff(gateway)
    page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Back office")
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")

    sku = f"BO-{time.time_ns() % 10**12}"
    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill(sku)
    page.get_by_label("Name").fill("Back office bone")
    page.get_by_label("Description").fill("A bone made in the back office.")
    page.get_by_label("Category").fill("chews")
    page.get_by_label("Price").fill("12.50")
    page.get_by_label("Units in stock").fill("4")
    page.get_by_role("button", name="Create the product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Back office bone")
    expect(page.get_by_text("Units in stock: 4")).to_be_visible()
    # The photo and the 3D model go from the page straight to the bucket, as the storefront's
    # policy allows, and the pipeline's report is shown.
    page.get_by_label("Photo", exact=True).set_input_files(
        {"name": "bone.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
    )
    page.get_by_label("Describe it for those who cannot see it").fill(PHOTO_ALT)
    page.get_by_role("button", name="Upload the photo").click()
    expect(page.get_by_text("Photo added.")).to_be_visible()
    expect(page.get_by_role("img", name=PHOTO_ALT)).to_be_visible()
    page.get_by_label("Model file").set_input_files(FOX)
    page.get_by_role("button", name="Upload the 3D model").click()
    report = page.get_by_role("table", name="How Fox.glb was prepared")
    expect(report).to_be_visible(timeout=120_000)
    expect(report.get_by_role("rowheader", name="meshopt")).to_be_visible()
    # The settings the quality search chose, and how close they look.
    search_row = report.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="quality search")
    )
    expect(search_row).to_contain_text(re.compile(r"colour \d+ px.*SSIM 0\.9\d\d"))
    expect(page.get_by_role("img", name="The 3D model of Back office bone")).to_be_visible()
    # A typo in the price is named, and nothing changes.
    page.get_by_label("Price").fill("-3")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_label("Price")).to_have_attribute("aria-invalid", "true")
    assert gateway.get(f"/api/catalog/products/{sku}").json()["price_cents"] == 1250

    shipped_id = _buy(browser, stack, sku)
    refunded_id = _buy(browser, stack, sku)

    _open_order(page, shipped_id)
    # Shipping with the keyboard alone.
    page.get_by_label("Carrier").focus()
    page.keyboard.type("UPS")
    page.keyboard.press("Tab")
    page.keyboard.type("1Z999AA10123456784")
    page.keyboard.press("Enter")
    expect(page.locator(".order-detail .state")).to_have_text("fulfilled")
    expect(page.get_by_text(re.compile("UPS 1Z999AA10123456784"))).to_be_visible()

    _open_order(page, refunded_id)
    page.get_by_role("button", name="Refund").click()
    expect(page.locator(".order-detail .state")).to_have_text("refunded")

    page.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Products and stock"
    ).click()
    page.get_by_role("link", name=sku).click()
    expect(page.get_by_text("Units in stock: 2")).to_be_visible()
    # Discontinued, it leaves the shop's list but not the back office's.
    page.get_by_role("button", name="Discontinue").click()
    expect(page.get_by_text("Discontinued.", exact=True)).to_be_visible()
    page.get_by_role("link", name="All products").click()
    which = page.get_by_role("navigation", name="Which products")
    which.get_by_role("link", name="Discontinued").click()
    expect(page.get_by_role("row", name=re.compile(sku))).to_contain_text("discontinued")
    on_sale = which.get_by_role("link", name="On sale", exact=True)
    on_sale.click()
    expect(on_sale).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=sku)).to_have_count(0)
    # Listed again; then its photo and its 3D model taken away.
    which.get_by_role("link", name="Discontinued").click()
    page.get_by_role("link", name=sku).click()
    page.get_by_role("button", name="List it again").click()
    expect(page.get_by_text("Listed again.")).to_be_visible()
    expect(page.get_by_text("Listed in the shop.")).to_be_visible()
    page.get_by_role("button", name="Remove photo 1").click()
    expect(page.get_by_text("Photo removed.")).to_be_visible()
    expect(page.get_by_text("No photos yet.")).to_be_visible()
    page.get_by_role("button", name="Remove the 3D model").click()
    expect(page.get_by_text("3D model removed.")).to_be_visible()
    expect(page.get_by_text("No 3D model yet.")).to_be_visible()

    # What the services kept: the orders' states, and who changed them.
    shipped = gateway.get(f"/api/orders/orders/{shipped_id}", headers=ADMIN).json()
    refunded = gateway.get(f"/api/orders/orders/{refunded_id}", headers=ADMIN).json()
    assert shipped["status"] == "fulfilled" and shipped["email"] == SHOPPER_EMAIL
    assert shipped["history"][-1]["actor"] == f"staff:{staff_id}"
    assert refunded["status"] == "refunded" and refunded["refunded_cents"] == 1250
    assert refunded["refunds"][0]["actor"] == f"staff:{staff_id}"
    product = gateway.get(f"/api/catalog/products/{sku}").json()
    assert product["status"] == "active"
    assert product["images"] == [] and product["model"] is None


def test_a_customer_who_is_not_staff_is_told_so(page: Page, gateway: httpx.Client) -> None:
    email = f"not-staff-{time.time_ns()}@example.com"
    made = gateway.post(
        "/api/accounts/customers", json={"email": email, "password": PASSWORD, "name": "Kim"}
    )
    assert made.status_code == 201, made.text
    page.goto("/sign-in?next=/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not one of the shop")


def test_the_api_pages_come_from_the_shop_itself(page: Page) -> None:
    """Swagger UI from the storefront's own files, under its own policy: no CDN, no errors."""
    page.goto("/")
    page.get_by_role("link", name="API").click()
    # The page's own heading; Swagger UI adds one of its own, with the document's title.
    heading = page.get_by_role("heading", level=1, name=re.compile(r"^API: "))
    expect(heading).to_have_text("API: catalog")
    page.get_by_role("navigation", name="Services").get_by_role("link", name="orders").click()
    expect(heading).to_have_text("API: orders")
    expect(
        page.locator(".opblock-summary-path", has_text="/api/orders/orders/{order_id}/refunds")
    ).to_be_visible()
    page.locator(".opblock-summary-path", has_text="/api/orders/orders.csv").click()
    expect(page.locator("option[value='text/csv']").first).to_be_attached()


def test_the_owner_makes_a_customer_staff(page: Page, gateway: httpx.Client) -> None:
    owner_email = f"owner-{time.time_ns()}@example.com"
    customer_email = f"helper-{time.time_ns()}@example.com"
    for email, role in ((owner_email, "owner"), (customer_email, "customer")):
        made = gateway.post(
            "/api/accounts/customers",
            json={"email": email, "password": PASSWORD, "name": "Jo", "role": role},
            headers=ADMIN,
        )
        assert made.status_code == 201, made.text
    page.goto("/sign-in?next=/admin/staff")
    page.get_by_label("Email").fill(owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    page.get_by_label("Email or name").fill(customer_email)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("button", name=f"Make staff: {customer_email}").first.click()
    # The staff list above now names them; the customer's next session is a staff one.
    expect(page.locator("table").first.get_by_text(customer_email)).to_be_visible()
    listed = gateway.get("/api/accounts/customers", params={"q": customer_email}, headers=ADMIN)
    assert listed.json()["items"][0]["role"] == "staff"


def test_staff_set_the_shops_tax_and_codes_and_checkout_charges_them(
    page: Page, gateway: httpx.Client
) -> None:
    email, _ = _staff(gateway)
    page.goto("/sign-in?next=/admin/pricing")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shipping, tax and codes")
    methods = page.get_by_role("table", name=re.compile("^Shipping methods"))
    expect(methods.get_by_role("row", name=re.compile("^standard"))).to_contain_text("Everywhere")

    rate = page.locator("form").filter(has=page.get_by_role("button", name="Save rate"))
    rate.get_by_label("Where").fill("us-id")
    rate.get_by_label("Name").fill("Idaho sales tax")
    rate.get_by_label("Rate (%)").fill("6")
    rate.get_by_role("button", name="Save rate").click()
    expect(rate.get_by_role("status")).to_have_text("Saved US-ID.")
    rates = page.get_by_role("table", name=re.compile("^Tax rates"))
    expect(rates.get_by_role("row", name=re.compile("^US-ID"))).to_contain_text("6%")

    code = f"STAFF{time.time_ns() % 10**6}"
    codes = page.locator("form").filter(has=page.get_by_role("button", name="Save code"))
    codes.get_by_label("Code").fill(code.lower())
    codes.get_by_label("Kind").select_option("amount")
    codes.get_by_label("Percentage or amount").fill("2.50")
    codes.get_by_label("Most uses").fill("5")
    codes.get_by_role("button", name="Save code").click()
    listed = page.get_by_role("table", name="Discount codes").get_by_role(
        "row", name=re.compile(code)
    )
    expect(listed).to_contain_text("$2.50 off")
    expect(listed).to_contain_text("0 of 5")
    # A bad rate is refused in the server's words, and nothing changes.
    rate.get_by_label("Rate (%)").fill("150")
    rate.get_by_role("button", name="Save rate").click()
    expect(rate.get_by_role("alert")).to_contain_text("rate_bp")

    cart_id = new_cart(gateway, {"PS-TOY-0002": 2})
    quote = gateway.post(
        "/api/orders/quotes",
        json={"cart_id": cart_id, "country": "US", "region": "ID", "discount_code": code},
    ).json()
    assert quote["tax"] == {"name": "Idaho sales tax", "rate_bp": 600}
    assert quote["discount_cents"] == 250
    goods = quote["subtotal_cents"] - 250
    assert quote["tax_cents"] == (goods * 600 + 5000) // 10000

    rates.get_by_role("button", name="Remove US-ID").click()
    expect(rates.get_by_role("row", name=re.compile("^US-ID"))).to_have_count(0)
    page.get_by_role("table", name="Discount codes").get_by_role(
        "button", name=f"Remove {code}"
    ).click()
    expect(listed).to_have_count(0)


def test_staff_sell_a_product_in_colours(page: Page, gateway: httpx.Client) -> None:
    """Options and variants in the back office: the grid of every colour, its suggested
    SKUs, a problem the catalog finds named at its field, then each colour sold under its own
    SKU, at its own price, with its own stock."""
    email, _ = _staff(gateway)
    sku = create_product(gateway, name="Variant collar", price_cents=1500)["sku"]
    _sign_in(page, email, f"/admin/products/{sku}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Variant collar")
    option = page.get_by_role("group", name="Option 1")
    option.get_by_label("Name").fill("Colour")
    option.get_by_label("Values, separated by commas").fill("Red, Sky blue")
    option.get_by_label("Values, separated by commas").press("Tab")
    grid = page.get_by_role("table", name="Variants")
    expect(grid.get_by_role("rowheader")).to_have_text(["Red", "Sky blue"])
    expect(grid.get_by_role("textbox", name="SKU Red")).to_have_value(f"{sku}-R")
    expect(grid.get_by_role("textbox", name="SKU Sky blue")).to_have_value(f"{sku}-SB")
    grid.get_by_role("textbox", name="Its own price (USD; empty: the product's) Sky blue").fill(
        "17.00"
    )
    grid.get_by_role("textbox", name="Material variant of the 3D model Sky blue").fill("sky")
    grid.get_by_role("spinbutton", name="In stock Red").fill("3")
    grid.get_by_role("spinbutton", name="In stock Sky blue").fill("8")
    # Another product's SKU: the catalog refuses the whole set, named at that variant.
    grid.get_by_role("textbox", name="SKU Red").fill("PS-TOY-0001")
    save = page.get_by_role("button", name="Save options and variants")
    save.click()
    expect(grid.get_by_role("textbox", name="SKU Red")).to_have_attribute("aria-invalid", "true")
    expect(grid.get_by_text("Another product sells this SKU.")).to_be_visible()
    # The product's own SKU: a 400 whose problem is shown beside the field it names.
    grid.get_by_role("textbox", name="SKU Red").fill(sku)
    save.click()
    expect(grid.get_by_text("This is the product's own SKU.")).to_be_visible()
    assert gateway.get(f"/api/catalog/products/{sku}").json()["variants"] == []
    grid.get_by_role("textbox", name="SKU Red").fill(f"{sku}-R")
    save.click()
    expect(page.get_by_text("Saved 2 variants.")).to_be_visible()
    expect(page.get_by_text("Sold in variants")).to_be_visible()

    # The shop answers each colour by its own SKU, at its own price; its stock was set.
    red = gateway.get(f"/api/catalog/products/{sku}-R").json()
    blue = gateway.get(f"/api/catalog/products/{sku}-SB").json()
    assert red["variant_of"] == sku and red["name"] == "Variant collar — Red"
    assert (red["price_cents"], blue["price_cents"]) == (1500, 1700)
    assert [v["material_variant"] for v in blue["variants"]] == [None, "sky"]
    stock = gateway.get("/api/orders/inventory", params={"skus": f"{sku}-R,{sku}-SB"}).json()
    assert {s["sku"]: s["available"] for s in stock["items"]} == {f"{sku}-R": 3, f"{sku}-SB": 8}
    # The page shows what was saved: the blue's own price, the red following the product's.
    expect(
        grid.get_by_role("textbox", name="Its own price (USD; empty: the product's) Sky blue")
    ).to_have_value("17.00")
    expect(
        grid.get_by_role("textbox", name="Its own price (USD; empty: the product's) Red")
    ).to_have_value("")
    expect(grid.get_by_role("spinbutton", name="In stock Sky blue")).to_have_value("8")


def test_a_models_material_variants_are_offered_by_name(page: Page, gateway: httpx.Client) -> None:
    """The demo shoe's model has three colourways: each variant chooses among them."""
    email, _ = _staff(gateway)
    _sign_in(page, email, "/admin/products/PS-WALK-0001")
    grid = page.get_by_role("table", name="Variants")
    material = grid.get_by_role("combobox", name="Material variant of the 3D model Beach / EU 42")
    expect(material).to_have_value("beach")
    expect(material.get_by_role("option")).to_have_text(
        ["As the model is", "midnight", "beach", "street"]
    )
    expect(
        grid.get_by_role("textbox", name="Its own price (USD; empty: the product's) Beach / EU 42")
    ).to_have_value("94.00")


def test_staff_find_low_stock_cancel_an_order_and_export_what_they_found(
    page: Page, gateway: httpx.Client
) -> None:
    email, _ = _staff(gateway)
    # SKUs that sort first, so the first page of low stock holds them whatever else is low.
    low = create_product(gateway, sku=f"00LOW-{time.time_ns() % 10**9}", name="Nearly gone")
    plenty = create_product(gateway, sku=f"00MANY-{time.time_ns() % 10**9}", name="Plenty")
    set_stock(gateway, low["sku"], 0)
    set_stock(gateway, plenty["sku"], 6)
    _sign_in(page, email, "/admin/products")
    page.get_by_role("link", name="On sale, 5 or fewer in stock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Low stock")
    row = page.get_by_role("row", name=re.compile(low["sku"]))
    expect(row).to_contain_text("Nearly gone")
    expect(row.get_by_role("cell").nth(3)).to_have_text("0")
    expect(page.get_by_role("link", name=plenty["sku"])).to_have_count(0)

    # An order of the plenty, cancelled from its page: its stock comes back.
    tag = f"{time.time_ns()}"
    body = checkout_body(new_cart(gateway, {plenty["sku"]: 2}))
    body["shipping_address"]["name"] = f"Cancel Me {tag}"
    order = gateway.post("/api/orders/orders", json=body, headers=idempotency_key()).json()
    _open_order(page, order["order_id"])
    page.get_by_label("Reason (optional)").fill("asked by phone")
    page.get_by_label("Yes, cancel and refund this order").check()
    page.get_by_role("button", name="Cancel the order").click()
    expect(page.locator(".order-detail .state")).to_have_text("cancelled")
    stock = gateway.get("/api/orders/inventory", params={"skus": plenty["sku"]}).json()
    assert stock["items"][0]["available"] == 6

    # The export is of the orders found: the link carries the filters.
    page.get_by_role("link", name="All orders").click()
    page.get_by_label("Order id, email or name").fill(tag)
    page.get_by_label("Status").select_option("cancelled")
    page.get_by_role("button", name="Find").click()
    export = page.get_by_role("link", name="Export these orders (CSV)")
    expect(export).to_have_attribute("href", re.compile("status=cancelled"))
    href = export.get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query) == {"q": [tag], "status": ["cancelled"]}
    exported = page.request.get(href)
    assert exported.ok, exported.text()
    assert [row["order_id"] for row in csv.DictReader(io.StringIO(exported.text()))] == [
        order["order_id"]
    ]


def test_a_new_product_whose_stock_was_not_set_is_not_stuck(
    page: Page, gateway: httpx.Client
) -> None:
    """The catalog took the product, the inventory did not answer: its page says so, and its
    form sets the stock (creating it again would be a duplicate SKU)."""
    email, _ = _staff(gateway)
    _sign_in(page, email, "/admin/products/new")
    sku = f"BO-STUCK-{time.time_ns() % 10**9}"
    page.get_by_label("SKU").fill(sku)
    page.get_by_label("Name").fill("Half-made bowl")
    page.get_by_label("Category").fill("bowls")
    page.get_by_label("Price").fill("9.00")
    page.get_by_label("Units in stock").fill("5")
    page.route(
        "**/api/orders/inventory/*",
        lambda route: route.abort() if route.request.method == "PUT" else route.continue_(),
    )
    page.get_by_role("button", name="Create the product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Half-made bowl")
    expect(page.get_by_role("alert")).to_contain_text("Created, but its stock was not set")
    expect(page.get_by_label("Units in stock")).to_have_value("0")
    page.unroute("**/api/orders/inventory/*")
    page.get_by_label("Units in stock").fill("7")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Units in stock: 7")).to_be_visible()
    stock = gateway.get("/api/orders/inventory", params={"skus": sku}).json()
    assert stock["items"][0]["available"] == 7
    moves = gateway.get(f"/api/orders/inventory/{sku}/movements", headers=ADMIN).json()
    assert moves["items"][0]["reason"] == "set with the product"
