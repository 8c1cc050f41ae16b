"""Debian's Chromium, driven by Playwright (launched by path: no browser is downloaded),
against the storefront served by the session's gateway."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.stack import Stack
from modelworker.render import CHROMIUM_ARGS
from tests.models import make_models

CHROMIUM = Path("/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread, which
    other tests' asyncio.run() must not meet; the stack starts first for the same reason."""
    assert CHROMIUM.exists(), "make test installs Chromium with apt-get"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(base_url=stack.gateway_url, viewport=DESKTOP)
    context.set_default_timeout(30_000)
    opened = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # An API answering 4xx is part of the story (a declined card); anything else is a bug.
    opened.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    # Everything a page loads comes from the storefront itself: no CDN, no outside host.
    context.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https")
            and urlsplit(r.url).hostname != "127.0.0.1"
            else None
        ),
    )
    yield opened
    context.close()
    assert not errors, errors
    assert not outside, outside


@pytest.fixture(scope="session")
def results() -> Path:
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    return RESULTS


@pytest.fixture(scope="session")
def model_kinds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test set of model kinds (tests/models), made once a session: each kind's GLB."""
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    return make_models(tmp_path_factory.mktemp("model-kinds"), node)
