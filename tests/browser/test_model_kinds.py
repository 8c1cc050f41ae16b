"""The pipeline on the kinds of content that break fixed optimisation settings (tests/models:
an alpha-tested weave, stained glass, a fine normal map, vertex colours, hundreds of small
meshes, a large flat print, an animation, morph targets). Each kind, as made and as the
pipeline publishes it (and its preview, when one is made), is rendered by the storefront's
viewer from the same camera and held to the project's floor; and what the kind is about must
still be in the published GLB."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelworker.pipeline import Pipeline, render_command
from modelworker.quality import MIN_PREVIEW_SSIM, MIN_PSNR, MIN_SSIM, compare_orbits
from modelworker.search import ORBITS, RENDER_PX, choose
from petshore.contract import MODEL_PREVIEW_MAX_BYTES
from tests.browser.test_model_quality import CHROMIUM

Gltf = dict[str, Any]
Score = tuple[float, float, int]  # PSNR, SSIM, bytes


async def optimised_files(pipeline: Pipeline, source: Path, work: Path) -> dict[str, Path]:
    """What the pipeline publishes for `source`: the optimised GLB the quality search chose
    and, when one is made, its preview. The one place these tests ask the pipeline for them."""
    choice = await choose(pipeline, source, work)
    files = {"optimised": choice.model}
    if choice.preview:
        files["preview"] = choice.preview
    return files


@pytest.fixture(scope="module")
def published(
    model_kinds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path]]:
    """Each kind's original and published files, optimised side by side."""
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    # Longer than the worker's 200 s a step: two of these run at once on a shared machine.
    pipeline = Pipeline(node, timeout=600, workers=2, chromium=CHROMIUM)
    works = {kind: tmp_path_factory.mktemp(kind) for kind in model_kinds}

    async def optimise_all() -> list[dict[str, Path]]:
        return await asyncio.gather(
            *(optimised_files(pipeline, model, works[kind]) for kind, model in model_kinds.items())
        )

    made = dict(zip(model_kinds, asyncio.run(optimise_all()), strict=True))
    return {kind: {"original": model_kinds[kind], **made[kind]} for kind in model_kinds}


@pytest.fixture(scope="module")
def scores(published: dict[str, dict[str, Path]]) -> dict[str, dict[str, Score]]:
    """PSNR, SSIM (the worst of the search's orbits) and size of each kind's optimised model
    and preview against its original, all pictures from one renderer process, each in its
    kind's own folder."""
    pictures = {
        model: files["optimised"].parent / f"measured-{role}.png"
        for files in published.values()
        for role, model in files.items()
    }
    subprocess.run(render_command(list(pictures.items()), RENDER_PX, CHROMIUM, ORBITS), check=True)
    orbits = len(ORBITS)
    return {
        kind: {
            role: (
                *compare_orbits(pictures[files["original"]], pictures[model], orbits),
                model.stat().st_size,
            )
            for role, model in files.items()
            if role != "original"
        }
        for kind, files in published.items()
    }


def gltf_json(glb: Path) -> Gltf:
    """The glTF JSON of a GLB: its first chunk."""
    data = glb.read_bytes()
    length, chunk = struct.unpack_from("<I4s", data, 12)
    assert data[:4] == b"glTF" and chunk == b"JSON", glb
    return dict(json.loads(data[20 : 20 + length]))


def materials(gltf: Gltf) -> list[dict[str, Any]]:
    return list(gltf.get("materials", []))


def primitives(gltf: Gltf) -> list[dict[str, Any]]:
    return [p for mesh in gltf.get("meshes", []) for p in mesh["primitives"]]


def masked(gltf: Gltf) -> list[tuple[float, bool]]:
    """The alpha-tested materials' cutoffs, and whether each still has its normal map."""
    return [
        (m.get("alphaCutoff", 0.5), "normalTexture" in m)
        for m in materials(gltf)
        if m.get("alphaMode") == "MASK" and "baseColorTexture" in m.get("pbrMetallicRoughness", {})
    ]


GLASS = ("KHR_materials_transmission", "KHR_materials_volume", "KHR_materials_ior")


def glass(gltf: Gltf) -> list[tuple[bool, float]]:
    """Materials with transmission, volume and IOR: whether the transmission has its texture
    (the came that lets no light through), and the IOR."""
    return [
        (
            "transmissionTexture" in m["extensions"]["KHR_materials_transmission"],
            m["extensions"]["KHR_materials_ior"].get("ior", 1.5),
        )
        for m in materials(gltf)
        if all(name in m.get("extensions", {}) for name in GLASS)
    ]


def normal_mapped(gltf: Gltf) -> int:
    return sum("normalTexture" in m for m in materials(gltf))


def vertex_coloured(gltf: Gltf) -> set[bool]:
    """Whether primitives have vertex colours: {True} when every one does."""
    return {"COLOR_0" in p["attributes"] for p in primitives(gltf)}


def triangles(gltf: Gltf) -> int:
    """Triangles drawn, counting each node that shows a mesh and each GPU instance."""
    accessors = gltf["accessors"]
    total = 0
    for node in gltf.get("nodes", []):
        if "mesh" not in node:
            continue
        instancing = node.get("extensions", {}).get("EXT_mesh_gpu_instancing")
        copies = (
            accessors[next(iter(instancing["attributes"].values()))]["count"] if instancing else 1
        )
        for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
            counted = primitive.get("indices", primitive["attributes"]["POSITION"])
            total += copies * accessors[counted]["count"] // 3
    return total


def base_coloured(gltf: Gltf) -> int:
    return sum("baseColorTexture" in m.get("pbrMetallicRoughness", {}) for m in materials(gltf))


def animated(gltf: Gltf) -> tuple[list[list[str]], list[int], bool] | None:
    """Each animation's channels by path, each skin's number of joints, and whether every
    skinned primitive still has its joints and weights; None for a model with neither."""
    if not gltf.get("animations") and not gltf.get("skins"):
        return None
    skinned_meshes = {n["mesh"] for n in gltf.get("nodes", []) if "skin" in n and "mesh" in n}
    return (
        [sorted(c["target"]["path"] for c in a["channels"]) for a in gltf.get("animations", [])],
        [len(s["joints"]) for s in gltf.get("skins", [])],
        all(
            {"JOINTS_0", "WEIGHTS_0"} <= p["attributes"].keys()
            for mesh in skinned_meshes
            for p in gltf["meshes"][mesh]["primitives"]
        ),
    )


def morphed(gltf: Gltf) -> list[tuple[list[int], list[float]]]:
    """Each mesh with morph targets: its primitives' target counts, and its default weights."""
    return [
        (
            [len(p.get("targets", [])) for p in mesh["primitives"]],
            [round(w, 3) for w in mesh.get("weights", [])],
        )
        for mesh in gltf.get("meshes", [])
        if any(p.get("targets") for p in mesh["primitives"])
    ]


# What each kind is about, read from a GLB's JSON: the same in the original and the
# optimised model, and present at all in the original.
ABOUT: dict[str, Callable[[Gltf], Any]] = {
    "alpha-weave": masked,
    "stained-glass": glass,
    "fine-normals": normal_mapped,
    "vertex-colours": vertex_coloured,
    "many-meshes": triangles,
    "printed-box": base_coloured,
    "animation": animated,
    "morph-targets": morphed,
}
KINDS = sorted(ABOUT)


def test_the_set_is_every_kind(model_kinds: dict[str, Path]) -> None:
    assert sorted(model_kinds) == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_the_optimised_model_looks_like_the_original(
    scores: dict[str, dict[str, Score]], kind: str
) -> None:
    psnr, ssim, size = scores[kind]["optimised"]
    print(f"{kind}: optimised {size} bytes, PSNR {psnr:.1f} dB, SSIM {ssim:.3f}")
    assert psnr >= MIN_PSNR or ssim >= MIN_SSIM, (psnr, ssim)


@pytest.mark.parametrize("kind", KINDS)
def test_the_optimised_model_is_never_larger(
    published: dict[str, dict[str, Path]], kind: str
) -> None:
    original, optimised = (
        published[kind][role].stat().st_size for role in ("original", "optimised")
    )
    print(f"{kind}: {original} -> {optimised} bytes")
    assert optimised <= original


@pytest.mark.parametrize("kind", KINDS)
def test_a_preview_is_small_and_recognisable(
    scores: dict[str, dict[str, Score]], kind: str
) -> None:
    if "preview" not in scores[kind]:
        pytest.skip("no preview made: the model is shown at once, or by its poster alone")
    psnr, ssim, size = scores[kind]["preview"]
    print(f"{kind}: preview {size} bytes, PSNR {psnr:.1f} dB, SSIM {ssim:.3f}")
    assert size <= MODEL_PREVIEW_MAX_BYTES
    assert ssim >= MIN_PREVIEW_SSIM, (psnr, ssim)


@pytest.mark.parametrize("kind", KINDS)
def test_what_the_kind_is_about_survives(published: dict[str, dict[str, Path]], kind: str) -> None:
    original, optimised = (gltf_json(published[kind][role]) for role in ("original", "optimised"))
    about = ABOUT[kind]
    assert about(original), "the original has what its kind is about"
    assert about(optimised) == about(original)
