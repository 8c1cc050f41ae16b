"""A large model upload through the catalog, and what it costs the catalog's own process.

    .venv/bin/python bench/uploads.py [--mb 50]

Starts the storefront as `make run` does (SQLite, embedded emulator) in a temporary folder,
makes a GLB of about the given size the way real product models are (a few triangles, and
photographic textures that are most of the bytes: JPEG noise), and uploads it twice: in one
presigned PUT, and in presigned parts. For each it prints the file's size, the seconds to send
it and to `complete` it (validate, optimise, preview, poster, publish), the published sizes,
and the catalog process's peak resident memory before and after (VmHWM): the service streams
files, so its peak should grow by a small part of the file, not by the file.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.samples import TEXTURE_SLOTS, textured_glb  # noqa: E402
from devstack.stack import Stack, embedded_stack  # noqa: E402
from petshore.contract import CATALOG  # noqa: E402

ADMIN = {"Authorization": "Bearer bench"}
TEXTURE_SIDE = 4096


def noise_textured_glb(megabytes: int) -> bytes:
    """One textured triangle whose images (4096 px JPEG noise) add up to about `megabytes`."""
    rng = np.random.default_rng(7)
    images: list[bytes] = []
    while sum(map(len, images)) < megabytes * 1e6 and len(images) < len(TEXTURE_SLOTS):
        noise = rng.integers(0, 256, (TEXTURE_SIDE, TEXTURE_SIDE, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(noise).save(out, "JPEG", quality=90)
        images.append(out.getvalue())
    return textured_glb(images, "image/jpeg")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def upload(client: httpx.Client, sku: str, data: bytes, in_parts: bool) -> dict[str, float]:
    body = {"filename": "big.glb", "content_type": "model/gltf-binary", "bytes": len(data)}
    ticket = client.post(f"/api/catalog/products/{sku}/model-uploads", json=body, headers=ADMIN)
    ticket.raise_for_status()
    offer = ticket.json()
    started = time.perf_counter()
    complete_body: dict[str, Any] | None = None
    if in_parts:
        size, parts = offer["multipart"]["part_bytes"], []
        for part in offer["multipart"]["parts"]:
            chunk = data[(part["part_number"] - 1) * size : part["part_number"] * size]
            put = httpx.put(part["put_url"], content=chunk, timeout=300)
            put.raise_for_status()
            parts.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
        complete_body = {"parts": parts}
    else:
        httpx.put(offer["put_url"], content=data, headers=offer["headers"], timeout=300)
    sent = time.perf_counter() - started
    path = f"/api/catalog/products/{sku}/model-uploads/{offer['upload_id']}/complete"
    done = client.post(path, json=complete_body, headers=ADMIN, timeout=300)
    done.raise_for_status()
    model = done.json()["model"]
    return {
        "send_s": sent,
        "complete_s": time.perf_counter() - started - sent,
        "bytes": model["bytes"],
        "preview_bytes": model["preview_bytes"] or 0,
    }


def catalog_pid(stack: Stack) -> int:
    return next(c.process.pid for c in stack.processes.children if c.name.startswith(CATALOG.name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the model to upload")
    args = parser.parse_args()
    data = noise_textured_glb(args.mb)
    # Long enough for a 50 MB model on a busy two-core machine.
    settings = {"extra_env": {"PETSHORE_MODEL_PIPELINE_TIMEOUT_SECONDS": "300"}}
    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded_stack(Path(tmp), "bench", load_demo=False, **settings) as stack,
        httpx.Client(base_url=stack.gateway_url, timeout=60) as client,
    ):
        pid = catalog_pid(stack)
        print(f"model: {len(data) / 1e6:.1f} MB GLB, textures {TEXTURE_SIDE} px JPEG noise")
        header = (
            f"{'upload':<10}{'send s':>8}{'complete s':>11}{'published MB':>13}{'preview KB':>11}"
            f"{'peak before MB':>15}{'peak after MB':>14}{'growth/file':>12}"
        )
        print(header)
        print("-" * len(header))
        for i, in_parts in enumerate((False, True)):
            sku = f"PS-BENCH-{i}"
            product = {"sku": sku, "name": "Big", "category": "bench", "price_cents": 1}
            client.post("/api/catalog/products", json=product, headers=ADMIN).raise_for_status()
            before = peak_rss_mb(pid)
            r = upload(client, sku, data, in_parts)
            after = peak_rss_mb(pid)
            growth = (after - before) * 2**20 / len(data)
            print(
                f"{'parts' if in_parts else 'one PUT':<10}{r['send_s']:>8.1f}"
                f"{r['complete_s']:>11.1f}{r['bytes'] / 1e6:>13.2f}"
                f"{r['preview_bytes'] / 1e3:>11.0f}{before:>15.0f}{after:>14.0f}{growth:>12.1%}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
