"""The model worker's limits are the ones docs/api.md promises: each figure of `Limits`, in
the words the page uses. A limit added, or changed on one side only, fails here."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from modelworker.limits import Limits

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SHARES = {0.25: "a quarter", 0.5: "half"}


def phrases(limits: Limits) -> dict[str, list[str]]:
    """Each limit as docs/api.md words it (line breaks aside)."""
    return {
        "image_side": [f"image over {limits.image_side} px a side"],
        "image_pixels": [f"images over {limits.image_pixels // 2**20} Mpixels"],
        "vertices": [f"{limits.vertices // 10**6} million vertices"],
        "triangles": [f"{limits.triangles // 10**6} million triangles"],
        "draw_calls": [f"{limits.draw_calls:,} draw calls"],
        "accessor_elements": [f"{limits.accessor_elements // 10**6} million accessor elements"],
        "memory_mb": [f"capped at {limits.memory_mb // 1024} GB"],
        "zip_entries": [f"more than {limits.zip_entries} entries"],
        "zip_bytes": [f"more than {limits.zip_bytes // 2**30} GiB inflated"],
        "zip_ratio": [f"inflating over {limits.zip_ratio} times"],
        "search_seconds": [f"The search takes at most {limits.search_seconds} s"],
        "preview_bytes": [
            f"more than {limits.preview_bytes // 1000} KB also gets a preview",
            f"fits within {limits.preview_bytes // 1000} KB",
        ],
        "preview_share": [f"{SHARES[limits.preview_share]} of the full model"],
        "poster_px": [f"an {limits.poster_px} px square WebP poster"],
        "photo_bytes": [f"Photos over {limits.photo_bytes // 2**20} MiB are `413`"],
        "photo_pixels": [f"over {limits.photo_pixels // 10**6} megapixels"],
        "photo_memory_mb": [f"a process capped at {limits.photo_memory_mb} MB"],
        "photo_main_px": [f"at most {limits.photo_main_px} px on its longest side"],
        "photo_widths": [
            f"at {', '.join(str(w) for w in limits.photo_widths[:-1])} and "
            f"{limits.photo_widths[-1]} px wide"
        ],
    }


def test_every_limit_is_stated_in_the_api_page() -> None:
    text = " ".join(API_DOC.read_text().split())
    limits = Limits()
    stated = phrases(limits)
    assert set(stated) == {f.name for f in fields(Limits)}, "a new limit needs its words here"
    missing = [p for words in stated.values() for p in words if p not in text]
    assert not missing, f"docs/api.md does not say: {missing}"


def test_the_optimiser_gets_every_limit_it_applies() -> None:
    """optimise.mjs refuses to run without each of these (LIMIT_NAMES there)."""
    script = (Path(__file__).resolve().parents[2] / "modelworker" / "optimise.mjs").read_text()
    for name in Limits().for_optimiser():
        assert f"'{name}'" in script, name
