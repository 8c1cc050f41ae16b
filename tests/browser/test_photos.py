"""Product photos in the storefront: the product page's gallery (the 3D model first, then the
photos, chosen with the thumbnails by mouse or keyboard), responsive pictures in AVIF and WebP
on cards and pages, a model's poster on the card of a product without photos, and a drawn
placeholder for a product with neither."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.e2e.test_model_uploads import unique_glb, upload
from tests.helpers import create_product

LOADED = "img => img.complete && img.naturalWidth > 0"
WIDTHS = re.compile(r"^/media/\S+\.avif 320w, /media/\S+\.avif 640w, /media/\S+\.avif 1280w")


def test_the_gallery_shows_the_model_first_then_the_photos(
    page: Page, gateway: httpx.Client, results: Path
) -> None:
    fox = gateway.get("/api/catalog/products/PS-TOY-0001").json()
    [photo] = fox["images"]
    page.goto("/product/PS-TOY-0001")
    views = page.get_by_role("list", name="Views of Fennec the Fox plush")
    buttons = views.get_by_role("button")
    expect(buttons).to_have_count(2)
    model_view = buttons.nth(0)
    photo_view = buttons.nth(1)
    expect(model_view).to_have_attribute("aria-label", "3D model")
    expect(model_view).to_have_attribute("aria-pressed", "true")
    expect(photo_view).to_have_attribute("aria-label", f"Photo 1: {photo['alt']}")
    expect(page.locator("model-viewer")).to_be_visible(timeout=60_000)
    shown = page.locator(".stage img.photo")
    expect(shown).to_be_hidden()
    # The keyboard alone: to the first thumbnail, then along the row with the arrow keys.
    model_view.focus()
    page.keyboard.press("ArrowRight")
    expect(photo_view).to_be_focused()
    expect(photo_view).to_have_attribute("aria-pressed", "true")
    expect(shown).to_be_visible()
    expect(shown).to_have_attribute("alt", photo["alt"])
    expect(page.locator("model-viewer")).to_be_hidden()
    page.wait_for_function(LOADED, arg=shown.element_handle())
    # The browser took the AVIF variant its layout needs, not the main image.
    assert page.evaluate("img => img.currentSrc", shown.element_handle()).endswith(".avif")
    source = page.locator(".stage picture source[type='image/avif']")
    expect(source).to_have_attribute("srcset", WIDTHS)
    expect(source).to_have_attribute("sizes", re.compile(r"\d"))
    expect(page.locator(".stage picture source[type='image/webp']")).to_have_attribute(
        "srcset", re.compile(r"\.webp 320w")
    )
    page.screenshot(path=str(results / "gallery-photo-desktop.png"))
    page.keyboard.press("Home")
    expect(model_view).to_be_focused()
    expect(page.locator("model-viewer")).to_be_visible()
    page.set_viewport_size(PHONE)
    photo_view.click()
    expect(shown).to_be_visible()
    page.screenshot(path=str(results / "gallery-photo-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the gallery scrolls the page sideways"


def test_cards_show_a_responsive_photo_or_the_models_poster(
    page: Page, gateway: httpx.Client
) -> None:
    slug = f"pictures-{id(page)}"
    model_only = create_product(gateway, category=slug, name="Model only bowl")
    assert upload(gateway, model_only["sku"], unique_glb()).status_code == 200
    page.goto("/")
    bone = page.get_by_role("listitem").filter(has_text="Squeaky rubber bone")
    source = bone.locator("source[type='image/avif']")
    expect(source).to_have_attribute("srcset", WIDTHS)
    expect(source).to_have_attribute("sizes", re.compile(r"20rem"))
    img = bone.locator("img")
    expect(img).to_have_attribute("loading", "lazy")
    img.scroll_into_view_if_needed()
    page.wait_for_function(LOADED, arg=img.element_handle())
    page.goto(f"/?category={slug}")
    poster = page.get_by_role("listitem").filter(has_text="Model only bowl").locator("img")
    expect(poster).to_have_attribute("src", re.compile(r"^/models/.+\.webp$"))


def test_a_product_with_neither_shows_a_placeholder(
    page: Page, gateway: httpx.Client, results: Path
) -> None:
    slug = f"bare-{id(page)}"
    bare = create_product(gateway, category=slug, name="Plain collar")
    page.goto(f"/?category={slug}")
    card = page.get_by_role("listitem").filter(has_text="Plain collar")
    expect(card.locator(".placeholder .paw")).to_be_visible()
    expect(card.locator("img")).to_have_count(0)
    page.screenshot(path=str(results / "placeholder-card.png"))
    page.goto(f"/product/{bare['sku']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plain collar")
    figure = page.get_by_role("figure")
    expect(figure).to_contain_text("No pictures of Plain collar yet")
    expect(figure.locator(".paw")).to_be_visible()
    box = figure.bounding_box()
    assert box and box["height"] > 200, "it takes the stage's place"
    expect(page.locator("model-viewer")).to_have_count(0)
    expect(page.get_by_role("list", name=re.compile("^Views of"))).to_have_count(0)
    page.screenshot(path=str(results / "placeholder-product.png"))
