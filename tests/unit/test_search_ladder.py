"""The quality search's ladder and figures: rungs from the smallest upward, ending with the
model's own textures, and the figures docs/api.md states."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from modelworker.pipeline import Rung
from modelworker.quality import MIN_PREVIEW_SSIM, MIN_PSNR, MIN_SSIM, good_enough, psnr
from modelworker.search import LADDER, ORBITS, SIMPLIFY_FROM_TRIANGLES, Trial

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_rung_asks_at_least_as_much_as_the_one_before() -> None:
    rungs = [rung for rung in LADDER if rung is not None]
    assert LADDER[-1] is None, "the last rung keeps the model's own textures"
    for smaller, larger in pairwise(rungs):
        for role in ("colour", "normal", "other", "quality"):
            assert getattr(smaller, role) <= getattr(larger, role), (smaller, larger)
        assert smaller != larger
    assert all(not rung.simplify for rung in rungs), "simplification is tried apart"


def test_a_trial_meets_the_floor_by_either_figure_and_never_unmeasured() -> None:
    rung = LADDER[0]
    assert Trial(Path("a.glb"), rung, 1, MIN_PSNR, 0.5).meets_floor
    assert Trial(Path("a.glb"), rung, 1, 20.0, MIN_SSIM).meets_floor
    assert not Trial(Path("a.glb"), rung, 1, MIN_PSNR - 0.1, MIN_SSIM - 0.001).meets_floor
    assert not Trial(Path("a.glb"), rung, 1).meets_floor
    assert Trial(Path("a.glb"), None, 1).settings() == "the model's own textures"
    assert good_enough(MIN_PSNR, 0.0) and not good_enough(MIN_PSNR - 1, MIN_SSIM - 0.01)


def test_identical_pictures_have_a_finite_psnr() -> None:
    picture = np.zeros((8, 8, 3))
    assert psnr(picture, picture) == 100.0


def test_a_rung_says_what_it_does() -> None:
    text = Rung(colour=1024, normal=512, other=256, quality=90, simplify=0.0005).describe()
    assert text == (
        "colour 1024 px, normal 512 px, other 256 px, WebP quality 90, simplified within 0.0005"
    )


def test_the_api_page_states_the_search_figures() -> None:
    text = " ".join(API_DOC.read_text().split())
    first = LADDER[0]
    assert first is not None
    for phrase in (
        f"colour maps at {first.colour} px first",
        f"from {['one', 'two', 'three'][len(ORBITS) - 1]} sides",
        f"PSNR of at least {MIN_PSNR:g} dB or an SSIM of at least {MIN_SSIM:g}",
        f"over {SIMPLIFY_FROM_TRIANGLES:,} triangles",
        f"an SSIM of at least {MIN_PREVIEW_SSIM:g} on its worst side",
    ):
        assert phrase in text, phrase
