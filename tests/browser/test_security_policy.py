"""The storefront works under its own Content-Security-Policy: every page a shopper sees,
the 3D viewer with each kind of decoder it may need, and a browser that decodes textures
differently, without a single violation."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.browser.conftest import DESKTOP
from tests.browser.test_storefront import MODEL_LOADED, add_to_cart, fill_checkout, stocked_product
from tests.helpers import storefront_policy

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "modelworker"
FOX = ROOT / "demo" / "models" / "Fox.glb"
# Recorded in each document before its own scripts run; the events a policy raises in the
# document reach it, and the console names any (including those in workers) as well.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI} (${e.sourceFile})`));
"""
# Safari before 17 makes <img> elements of a model's textures, where others fetch them.
SAFARI_16 = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
# The catalog publishes meshopt models only; a Draco one (which the viewer would decode in a
# worker) is made here with the pipeline's own packages.
DRACO = """
import { readFileSync, writeFileSync } from 'node:fs';
import { NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { draco } from '@gltf-transform/functions';
import draco3d from 'draco3dgltf';
const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
  'draco3d.decoder': await draco3d.createDecoderModule(),
  'draco3d.encoder': await draco3d.createEncoderModule(),
});
const document = await io.readBinary(readFileSync(process.argv[1]));
await document.transform(draco());
writeFileSync(process.argv[2], await io.writeBinary(document));
"""


class Watch:
    """A page's policy violations and console messages about the policy."""

    def __init__(self, page: Page, policy: str) -> None:
        self.page = page
        self.policy = policy
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on(
            "console",
            lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def goto(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None
        assert response.headers["content-security-policy"] == self.policy

    def assert_clean(self, where: str) -> None:
        assert self.page.evaluate("window.__violations") == [], where
        assert self.console == [], where


@pytest.fixture
def watched(page: Page, stack: Stack) -> Watch:
    return Watch(page, storefront_policy(stack))


def test_every_page_of_a_purchase_passes_the_policy(watched: Watch, gateway: httpx.Client) -> None:
    page = watched.page
    watched.goto("/")
    fox = page.get_by_role("listitem").filter(has_text="Fennec the Fox plush").locator("img")
    fox.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=fox.element_handle())
    watched.assert_clean("home")

    watched.goto("/product/PS-TOY-0001")
    page.wait_for_function(MODEL_LOADED, timeout=60_000)
    watched.assert_clean("a product's 3D model")

    product = stocked_product(gateway, 3, name="Policy-abiding bowl")
    add_to_cart(page, product["sku"])
    page.get_by_role("link", name=re.compile("^Cart")).click()
    expect(page.get_by_role("link", name="Policy-abiding bowl")).to_be_visible()
    watched.assert_clean("cart")
    fill_checkout(page, "tok_visa")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    watched.assert_clean("checkout")


def test_a_draco_model_decodes_in_its_worker(watched: Watch, tmp_path: Path) -> None:
    model = tmp_path / "fox-draco.glb"
    subprocess.run(
        ["node", "--input-type=module", "-e", DRACO, str(FOX), str(model)],
        cwd=PIPELINE,  # where its packages are
        check=True,
        timeout=120,
    )
    page = watched.page
    page.route(
        "**/models/draco-fox.glb",
        lambda route: route.fulfill(body=model.read_bytes(), content_type="model/gltf-binary"),
    )
    watched.goto("/product/PS-TOY-0001")
    page.wait_for_function(MODEL_LOADED, timeout=60_000)
    page.evaluate("document.querySelector('model-viewer').src = '/models/draco-fox.glb'")
    page.wait_for_function(
        "() => { const v = document.querySelector('model-viewer');"
        " return v.loaded && v.src.endsWith('/models/draco-fox.glb'); }",
        timeout=60_000,
    )
    watched.assert_clean("a Draco model")


@pytest.fixture
def safari_page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=stack.gateway_url, viewport=DESKTOP, user_agent=SAFARI_16
    )
    context.set_default_timeout(30_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not errors, errors


def test_textures_decoded_through_images_pass_the_policy(safari_page: Page, stack: Stack) -> None:
    watched = Watch(safari_page, storefront_policy(stack))
    watched.goto("/product/PS-TOY-0001")
    safari_page.wait_for_function(MODEL_LOADED, timeout=60_000)
    watched.assert_clean("a product's 3D model, as Safari 16 loads it")
