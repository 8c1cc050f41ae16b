"""Product pages on a slow mobile link, in Debian's Chromium.

    .venv/bin/python bench/page_load.py [--runs 3]

Starts the storefront as `make run` does (SQLite, embedded emulator) in a temporary folder,
adds a tiny one-triangle model as the fixed cost of starting WebGL, and loads every product
page that has a model with Chromium's network emulation at 1.6 Mbps down, 750 kbps up and
150 ms round trip, each load in a fresh browser context (an empty cache, as on a first visit).
It prints, per product: first contentful paint, when the poster is visible, when a 3D model
is first on show (the preview, for a large model), when the full model's load event fires,
that time less the tiny model's (the model's own cost; headless Chromium renders in software,
which a phone's GPU would not), and the bytes transferred; beside it, the same page with the
original file as uploaded, and the speed-up. Targets on that link: poster under 1.5 s, model
less fixed cost under 3 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.processes import run_command  # noqa: E402
from devstack.samples import tiny_glb  # noqa: E402
from devstack.stack import embedded_stack  # noqa: E402
from modelworker.render import CHROMIUM_ARGS  # noqa: E402
from petshore.contract import CATALOG, ORDERS  # noqa: E402
from petshore.demo import DEMO_FILE, DemoUpload, demo_products  # noqa: E402

DOWN_BPS, UP_BPS, RTT_MS = 1_600_000, 750_000, 150
TINY_SKU = "PS-BENCH-TINY"
ORIGINAL_PREFIX = "ORIG-"
POSTER_VISIBLE = """() => {
  const img = document.querySelector('.stage img.poster');
  if (img && img.complete && img.naturalWidth > 0) return true;
  const v = document.querySelector('model-viewer');
  const poster = v && v.shadowRoot && v.shadowRoot.querySelector('.slot.poster');
  return !!poster && getComputedStyle(poster).opacity !== '0' && !!v.poster;
}"""


def add_bench_products(folder: Path, env: dict[str, str]) -> list[DemoUpload]:
    """The tiny model, and each demo model's original file as it was uploaded; the files
    sent to the model worker, to wait for."""
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "tiny.glb").write_bytes(tiny_glb())
    products = [
        {
            "sku": TINY_SKU,
            "name": "Benchmark triangle",
            "category": "bench",
            "price_cents": 1,
            "description": "One triangle: the fixed cost of a 3D page.",
            "stock": 1,
            "model": "tiny.glb",
        }
    ]
    for entry in demo_products():
        if entry.get("model"):
            shutil.copy(DEMO_FILE.parent / "models" / entry["model"], folder / "models")
            products.append(
                {
                    **entry,
                    "sku": ORIGINAL_PREFIX + entry["sku"],
                    "category": "bench",
                    "optimise": False,
                    # The comparison is of models: their pages show no photos, and sell
                    # no variants (whose SKUs are the demo product's).
                    "photos": [],
                    "options": [],
                    "variants": [],
                    "stock": 1,
                }
            )
    (folder / "catalog.json").write_text(json.dumps({"products": products}))
    sent = []
    for service in (CATALOG, ORDERS):
        loaded = run_command(
            service.module, "load-demo", env, "--file", str(folder / "catalog.json")
        )
        sent += [upload for line in loaded.splitlines() if (upload := DemoUpload.from_line(line))]
    return sent


def measure(browser: Browser, url: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 412, "height": 915})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": RTT_MS,
            "downloadThroughput": DOWN_BPS / 8,
            "uploadThroughput": UP_BPS / 8,
        },
    )
    transferred = [0]
    cdp.on(
        "Network.loadingFinished",
        lambda event: transferred.__setitem__(0, transferred[0] + event["encodedDataLength"]),
    )
    page.goto(url, wait_until="commit")
    start = page.evaluate("performance.timeOrigin")
    poster_at = None
    if page.evaluate(
        "() => fetch(location.pathname.replace('/product/', "
        "'/api/catalog/products/')).then(r => r.json())"
        ".then(p => !!(p.model && p.model.poster_url))"
    ):
        page.wait_for_function(POSTER_VISIBLE, timeout=120_000, polling=20)
        poster_at = page.evaluate("Date.now()") - start
    shown = "() => { const v = document.querySelector('model-viewer'); return v && v.loaded; }"
    page.wait_for_function(shown, timeout=180_000, polling=20)
    first_at = page.evaluate("Date.now()") - start
    page.wait_for_function(
        "() => document.querySelector('model-viewer').dataset.detail === 'full'"
        " && document.querySelector('model-viewer').loaded",
        timeout=180_000,
        polling=20,
    )
    loaded_at = page.evaluate("Date.now()") - start
    fcp = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    context.close()
    return {
        "fcp": fcp,
        "poster": poster_at,
        "first": first_at,
        "loaded": loaded_at,
        "bytes": transferred[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="loads per page (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, embedded_stack(Path(tmp), "bench") as stack:
        stack.demo_uploads = add_bench_products(Path(tmp) / "bench", stack.env())
        stack.wait_for_demo_models()
        products = httpx.get(f"{stack.gateway_url}/api/catalog/products?limit=100").json()
        with_models = [p for p in products["items"] if p["model"]]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            rows = []
            for product in with_models:
                runs = [
                    measure(browser, f"{stack.gateway_url}/product/{product['sku']}")
                    for _ in range(args.runs)
                ]
                rows.append((product, {k: median([r[k] for r in runs]) for k in runs[0]}))
            browser.close()
    report(rows)
    return 0


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def report(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    by_sku = {p["sku"]: (p, r) for p, r in rows}
    fixed = by_sku[TINY_SKU][1]["loaded"]
    print(
        f"Link: {DOWN_BPS / 1e6:.1f} Mbps down, {UP_BPS / 1e3:.0f} kbps up, {RTT_MS} ms RTT."
        f" Fixed cost (one-triangle model loaded): {fixed / 1000:.2f} s"
    )
    header = (
        f"{'product':<28}{'model MB':>9}{'FCP s':>7}{'poster s':>9}{'3D s':>7}{'loaded s':>9}"
        f"{'-fixed s':>9}{'MB moved':>9} | {'orig MB':>8}{'loaded s':>9}{'-fixed s':>9}"
        f"{'faster':>9}"
    )
    print(header)
    print("-" * len(header))
    for sku, (product, r) in by_sku.items():
        if sku == TINY_SKU or sku.startswith(ORIGINAL_PREFIX):
            continue
        poster = f"{r['poster'] / 1000:.2f}" if r["poster"] is not None else "none"
        line = (
            f"{product['name'][:27]:<28}{product['model']['bytes'] / 1e6:>9.2f}"
            f"{(r['fcp'] or 0) / 1000:>7.2f}{poster:>9}{r['first'] / 1000:>7.2f}"
            f"{r['loaded'] / 1000:>9.2f}"
            f"{(r['loaded'] - fixed) / 1000:>9.2f}{r['bytes'] / 1e6:>9.2f} | "
        )
        original = by_sku.get(ORIGINAL_PREFIX + sku)
        if original:
            o = original[1]
            line += (
                f"{original[0]['model']['bytes'] / 1e6:>8.2f}{o['loaded'] / 1000:>9.2f}"
                f"{(o['loaded'] - fixed) / 1000:>9.2f}"
                f"{o['loaded'] / r['loaded']:>8.1f}x"
            )
        print(line)
    print(
        "3D s: a model on show (a large model's preview first). "
        "Targets: poster visible < 1.5 s; model loaded less fixed cost < 3 s."
    )


if __name__ == "__main__":
    sys.exit(main())
