"""The model pipeline keeps what a shopper sees: every sample model, as uploaded and as the
pipeline's quality search publishes it (and its preview, for a large one), is rendered by the
storefront's viewer in Chromium from the search's orbits, and the pictures are compared here,
apart from the search's own judgement."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from modelworker.limits import Limits
from modelworker.pipeline import Pipeline, orbit_picture, render_command
from modelworker.quality import MIN_PREVIEW_SSIM, MIN_PSNR, MIN_SSIM, compare_orbits
from modelworker.search import ORBITS, RENDER_PX, choose
from petshore.contract import MODEL_PREVIEW_MAX_BYTES

MODELS = Path(__file__).resolve().parents[2] / "demo" / "models"
SAMPLES = ["Fox.glb", "MaterialsVariantsShoe.glb", "Mixer.glb", "kenney-tree/tree.obj"]
CHROMIUM = "/usr/bin/chromium"

Scores = dict[str, tuple[float, float, int]]  # kind: PSNR, SSIM, bytes


async def published(
    pipeline: Pipeline, sample: Path, work: Path
) -> tuple[dict[str, Path], list[dict[str, Any]]]:
    """The sample as a GLB, the optimised GLB the search chose and, when one is made, its
    preview; and the search's step reports."""
    source = sample
    if sample.suffix == ".obj":
        source = work / "converted.glb"
        await pipeline.convert_obj(sample, source)
    search = work / "search"
    search.mkdir()
    choice = await choose(pipeline, source, search)
    files = {"original": source, "optimised": choice.model}
    if choice.preview:
        files["preview"] = choice.preview
    return files, choice.steps


@pytest.fixture(scope="module")
def searched(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[dict[str, Path], list[dict[str, Any]]]]:
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    # The point here is what the search publishes, not how fast: a busy machine may not
    # stop it early.
    limits = Limits(search_seconds=1800)
    pipeline = Pipeline(node, timeout=600, workers=2, chromium=CHROMIUM, limits=limits)
    works = {name: tmp_path_factory.mktemp(Path(name).stem) for name in SAMPLES}

    async def search_all() -> list[tuple[dict[str, Path], list[dict[str, Any]]]]:
        return await asyncio.gather(
            *(published(pipeline, MODELS / name, works[name]) for name in SAMPLES)
        )

    return dict(zip(SAMPLES, asyncio.run(search_all()), strict=True))


@pytest.fixture(scope="module")
def pictures(
    searched: dict[str, tuple[dict[str, Path], list[dict[str, Any]]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path, Path]:
    """Each sample's original, published model and preview (model: picture), all rendered by
    one renderer process from the search's orbits."""
    out = tmp_path_factory.mktemp("pictures")
    pictures = {
        model: out / f"{Path(name).stem}-{kind}.png"
        for name, (kinds, _) in searched.items()
        for kind, model in kinds.items()
    }
    subprocess.run(render_command(list(pictures.items()), RENDER_PX, CHROMIUM, ORBITS), check=True)
    return pictures


@pytest.fixture(scope="module")
def scores(
    searched: dict[str, tuple[dict[str, Path], list[dict[str, Any]]]],
    pictures: dict[Path, Path],
) -> dict[str, Scores]:
    """PSNR, SSIM (the worst of the orbits) and size of each sample's published model and
    preview against its original."""
    return {
        name: {
            kind: (
                *compare_orbits(pictures[kinds["original"]], pictures[model], len(ORBITS)),
                model.stat().st_size,
            )
            for kind, model in kinds.items()
            if kind != "original"
        }
        for name, (kinds, _) in searched.items()
    }


def test_every_picture_is_drawn_at_the_size_asked(pictures: dict[Path, Path]) -> None:
    """However slow a machine's frames: the viewer lowers its resolution after slow frames,
    and pictures compared side by side must be the same size (render.py keeps it full)."""
    sizes: dict[str, tuple[int, int]] = {}
    for picture in pictures.values():
        for i in range(len(ORBITS)):
            with Image.open(orbit_picture(picture, i)) as image:
                sizes[image.filename] = image.size
    assert set(sizes.values()) == {(RENDER_PX, RENDER_PX)}, sizes


@pytest.mark.parametrize("name", SAMPLES)
def test_the_optimised_model_looks_like_the_original(scores: dict[str, Scores], name: str) -> None:
    psnr, ssim, size = scores[name]["optimised"]
    print(f"{name}: optimised {size} bytes, PSNR {psnr:.1f} dB, SSIM {ssim:.3f}")
    assert psnr >= MIN_PSNR or ssim >= MIN_SSIM, (psnr, ssim)
    assert size < (MODELS / name).stat().st_size


@pytest.mark.parametrize("name", SAMPLES)
def test_what_shows_first_is_small_and_recognisable(
    searched: dict[str, tuple[dict[str, Path], list[dict[str, Any]]]],
    scores: dict[str, Scores],
    name: str,
) -> None:
    """A model that optimises to more than the preview budget gets a preview within it that
    looks like it; or, when no candidate did, none, and the report says so."""
    *_, size = scores[name]["optimised"]
    previews = [step for step in searched[name][1] if step["name"] == "preview"]
    if size <= MODEL_PREVIEW_MAX_BYTES:
        assert "preview" not in scores[name], "a small model is its own preview"
        assert not previews
        return
    [step] = previews
    if "preview" not in scores[name]:
        assert "the poster shows" in step["error"]
        assert all(t["ssim"] < MIN_PREVIEW_SSIM for t in step["tried"]), step
        return
    psnr, ssim, preview_size = scores[name]["preview"]
    print(f"{name}: preview {preview_size} bytes, PSNR {psnr:.1f} dB, SSIM {ssim:.3f}")
    assert preview_size == step["bytes_out"] <= min(MODEL_PREVIEW_MAX_BYTES, size // 4)
    assert ssim >= MIN_PREVIEW_SSIM, (psnr, ssim)


def test_the_large_samples_show_a_preview_first(scores: dict[str, Scores]) -> None:
    """The demo's large models each get a preview (the shoe's is what its page shows first)."""
    large = [name for name in SAMPLES if (MODELS / name).stat().st_size > 1_000_000]
    assert large, "the samples include large models"
    shown = [name for name in large if "preview" in scores[name]]
    assert "MaterialsVariantsShoe.glb" in shown, shown


@pytest.mark.parametrize("name", SAMPLES)
def test_the_search_reports_what_it_chose_and_measured(
    searched: dict[str, tuple[dict[str, Path], list[dict[str, Any]]]],
    scores: dict[str, Scores],
    name: str,
) -> None:
    """The step report names the settings and the figures; they are the published model's."""
    files, steps = searched[name]
    search = next(step for step in steps if step["name"] == "quality search")
    assert search["met_floor"] is True
    assert search["settings"] in [trial["settings"] for trial in search["tried"]]
    assert search["bytes_out"] == files["optimised"].stat().st_size
    psnr, ssim, _ = scores[name]["optimised"]
    # The same renderer, the same orbits: the search's figures are the published model's.
    assert abs(search["ssim"] - ssim) < 0.01, (search, ssim)
    assert abs(search["psnr"] - psnr) < 1.0, (search, psnr)
    assert search["psnr"] >= MIN_PSNR or search["ssim"] >= MIN_SSIM
    assert 1 <= search["renders"] <= 7
