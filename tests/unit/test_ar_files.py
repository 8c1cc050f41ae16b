"""The AR files, made by the real pipeline from a published model (the demo shoe, optimised
to meshopt geometry and WebP textures as the worker publishes it): Scene Viewer's GLB holds
none of the extensions it is made without and passes the Khronos validator on its own; Quick
Look's USDZ is a package of USD and PNG/JPEG files that OpenUSD's compliance checker, with
Apple's ARKit rules, passes."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pxr import Usd, UsdShade
from pxr.UsdUtils.complianceChecker import ComplianceChecker

from devstack.samples import glb, textured_glb
from modelworker.pipeline import SCRIPT, Pipeline
from modelworker.search import LADDER
from tests.helpers import NOT_FOR_SCENE_VIEWER, glb_json

SHOE = Path(__file__).resolve().parents[2] / "demo" / "models" / "MaterialsVariantsShoe.glb"
# The Khronos validator on a file, as the pipeline's own Node packages have it.
VALIDATE = """
import { readFileSync } from 'node:fs';
import validator from 'gltf-validator';
const report = await validator.validateBytes(new Uint8Array(readFileSync(process.argv[1])));
console.log(JSON.stringify(report.issues));
"""


def pipeline() -> Pipeline:
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    return Pipeline(node, timeout=120, workers=1)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("ar")
    published, ar, usdz = folder / "published.glb", folder / "ar.glb", folder / "ar.usdz"

    async def run() -> dict[str, Any]:
        await pipeline().optimise(SHOE, published, LADDER[0])
        return {
            "ar": await pipeline().make_ar(published, ar),
            "usdz": await pipeline().make_usdz(ar, usdz),
        }

    return {**asyncio.run(run()), "published": published, "ar_file": ar, "usdz_file": usdz}


def test_the_published_model_needs_what_scene_viewer_is_handed_without(
    made: dict[str, Any],
) -> None:
    used = set(glb_json(made["published"].read_bytes()).get("extensionsUsed", []))
    assert {"EXT_meshopt_compression", "EXT_texture_webp", "KHR_materials_variants"} <= used


def test_the_ar_glb_is_plain_gltf_with_png_or_jpeg_textures(made: dict[str, Any]) -> None:
    gltf = glb_json(made["ar_file"].read_bytes())
    used = set(gltf.get("extensionsUsed", [])) | set(gltf.get("extensionsRequired", []))
    assert not used & NOT_FOR_SCENE_VIEWER
    assert used <= {"KHR_materials_unlit", "KHR_texture_transform"}
    assert made["ar"]["extensions"] == sorted(used)
    mime_types = [image["mimeType"] for image in gltf["images"]]
    assert mime_types and set(mime_types) <= {"image/png", "image/jpeg"}
    assert made["ar"]["output_bytes"] == made["ar_file"].stat().st_size


def test_the_ar_glb_passes_the_khronos_validator(made: dict[str, Any]) -> None:
    done = subprocess.run(
        ["node", "--input-type=module", "-e", VALIDATE, str(made["ar_file"])],
        cwd=SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    issues = json.loads(done.stdout)
    assert issues["numErrors"] == 0, issues["messages"][:5]


def test_the_usdz_is_usd_and_png_or_jpeg_only(made: dict[str, Any]) -> None:
    with zipfile.ZipFile(made["usdz_file"]) as package:
        names = package.namelist()
        assert all(info.compress_type == zipfile.ZIP_STORED for info in package.infolist())
    suffixes = [Path(name).suffix for name in names]
    assert suffixes[0] == ".usdc"  # Quick Look opens the package's first file
    assert set(suffixes[1:]) <= {".png", ".jpg"} and len(suffixes) > 1
    assert made["usdz"]["textures"]["jpeg"] + made["usdz"]["textures"]["png"] == len(names) - 1


def test_the_usdz_passes_openusds_compliance_checker_with_apples_rules(
    made: dict[str, Any],
) -> None:
    checker = ComplianceChecker(arkit=True)
    checker.CheckCompliance(str(made["usdz_file"]))
    assert checker.GetFailedChecks() == [] and checker.GetErrors() == []
    assert made["usdz"]["checker"]["errors"] == []


def blended_glb() -> bytes:
    """A triangle whose colour map's alpha shows (a blended material): noise, so that the
    optimiser publishes it as WebP."""
    pixels = np.random.default_rng(7).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(encoded, "PNG")
    data = textured_glb([encoded.getvalue()], "image/png")
    gltf = glb_json(data)
    gltf["materials"][0]["alphaMode"] = "BLEND"
    (length,) = struct.unpack_from("<I", data, 12)
    return glb(gltf, data[20 + length + 8 :])


def test_a_colour_map_whose_alpha_shows_stays_transparent(tmp_path: Path) -> None:
    source, published = tmp_path / "blended.glb", tmp_path / "published.glb"
    ar, usdz = tmp_path / "ar.glb", tmp_path / "ar.usdz"
    source.write_bytes(blended_glb())

    async def run() -> None:
        await pipeline().optimise(source, published, LADDER[0])
        await pipeline().make_ar(published, ar)
        await pipeline().make_usdz(ar, usdz)

    asyncio.run(run())
    assert glb_json(published.read_bytes())["images"][0]["mimeType"] == "image/webp"
    assert glb_json(ar.read_bytes())["images"][0]["mimeType"] == "image/png"
    stage = Usd.Stage.Open(str(usdz))
    surface = next(
        UsdShade.Shader(prim)
        for prim in stage.Traverse()
        if prim.GetAttribute("info:id").Get() == "UsdPreviewSurface"
    )
    source_of_opacity = surface.GetInput("opacity").GetConnectedSources()[0][0]
    assert source_of_opacity.sourceName == "a"
