"""From a model file to what the storefront shows: the optimised GLB, a small preview of a
large one, and its poster, all under content-addressed keys. Shared by uploads and the demo
catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.catalog import modelfiles, store
from services.catalog.pipeline import Pipeline, PipelineFailed

log = logging.getLogger("petshore.catalog.publishing")


@dataclass(frozen=True)
class Published:
    glb_key: str
    poster_key: str | None
    size: int
    preview_key: str | None = None
    preview_size: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def columns(self, original_size: int) -> dict[str, Any]:
        """The product's model columns (store.MODEL_COLUMNS) for this model."""
        return {
            "model_glb_key": self.glb_key,
            "model_poster_key": self.poster_key,
            "model_preview_key": self.preview_key,
            "model_bytes": self.size,
            "model_preview_bytes": self.preview_size,
            "model_original_bytes": original_size,
        }


async def publish_model(
    s3: Any, bucket: str, pipeline: Pipeline, model: Path, work: Path, *, optimise: bool = True
) -> Published:
    """Validate, optimise and publish `model` (.glb or .gltf), its preview when it is large,
    then its poster. Raises the pipeline's InvalidModel/PipelineFailed before anything is
    published."""
    best, steps, preview_key, preview_size = model, [], None, None
    if optimise:
        target, preview = work / "optimised.glb", work / "preview.glb"
        result = await pipeline.optimise(model, target, preview)
        steps = result.steps
        # A GLB that optimisation would not shrink is published as it came.
        keep = model.suffix == ".glb" and result.output_bytes >= result.input_bytes
        best = model if keep else target
        if result.preview_bytes is not None:
            preview_key, preview_size = await modelfiles.publish(s3, bucket, preview)
    glb_key, size = await modelfiles.publish(s3, bucket, best)
    poster_key = None
    poster = work / "poster.webp"
    try:
        await pipeline.render_poster(best, poster)
        poster_key, _ = await modelfiles.publish(s3, bucket, poster)
    except PipelineFailed as exc:
        # The model is what shoppers came for: publish it, and say why the poster is missing.
        log.warning("no poster for the model", extra={"key": glb_key, "error": str(exc)})
    return Published(glb_key, poster_key, size, preview_key, preview_size, steps)


async def retire(s3: Any, bucket: str, keys: list[str]) -> None:
    """Retire those of `keys` that no active product shows any more (a discontinued
    product's, a replaced model's). They stay readable: a page opened before the change may
    still ask for them, the lifecycle rule moves them 30 days later, and even then to Glacier
    Instant Retrieval, which CloudFront can still read."""
    if keys:
        shown = await store.keys_in_use(keys)
        await modelfiles.set_discontinued(s3, bucket, [k for k in keys if k not in shown], True)


async def reinstate(s3: Any, bucket: str, keys: list[str]) -> None:
    """A re-listed product's files, back to the Standard class without their tag (those not
    retired are left as they are)."""
    for key in keys:
        head = await s3.head_object(Bucket=bucket, Key=key)
        if modelfiles.is_retired(head):
            await modelfiles.set_discontinued(s3, bucket, [key], discontinued=False)
