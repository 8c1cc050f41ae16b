"""3D model uploads: the file goes from the client straight to S3 with a presigned PUT, or,
for a file larger than one part, in parts with presigned part URLs; `complete` joins the
parts, streams the file to a temporary file, unpacks a zip, converts OBJ, has the pipeline
validate and optimise it, and publishes the result under a content-addressed key. A file
that fails leaves the product's current model as it was."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from petshore.errors import (
    ApiError,
    InvalidRequest,
    TooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from services.catalog import archives, modelfiles, rules, store, views
from services.catalog.models import ModelUpload
from services.catalog.pipeline import InvalidModel, ModelTooLarge, Pipeline, PipelineFailed
from services.catalog.publishing import publish_model, retire
from services.catalog.schemas import UploadCreate, UploadedPart
from services.catalog.settings import Settings

log = logging.getLogger("petshore.catalog.uploads")


async def start(s3: Any, settings: Settings, sku: str, body: UploadCreate) -> views.UploadTicket:
    await store.get_product(sku)
    if body.bytes > settings.model_upload_max_bytes:
        raise TooLarge(
            f"model files are limited to {settings.model_upload_max_bytes} bytes",
            {"limit": settings.model_upload_max_bytes},
        )
    if body.content_type not in rules.ACCEPTED_MODEL_TYPES:
        raise UnsupportedMediaType(
            f"{body.content_type} is not a 3D model type this shop takes",
            {"accepted": sorted(rules.ACCEPTED_MODEL_TYPES)},
        )
    upload_id = rules.new_upload_id()
    bucket, key = settings.models_bucket, rules.upload_key(upload_id, body.content_type)
    part_bytes, parts = rules.part_plan(body.bytes, settings.model_upload_part_bytes)
    multipart_id = None
    if parts > 1:
        multipart_id = await modelfiles.start_multipart(s3, bucket, key, body.content_type)
    await store.create_upload(
        upload_id=upload_id,
        sku=sku,
        filename=body.filename,
        content_type=body.content_type,
        size=body.bytes,
        key=key,
        multipart_id=multipart_id,
    )
    expires = rules.UPLOAD_URL_SECONDS
    ticket: views.UploadTicket = {
        "upload_id": upload_id,
        "put_url": await modelfiles.presign_put(s3, bucket, key, body.content_type, expires),
        "headers": {"Content-Type": body.content_type},
        "expires_in": expires,
    }
    if multipart_id:
        # The single PUT above still works (S3 takes up to 5 GB in one); parts let a client
        # retry a piece instead of the whole file, and send several at once.
        ticket["multipart"] = {
            "part_bytes": part_bytes,
            "parts": [
                {
                    "part_number": n,
                    "put_url": await modelfiles.presign_part(
                        s3, bucket, key, multipart_id, n, expires
                    ),
                }
                for n in range(1, parts + 1)
            ],
        }
    return ticket


async def _join_parts(
    s3: Any, bucket: str, upload: ModelUpload, parts: list[UploadedPart] | None
) -> None:
    """Join a multipart upload's parts when the client names them."""
    if not parts:
        return
    if not upload.multipart_id:
        raise InvalidRequest("this upload was not offered in parts", {"fields": ["parts"]})
    ordered = rules.ordered_parts((p.part_number, p.etag) for p in parts)
    try:
        await modelfiles.finish_multipart(s3, bucket, upload.key, upload.multipart_id, ordered)
    except modelfiles.PartsRefused as exc:
        raise InvalidRequest(
            f"the parts could not be joined: {exc}", {"fields": ["parts"]}
        ) from exc


async def _as_gltf(pipeline: Pipeline, upload: Path, work: Path) -> Path:
    """The upload as a .glb or .gltf the optimiser reads: unpacked, and converted from OBJ."""
    model = upload
    if upload.suffix == ".zip":
        model = await asyncio.to_thread(archives.unpack, upload, work / "unpacked")
    if model.suffix.lower() == ".obj":
        converted = work / "converted.glb"
        await pipeline.convert_obj(model, converted)
        return converted
    return model


async def complete(
    s3: Any,
    settings: Settings,
    pipeline: Pipeline,
    sku: str,
    upload_id: str,
    parts: list[UploadedPart] | None = None,
) -> dict[str, Any]:
    upload = await store.get_upload(sku, upload_id)
    if upload.status == "done":
        return await store.get_product(sku)  # a retried complete: already published
    bucket = settings.models_bucket
    await _join_parts(s3, bucket, upload, parts)
    size = await modelfiles.uploaded_size(s3, bucket, upload.key)
    if size is None:
        raise InvalidRequest("nothing was uploaded to put_url yet", {"upload_id": upload_id})
    if upload.multipart_id and not parts:
        # The file came in one PUT: the parts offered beside it will never be joined.
        await modelfiles.abort_multipart(s3, bucket, upload.key, upload.multipart_id)
    if size > settings.model_upload_max_bytes:
        raise TooLarge(f"model files are limited to {settings.model_upload_max_bytes} bytes")
    if size != upload.declared_bytes:
        raise InvalidRequest(
            f"the upload has {size} bytes, not the {upload.declared_bytes} announced",
            {"fields": ["bytes"]},
        )
    # Shielded: a client that hangs up, or a CDN that stops waiting, does not stop the work;
    # its outcome lands on the product and on the upload (GET …/model-uploads/{upload_id}).
    work = asyncio.ensure_future(_process(s3, settings, pipeline, sku, upload, size))
    work.add_done_callback(_seen)
    return await asyncio.shield(work)


def _refusal(exc: InvalidModel | PipelineFailed, upload_id: str) -> ApiError:
    """What the client is told when the pipeline would not, or could not, take a model."""
    if isinstance(exc, ModelTooLarge):
        return TooLarge("the model is larger than this shop takes", {"errors": exc.errors})
    if isinstance(exc, InvalidModel):
        return InvalidRequest("the file is not a valid 3D model", {"errors": exc.errors})
    log.error("model pipeline failed", extra={"upload_id": upload_id, "error": str(exc)})
    return Unavailable(f"the model could not be processed: {exc}")


def _seen(task: asyncio.Task[Any]) -> None:
    """_process records its own outcome; a failure nobody awaited any more is not an error."""
    if not task.cancelled():
        task.exception()


async def _process(
    s3: Any, settings: Settings, pipeline: Pipeline, sku: str, upload: ModelUpload, size: int
) -> dict[str, Any]:
    """Download, convert, optimise and publish the upload; the product with its new model."""
    upload_id, bucket = upload.id, settings.models_bucket
    with tempfile.TemporaryDirectory(prefix="petshore-model-") as tmp:
        work = Path(tmp)
        download = work / f"upload{rules.ACCEPTED_MODEL_TYPES[upload.content_type]}"
        await modelfiles.download(s3, bucket, upload.key, download)
        try:
            model = await _as_gltf(pipeline, download, work)
            published = await publish_model(s3, bucket, pipeline, model, work)
        except (InvalidRequest, TooLarge) as exc:  # a hostile archive, said in the API's words
            await store.finish_upload(upload_id, "failed", str(exc))
            raise
        except (InvalidModel, PipelineFailed) as exc:
            await store.finish_upload(upload_id, "failed", str(exc))
            raise _refusal(exc, upload_id) from exc
    log.info(
        "model published",
        extra={
            "sku": sku,
            "key": published.glb_key,
            "poster": published.poster_key,
            "preview": published.preview_key,
            "bytes": published.size,
            "preview_bytes": published.preview_size,
            "original_bytes": size,
            "steps": published.steps,
        },
    )
    replaced = store.model_keys(await store.get_product(sku))
    row = await store.update_product(sku, published.columns(size))
    await store.finish_upload(upload_id, "done")
    await retire(s3, bucket, [k for k in replaced if k not in store.model_keys(row)])
    return row
