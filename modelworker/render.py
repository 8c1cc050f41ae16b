"""`python -m modelworker.render <model.glb> <out.webp> [<model> <out> ...]
[--size N] [--orbit "0deg 75deg 105%" ...]`: pictures of each model as the storefront shows
it — the same <model-viewer>, in headless Chromium, from the pipeline's own npm packages —
served from a throwaway local web server that only this process knows. One browser renders
them all, from the viewer's default camera or from each `--orbit` given (the picture of the
second orbit is `<out>-1.webp`, and so on: `pipeline.orbit_picture`). The camera frames the
model by its bounds: an optimised model and its original are seen from the same place. Used
for posters, and for measuring what optimisation does."""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from modelworker.chromium import environment
from modelworker.pipeline import orbit_picture, write_report

HERE = Path(__file__).resolve().parent
VIEWER = HERE / "node_modules" / "@google" / "model-viewer" / "dist" / "model-viewer-umd.min.js"
MESHOPT = HERE / "node_modules" / "meshoptimizer" / "meshopt_decoder.cjs"
THREE_LIBS = HERE / "node_modules" / "three" / "examples" / "jsm" / "libs"
# Headless Chromium on a server: WebGL in software (SwiftShader), and no calls to outside
# hosts (these machines reach none). The browser tests and the page-load benchmark use it too.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;background:#fff}model-viewer{width:%(size)dpx;height:%(size)dpx}</style>
<link rel="icon" href="data:,"></head><body>
<script src="model-viewer.js"></script>
<script>customElements.whenDefined('model-viewer').then(() => {
  const viewer = customElements.get('model-viewer');
  // Full size whatever the frame rate: after a few slow frames the viewer draws at 0.79 of
  // it (and less), and two renders measured side by side would differ in size.
  viewer.minimumRenderScale = 1;
  viewer.meshoptDecoderLocation = 'meshopt_decoder.js';
  viewer.dracoDecoderLocation = 'draco/';
  viewer.ktx2TranscoderLocation = 'basis/';
  const v = document.createElement('model-viewer');
  v.setAttribute('src', new URLSearchParams(location.search).get('model'));
  v.setAttribute('shadow-intensity', '1');
  v.setAttribute('interaction-prompt', 'none');
  document.body.append(v);
});</script></body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def render(
    pairs: list[tuple[Path, Path]], size: int, chromium: str | None, orbits: list[str]
) -> None:
    """Each (model, picture) pair, from each of `orbits` (none: the default camera);
    `chromium`: the browser's path, or None for the one Playwright installed."""
    with tempfile.TemporaryDirectory(prefix="petshore-render-") as tmp:
        site = Path(tmp)
        for i, (model, _) in enumerate(pairs):
            shutil.copy(model, site / f"model-{i}.glb")
        shutil.copy(VIEWER, site / "model-viewer.js")
        shutil.copy(MESHOPT, site / "meshopt_decoder.js")
        # Decoders for whatever compression a model arrives with: never fetched from a CDN.
        shutil.copytree(THREE_LIBS / "draco" / "gltf", site / "draco")
        shutil.copytree(THREE_LIBS / "basis", site / "basis")
        (site / "index.html").write_text(PAGE % {"size": size})
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium,
                    args=CHROMIUM_ARGS,
                    env={**os.environ, **(environment(Path(chromium)) if chromium else {})},
                )
                page = browser.new_page(viewport={"width": size, "height": size})
                for i, (_, target) in enumerate(pairs):
                    # A page of its own for each model: what was shown before cannot change
                    # its picture.
                    page.goto(f"http://127.0.0.1:{server.server_port}/?model=model-{i}.glb")
                    for index, orbit in enumerate(orbits or [None]):
                        picture = orbit_picture(target, index)
                        picture.write_bytes(base64.b64decode(_picture(page, orbit, picture.suffix)))
                browser.close()
        finally:
            server.shutdown()


def _picture(page: Page, orbit: str | None, suffix: str) -> str:
    """The viewer's picture once the model is on show, from `orbit` (None: where the camera
    is), base64-encoded: PNG for a .png (pictures that are measured), else WebP (posters)."""
    page.wait_for_function(
        "() => { const v = document.querySelector('model-viewer');"
        " return v && v.loaded && v.modelIsVisible; }",
        timeout=60_000,
    )
    return str(
        page.evaluate(
            """async ([orbit, type]) => {
              const viewer = document.querySelector('model-viewer');
              if (orbit) {
                viewer.cameraOrbit = orbit;
                viewer.jumpCameraToGoal();
                // The jump shows from the next frame on.
                for (let i = 0; i < 3; i++) await new Promise(requestAnimationFrame);
              }
              const blob = await viewer.toBlob({mimeType: type, qualityArgument: 0.85});
              const bytes = new Uint8Array(await blob.arrayBuffer());
              let text = '';
              for (const b of bytes) text += String.fromCharCode(b);
              return btoa(text);
            }""",
            [orbit, "image/png" if suffix == ".png" else "image/webp"],
        )
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", type=Path, nargs="+", help="model, picture, model, picture...")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--chromium", default="")
    parser.add_argument("--orbit", action="append", default=[], help="a camera-orbit")
    args = parser.parse_args(argv)
    if len(args.files) % 2:
        parser.error("give each model a picture to write")
    pairs = list(zip(args.files[::2], args.files[1::2], strict=True))
    try:
        render(pairs, args.size, args.chromium or None, args.orbit)
    except Exception as exc:  # a model the viewer cannot show, or no browser: say which
        return write_report("error", f"render: {exc}")
    return write_report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
