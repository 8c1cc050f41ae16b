"""The demo catalog file (`demo/catalog.json`); each service loads its own part of it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "catalog.json"
# How the catalog's `load-demo` names each model it sent to the model worker, one line each:
# `model-upload <sku> <upload_id>`, for whoever waits for them to be published.
DEMO_UPLOAD_LINE = "model-upload"


def demo_products(path: Path = DEMO_FILE) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["products"])


def add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        type=Path,
        default=DEMO_FILE,
        help="a catalog file like demo/catalog.json (models beside it in models/)",
    )
