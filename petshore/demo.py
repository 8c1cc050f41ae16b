"""The demo catalog file (`demo/catalog.json`); each service loads its own part of it."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "catalog.json"
# How the catalog's `load-demo` names each file it sent to the model worker, one line each:
# `demo-upload <kind> <sku> <upload_id>`, for whoever waits for them to be published.
DEMO_UPLOAD_LINE = "demo-upload"
# Where the catalog tells how an upload of each kind went.
UPLOAD_SEGMENTS = {"model": "model-uploads", "photo": "image-uploads"}


@dataclass(frozen=True)
class DemoUpload:
    kind: str  # petshore.modeljobs.Kind
    sku: str
    upload_id: str

    def line(self) -> str:
        return f"{DEMO_UPLOAD_LINE} {self.kind} {self.sku} {self.upload_id}"

    @classmethod
    def from_line(cls, line: str) -> DemoUpload | None:
        words = line.split()
        if len(words) != 4 or words[0] != DEMO_UPLOAD_LINE:
            return None
        return cls(words[1], words[2], words[3])

    def status_path(self, catalog_prefix: str) -> str:
        segment = UPLOAD_SEGMENTS[self.kind]
        return f"{catalog_prefix}products/{self.sku}/{segment}/{self.upload_id}"


def demo_products(path: Path = DEMO_FILE) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["products"])


def demo_pricing(path: Path = DEMO_FILE) -> dict[str, Any]:
    """Example tax rates and discount codes (the orders service's)."""
    return dict(json.loads(path.read_text()).get("pricing", {}))


def add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        type=Path,
        default=DEMO_FILE,
        help="a catalog file like demo/catalog.json (models beside it in models/)",
    )
