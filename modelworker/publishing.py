"""From an upload to what the storefront shows, all under content-addressed keys: for a model
the optimised GLB, a small preview of a large one, its poster, and its AR files (a GLB for
Android's Scene Viewer, a USDZ for iOS Quick Look); for a photo the main image and its
variants."""

from __future__ import annotations

import importlib.util
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelworker.pipeline import InvalidUpload, Pipeline, PipelineFailed
from modelworker.search import choose
from petshore import modelfiles
from petshore.contract import MEDIA_KEY_PREFIX
from petshore.modeljobs import PhotoVariant, PublishedModel, PublishedPhoto

log = logging.getLogger("petshore.modelworker.publishing")


@dataclass(frozen=True)
class Published:
    model: PublishedModel
    steps: list[dict[str, Any]]


async def publish_model(
    s3: Any,
    bucket: str,
    pipeline: Pipeline,
    model: Path,
    work: Path,
    original_bytes: int,
    *,
    optimise: bool = True,
) -> Published:
    """Validate, optimise and publish `model` (.glb or .gltf), its preview when it is large,
    then its poster. Raises the pipeline's InvalidUpload/PipelineFailed before anything is
    published."""
    best, steps, preview_key, preview_size = model, [], None, None
    if optimise:
        search = work / "search"
        search.mkdir()
        choice = await choose(pipeline, model, search)
        steps = choice.steps
        # A GLB that optimisation would not shrink is published as it came.
        keep = model.suffix == ".glb" and choice.model.stat().st_size >= model.stat().st_size
        best = model if keep else choice.model
        if choice.preview:
            preview_key, preview_size = await modelfiles.publish(s3, bucket, choice.preview)
    glb_key, size = await modelfiles.publish(s3, bucket, best)
    poster_key = None
    poster = work / "poster.webp"
    try:
        await pipeline.render_poster(best, poster)
        poster_key, _ = await modelfiles.publish(s3, bucket, poster)
    except PipelineFailed as exc:
        # The model is what shoppers came for: publish it, and say why the poster is missing.
        log.warning("no poster for the model", extra={"key": glb_key, "error": str(exc)})
    ar_key, usdz_key, ar_steps = await publish_ar(s3, bucket, pipeline, best, work)
    published = PublishedModel(
        glb_key, poster_key, preview_key, size, preview_size, original_bytes, ar_key, usdz_key
    )
    return Published(published, [*steps, *ar_steps])


async def publish_ar(
    s3: Any, bucket: str, pipeline: Pipeline, model: Path, work: Path
) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """The published `model`'s AR files, published: Scene Viewer's GLB, and from it Quick
    Look's USDZ; their keys (None for one that could not be made) and their steps. AR is a
    nicety: the model is published without them, and each step says why it is missing."""
    ar, usdz = work / "ar.glb", work / "ar.usdz"
    ar_key = usdz_key = None
    started = time.monotonic()
    found: dict[str, Any] = {"bytes_out": None}
    extensions: list[str] = []
    try:
        made = await pipeline.make_ar(model, ar)
        ar_key, size = await modelfiles.publish(s3, bucket, ar)
        extensions = made["extensions"]
        found = {"bytes_out": size, "extensions": extensions, "textures": made["textures"]}
    except (InvalidUpload, PipelineFailed) as exc:
        found["error"] = str(exc)
    ar_step = {"name": "ar glb", "ms": _ms(started), "bytes_in": model.stat().st_size, **found}
    started = time.monotonic()
    found = {"bytes_out": None}
    if ar_key is None:
        found["error"] = "there is no AR GLB to make it from"
    elif importlib.util.find_spec("pxr") is None:
        # usd-core with Apple's checker has wheels for x86_64 only (pyproject.toml).
        found["error"] = (
            f"usd-core is not installed on {platform.machine()}: USDZ is made on x86_64"
        )
    elif "KHR_texture_transform" in extensions:
        found["error"] = (
            "the model's texture transforms (KHR_texture_transform) are not carried into USDZ"
        )
    else:
        try:
            made = await pipeline.make_usdz(ar, usdz)
            usdz_key, size = await modelfiles.publish(s3, bucket, usdz)
            warnings = made["checker"]["warnings"]
            found = {"bytes_out": size, "textures": made["textures"], "checker_warnings": warnings}
        except (InvalidUpload, PipelineFailed) as exc:
            found["error"] = str(exc)
    in_bytes = ar.stat().st_size if ar_key else None
    usdz_step = {"name": "usdz", "ms": _ms(started), "bytes_in": in_bytes, **found}
    for step in (ar_step, usdz_step):
        if "error" in step:
            log.warning("no AR file", extra={"step": step["name"], "error": step["error"]})
    return ar_key, usdz_key, [ar_step, usdz_step]


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


async def publish_photo(
    s3: Any, bucket: str, pipeline: Pipeline, photo: Path, work: Path
) -> PublishedPhoto:
    """Decode, turn upright, strip and scale `photo`, then publish the main image and its
    variants. Raises the pipeline's InvalidUpload/PipelineFailed before anything is published."""
    out = work / "photo"
    out.mkdir()
    made = await pipeline.process_photo(photo, out)
    variants = []
    for variant in made["variants"]:
        key, size = await modelfiles.publish(s3, bucket, out / variant["file"], MEDIA_KEY_PREFIX)
        variants.append(
            PhotoVariant(key, variant["format"], variant["width"], variant["height"], size)
        )
    main = made["main"]
    key, size = await modelfiles.publish(s3, bucket, out / main["file"], MEDIA_KEY_PREFIX)
    return PublishedPhoto(key, main["width"], main["height"], size, variants)
