"""The demo's photos are the project's own drawings: every demo product has one, credited, and
the committed files are exactly what scripts/demo_photos.py draws."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from petshore.demo import DEMO_FILE, demo_products

PHOTOS = DEMO_FILE.parent / "photos"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_photos.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_photos", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_demo_product_has_a_credited_photo_with_words() -> None:
    credits = (PHOTOS / "LICENSES.md").read_text()
    for product in demo_products():
        assert product.get("photos"), f"{product['sku']} has no photo"
        for photo in product["photos"]:
            assert (PHOTOS / photo["file"]).is_file()
            assert photo["alt"].strip()
            assert f"`{photo['file']}`" in credits
    assert "Fox.glb" in (DEMO_FILE.parent / "models" / "LICENSES.md").read_text()


def test_the_committed_photos_are_what_the_script_draws(tmp_path: Path) -> None:
    written = generator().write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in PHOTOS.glob("*.jpg"))
    for path in written:
        assert path.read_bytes() == (PHOTOS / path.name).read_bytes(), path.name
