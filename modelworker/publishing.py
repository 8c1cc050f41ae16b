"""From an upload to what the storefront shows, all under content-addressed keys: for a model
the optimised GLB, a small preview of a large one, and its poster; for a photo the main image
and its variants."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelworker.pipeline import Pipeline, PipelineFailed
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
    published = PublishedModel(glb_key, poster_key, preview_key, size, preview_size, original_bytes)
    return Published(published, steps)


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
