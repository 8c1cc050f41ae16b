"""One job: the uploaded model unpacked, converted, optimised and published, or the uploaded photo
decoded, scaled and published; its outcome as a result for the catalog. A fault of the file is
an outcome (`invalid`, `too_large`); so is a pipeline that could not finish (`failed`: a crash
or a step out of time would happen again). Anything else (S3 not answering) raises, and the job
is offered again."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from modelworker import archives
from modelworker.pipeline import InvalidUpload, Pipeline, PipelineFailed, UploadTooLarge
from modelworker.publishing import publish_model, publish_photo
from modelworker.settings import Settings
from petshore import modelfiles
from petshore.modeljobs import ModelJob, ModelResult

log = logging.getLogger("petshore.modelworker.jobs")


async def _as_gltf(pipeline: Pipeline, upload: Path, work: Path) -> Path:
    """The upload as a .glb or .gltf the optimiser reads: unpacked, and converted from OBJ."""
    model = upload
    if upload.suffix == ".zip":
        model = await asyncio.to_thread(archives.unpack, upload, work / "unpacked", pipeline.limits)
    if model.suffix.lower() == ".obj":
        converted = work / "converted.glb"
        await pipeline.convert_obj(model, converted)
        return converted
    return model


async def run(s3: Any, settings: Settings, pipeline: Pipeline, job: ModelJob) -> ModelResult:
    refused = {"upload_id": job.upload_id, "sku": job.sku}
    with tempfile.TemporaryDirectory(prefix="petshore-model-") as tmp:
        work = Path(tmp)
        download = work / f"upload{Path(job.key).suffix.lower()}"
        await modelfiles.download(s3, settings.models_bucket, job.key, download)
        try:
            if job.kind == "photo":
                photo = await publish_photo(s3, settings.models_bucket, pipeline, download, work)
                log.info("photo published", extra={**refused, "key": photo.key})
                return ModelResult(**refused, outcome="published", photo=photo)
            model = await _as_gltf(pipeline, download, work)
            published = await publish_model(
                s3,
                settings.models_bucket,
                pipeline,
                model,
                work,
                job.bytes,
                optimise=job.optimise,
            )
        except UploadTooLarge as exc:
            return ModelResult(**refused, outcome="too_large", errors=exc.errors)
        except InvalidUpload as exc:
            return ModelResult(**refused, outcome="invalid", errors=exc.errors)
        except PipelineFailed as exc:
            log.error("pipeline failed", extra={**refused, "error": str(exc)})
            return ModelResult(**refused, outcome="failed", errors=[str(exc)])
    model_files = published.model
    log.info(
        "model published",
        extra={
            **refused,
            "key": model_files.glb_key,
            "poster": model_files.poster_key,
            "preview": model_files.preview_key,
            "bytes": model_files.bytes,
            "preview_bytes": model_files.preview_bytes,
            "original_bytes": job.bytes,
            "steps": published.steps,
        },
    )
    return ModelResult(**refused, outcome="published", model=model_files, steps=published.steps)
