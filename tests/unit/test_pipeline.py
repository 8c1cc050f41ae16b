"""The model pipeline's runner: its report is read strictly, and the Node process it starts
really validates and optimises (a tiny model made in code, and a file that is no model)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devstack.samples import tiny_glb
from modelworker.limits import Limits
from modelworker.pipeline import (
    CONVERTER,
    SCRIPT,
    InvalidUpload,
    Pipeline,
    PipelineFailed,
    Rung,
    UploadTooLarge,
    parse_report,
)
from modelworker.search import LADDER
from tests.helpers import broken_image_glb, image_bomb_glb, vertex_bomb_glb

MODELS = Path(__file__).resolve().parents[2] / "demo" / "models"
RUNG = LADDER[0]


def test_report_parsing() -> None:
    ok = json.dumps({"ok": True, "input_bytes": 10, "output_bytes": 5, "steps": []}).encode()
    assert parse_report(0, b"note\n" + ok, b"").output_bytes == 5
    with pytest.raises(InvalidUpload) as invalid:
        parse_report(2, b'{"ok": false, "reason": "invalid", "errors": ["E1"]}', b"")
    assert invalid.value.errors == ["E1"]
    with pytest.raises(UploadTooLarge):
        parse_report(2, b'{"ok": false, "reason": "too_large", "errors": ["E2"]}', b"")
    with pytest.raises(PipelineFailed):
        parse_report(1, b'{"ok": false, "reason": "error", "errors": ["boom"]}', b"")
    with pytest.raises(PipelineFailed):
        parse_report(134, b"", b"Segmentation fault")


def test_the_node_pipeline_validates_and_optimises(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    pipeline = Pipeline(node, timeout=60, workers=1)
    source = tmp_path / "tiny.glb"
    source.write_bytes(tiny_glb())
    result = asyncio.run(pipeline.optimise(source, tmp_path / "out.glb", RUNG))
    assert result.input_bytes == len(tiny_glb())
    assert (tmp_path / "out.glb").read_bytes()[:4] == b"glTF"
    assert [s["name"] for s in result.steps][-1] == "meshopt", "compression comes last"
    for bad in (b"glTF\x02\x00\x00\x00" + b"\x00" * 32, broken_image_glb()):
        junk = tmp_path / "junk.glb"
        junk.write_bytes(bad)
        with pytest.raises(InvalidUpload):
            asyncio.run(pipeline.optimise(junk, tmp_path / "never.glb", RUNG))
        assert not (tmp_path / "never.glb").exists()


@pytest.mark.parametrize("bomb", [image_bomb_glb, vertex_bomb_glb])
def test_absurd_declared_sizes_are_refused_before_anything_is_read(
    tmp_path: Path, bomb: Callable[[], bytes]
) -> None:
    node = shutil.which("node")
    assert node
    source = tmp_path / "bomb.glb"
    source.write_bytes(bomb())
    with pytest.raises(UploadTooLarge) as refused:
        asyncio.run(
            Pipeline(node, timeout=60, workers=1).optimise(source, tmp_path / "out.glb", RUNG)
        )
    assert any("at most" in error for error in refused.value.errors)


def test_the_obj_converter_stops_at_its_memory_cap(tmp_path: Path) -> None:
    """A 36 MB OBJ converts within the default cap, and is refused, not swapped, below it."""
    rng = np.random.default_rng(1)
    obj = tmp_path / "big.obj"
    with obj.open("w") as f:
        np.savetxt(f, rng.random((1_000_000, 3)), fmt="v %.6f %.6f %.6f")
        np.savetxt(f, np.arange(1, 1_000_000 - 2, 3)[:, None] + [0, 1, 2], fmt="f %d %d %d")
    command = [sys.executable, "-m", CONVERTER, str(obj), str(tmp_path / "big.glb")]
    with pytest.raises(UploadTooLarge, match="more than 250 MB"):
        parse_report(*run([*command, "--memory-mb", "250"]))
    parse_report(*run([*command, "--memory-mb", str(Limits().memory_mb)]))
    assert (tmp_path / "big.glb").read_bytes()[:4] == b"glTF"


def run(command: list[str]) -> tuple[int, bytes, bytes]:
    done = subprocess.run(command, capture_output=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_textures_become_webp_unless_the_original_is_smaller(tmp_path: Path) -> None:
    """The sneaker's JPEG photographs shrink as WebP; the fox's small PNG would grow: it stays."""
    node = shutil.which("node")
    assert node
    pipeline = Pipeline(node, timeout=120, workers=1)
    for name, kept in (("MaterialsVariantsShoe.glb", b"image/webp"), ("Fox.glb", b"image/png")):
        out = tmp_path / name
        # At 1024 px the fox's texture needs no resizing.
        asyncio.run(pipeline.optimise(MODELS / name, out, LADDER[1]))
        published = out.read_bytes()
        assert kept in published, name
        assert (b"EXT_texture_webp" in published) == (kept == b"image/webp"), name


def test_preview_candidates_fit_the_budget_asked(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node
    pipeline = Pipeline(node, timeout=120, workers=1)
    shoe, folder = MODELS / "MaterialsVariantsShoe.glb", tmp_path / "previews"
    folder.mkdir()
    budget = 80_000
    result = asyncio.run(pipeline.optimise(shoe, tmp_path / "out.glb", RUNG, folder, budget))
    assert result.output_bytes > budget
    assert 1 <= len(result.previews) <= 3
    for candidate in result.previews:
        assert candidate.bytes == candidate.file.stat().st_size <= budget
        assert candidate.file.parent == folder
        assert candidate.file.read_bytes()[:4] == b"glTF"
    sizes = [candidate.bytes for candidate in result.previews]
    assert sizes == sorted(sizes, reverse=True), "the least simplified first"
    assert [s["name"] for s in result.steps][-1] == "preview candidates"


def glb_images(glb: Path) -> dict[str, list[Image.Image]]:
    """A GLB's images by the material slots that use them."""
    data = glb.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    gltf = json.loads(data[20 : 20 + length])
    binary = data[20 + length + 8 :]
    images = []
    for image in gltf["images"]:
        view = gltf["bufferViews"][image["bufferView"]]
        start = view.get("byteOffset", 0)
        images.append(Image.open(io.BytesIO(binary[start : start + view["byteLength"]])))
    by_slot: dict[str, list[Image.Image]] = {}
    for material in gltf["materials"]:
        slots = {**material, **material.get("pbrMetallicRoughness", {})}
        for slot, texture in slots.items():
            if slot.endswith("Texture"):
                source = gltf["textures"][texture["index"]]
                index = source.get(
                    "source", source.get("extensions", {}).get("EXT_texture_webp", {}).get("source")
                )
                by_slot.setdefault(slot, []).append(images[index])
    return by_slot


def test_each_map_role_gets_its_own_size(tmp_path: Path) -> None:
    """The shoe's 2048 px maps: colour, normal and the rest each capped by the rung; and the
    "keep" rung publishes the model's own images."""
    node = shutil.which("node")
    assert node
    pipeline = Pipeline(node, timeout=120, workers=1)
    shoe = MODELS / "MaterialsVariantsShoe.glb"
    rung = Rung(colour=1024, normal=512, other=256, quality=80)
    asyncio.run(pipeline.optimise(shoe, tmp_path / "out.glb", rung))
    sizes = {
        slot: {max(image.size) for image in images}
        for slot, images in glb_images(tmp_path / "out.glb").items()
    }
    assert sizes["baseColorTexture"] == {1024}, sizes
    assert sizes["normalTexture"] == {512}, sizes
    assert sizes["metallicRoughnessTexture"] | sizes.get("occlusionTexture", set()) == {256}
    asyncio.run(pipeline.optimise(shoe, tmp_path / "kept.glb", None))
    kept = glb_images(tmp_path / "kept.glb")
    assert {max(i.size) for i in kept["baseColorTexture"]} == {2048}
    assert {i.format for images in kept.values() for i in images} == {"JPEG", "PNG"} & {
        i.format for images in glb_images(shoe).values() for i in images
    }


# Draco-compresses argv[1] into argv[2] with the pipeline's own packages.
DRACO_COMPRESS = """
import { NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { draco } from '@gltf-transform/functions';
import draco3d from 'draco3dgltf';
const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
  'draco3d.encoder': await draco3d.createEncoderModule(),
});
const doc = await io.read(process.argv[1]);
await doc.transform(draco());
await io.write(process.argv[2], doc);
"""


def test_a_draco_compressed_upload_is_decoded_and_recompressed(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node
    compressed = tmp_path / "fox-draco.glb"
    subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            DRACO_COMPRESS,
            str(MODELS / "Fox.glb"),
            str(compressed),
        ],
        cwd=SCRIPT.parent,
        check=True,
        timeout=60,
    )
    assert b"KHR_draco_mesh_compression" in compressed.read_bytes()
    out = tmp_path / "out.glb"
    asyncio.run(Pipeline(node, timeout=60, workers=1).optimise(compressed, out, RUNG))
    published = out.read_bytes()
    assert b"EXT_meshopt_compression" in published
    assert b"KHR_draco_mesh_compression" not in published


def test_a_cancelled_pipeline_leaves_no_process_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    sleeper = tmp_path / "sleep.sh"
    sleeper.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    sleeper.chmod(0o755)
    pipeline = Pipeline(str(sleeper), timeout=60, workers=1)

    async def cancel_midway() -> None:
        running = asyncio.ensure_future(
            pipeline.optimise(tmp_path / "a.glb", tmp_path / "b.glb", RUNG)
        )
        while not pid_file.exists() or not pid_file.read_text().strip():
            await asyncio.sleep(0.05)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(cancel_midway())
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_pipeline_that_overruns_is_stopped(tmp_path: Path) -> None:
    sleeper = tmp_path / "sleep.sh"
    sleeper.write_text("#!/bin/sh\nsleep 30\n")
    sleeper.chmod(0o755)
    pipeline = Pipeline(str(sleeper), timeout=0.5, workers=1)
    with pytest.raises(PipelineFailed, match="longer than"):
        asyncio.run(pipeline.optimise(tmp_path / "a.glb", tmp_path / "b.glb", RUNG))
