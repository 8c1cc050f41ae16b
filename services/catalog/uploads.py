"""Uploads of 3D models and of photos (petshore.modeljobs.Kind), the same way: the file goes
from the client straight to S3 with a presigned PUT, or, for a file larger than one part, in
parts with presigned part URLs; `complete` joins the parts, checks the file is all there, and
sends a job to the model worker, which validates, processes and publishes it and answers on the
results queue (`record`). A file that fails leaves the product's current model, or its photos,
as they were."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from petshore.contract import PHOTO_UPLOAD_MAX_BYTES
from petshore.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    NotFound,
    TooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from petshore.modeljobs import Kind, ModelJob, ModelResult
from petshore.queues import ModelQueues
from petshore.timestamps import utcnow
from services.catalog import rules, store, uploadfiles, views
from services.catalog.models import ModelUpload
from services.catalog.publishing import retire
from services.catalog.schemas import ImageUploadCreate, UploadCreate, UploadedPart
from services.catalog.settings import Settings

log = logging.getLogger("petshore.catalog.uploads")
# How often a waiting `complete` looks for its upload's outcome.
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class ModelStores:
    """Where uploads go and how the model worker is reached."""

    settings: Settings
    s3: Any
    queues: ModelQueues


def kind_of(upload: ModelUpload) -> Kind:
    return "photo" if upload.kind == "photo" else "model"


def max_bytes(settings: Settings, kind: Kind) -> int:
    return settings.model_upload_max_bytes if kind == "model" else PHOTO_UPLOAD_MAX_BYTES


async def start(
    stores: ModelStores, sku: str, body: UploadCreate, kind: Kind
) -> views.UploadTicket:
    settings, s3 = stores.settings, stores.s3
    await store.get_product(sku)
    noun, limit = rules.NOUNS[kind], max_bytes(settings, kind)
    if body.bytes > limit:
        raise TooLarge(f"{noun} files are limited to {limit} bytes", {"limit": limit})
    accepted = rules.ACCEPTED_TYPES[kind]
    if body.content_type not in accepted:
        raise UnsupportedMediaType(
            f"{body.content_type} is not a {noun} type this shop takes",
            {"accepted": sorted(accepted)},
        )
    if kind == "photo" and await store.image_count(sku) >= rules.MAX_IMAGES:
        raise Conflict(f"a product has at most {rules.MAX_IMAGES} photos; delete one first")
    upload_id = rules.new_upload_id()
    bucket, key = settings.models_bucket, rules.upload_key(upload_id, kind, body.content_type)
    part_bytes, parts = rules.part_plan(body.bytes, settings.model_upload_part_bytes)
    multipart_id = None
    if parts > 1:
        multipart_id = await uploadfiles.start_multipart(s3, bucket, key, body.content_type)
    await store.create_upload(
        upload_id=upload_id,
        sku=sku,
        kind=kind,
        alt=body.alt if isinstance(body, ImageUploadCreate) else None,
        filename=body.filename,
        content_type=body.content_type,
        size=body.bytes,
        key=key,
        multipart_id=multipart_id,
    )
    expires = rules.UPLOAD_URL_SECONDS
    ticket: views.UploadTicket = {
        "upload_id": upload_id,
        "put_url": await uploadfiles.presign_put(s3, bucket, key, body.content_type, expires),
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
                    "put_url": await uploadfiles.presign_part(
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
        await uploadfiles.finish_multipart(s3, bucket, upload.key, upload.multipart_id, ordered)
    except uploadfiles.PartsRefused as exc:
        raise InvalidRequest(
            f"the parts could not be joined: {exc}", {"fields": ["parts"]}
        ) from exc


async def complete(
    stores: ModelStores,
    sku: str,
    upload_id: str,
    kind: Kind,
    parts: list[UploadedPart] | None = None,
    *,
    wait: bool = True,
) -> tuple[ModelUpload, dict[str, Any] | None]:
    """The upload, and the product once its model or photo is published (None when not
    waiting). A retried `complete` never sends a second job while the first can still
    finish."""
    upload = await store.get_upload(sku, upload_id, kind)
    if upload.status == "done":
        return upload, await store.get_product(sku)
    if upload.status != "processing" or rules.job_given_up(upload.sent_at, utcnow()):
        await _send_job(stores, sku, upload, parts)
    if not wait:
        return await store.get_upload(sku, upload_id, kind), None
    upload = await _outcome(sku, upload_id, kind, stores.settings.model_wait_seconds)
    return upload, await store.get_product(sku)


async def _send_job(
    stores: ModelStores, sku: str, upload: ModelUpload, parts: list[UploadedPart] | None
) -> None:
    s3, bucket = stores.s3, stores.settings.models_bucket
    await _join_parts(s3, bucket, upload, parts)
    size = await uploadfiles.uploaded_size(s3, bucket, upload.key)
    if size is None:
        raise InvalidRequest("nothing was uploaded to put_url yet", {"upload_id": upload.id})
    if upload.multipart_id and not parts:
        # The file came in one PUT: the parts offered beside it will never be joined.
        await uploadfiles.abort_multipart(s3, bucket, upload.key, upload.multipart_id)
    kind = kind_of(upload)
    limit = max_bytes(stores.settings, kind)
    if size > limit:
        raise TooLarge(f"{rules.NOUNS[kind]} files are limited to {limit} bytes")
    if size != upload.declared_bytes:
        raise InvalidRequest(
            f"the upload has {size} bytes, not the {upload.declared_bytes} announced",
            {"fields": ["bytes"]},
        )
    await send_job(stores, ModelJob(upload.id, sku, upload.key, size, kind=kind))


async def send_job(stores: ModelStores, job: ModelJob) -> None:
    """Marked as sent before it is: a result that comes back at once finds it processing."""
    await store.start_processing(job.upload_id)
    try:
        queues = stores.queues
        await queues.sqs.send_message(QueueUrl=queues.jobs_url, MessageBody=job.to_message())
    except Exception as exc:
        await store.finish_upload(job.upload_id, "failed", "failed", [f"not queued: {exc}"])
        raise Unavailable("the model worker cannot be reached; try again") from exc


async def _outcome(sku: str, upload_id: str, kind: Kind, seconds: float) -> ModelUpload:
    """The upload once the worker has answered for it; its failure as the API says it."""
    try:
        async with asyncio.timeout(seconds):
            while (upload := await store.get_upload(sku, upload_id, kind)).status == "processing":
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError as exc:
        raise Unavailable(
            f"the {rules.NOUNS[kind]} is still being processed; its status says when it is done",
            {"upload_id": upload_id},
        ) from exc
    if upload.status == "failed":
        raise refusal(upload)
    return upload


# Why the worker refused a file, as the client is told.
INVALID = {
    "model": "the file is not a valid 3D model",
    "photo": "the file is not a decodable JPEG, PNG, WebP or AVIF image",
}


def refusal(upload: ModelUpload) -> ApiError:
    """What the client is told when the worker would not, or could not, take a file."""
    errors = list(upload.errors or [])
    kind = kind_of(upload)
    noun = rules.NOUNS[kind]
    if upload.reason == "too_large":
        return TooLarge(f"the {noun} is larger than this shop takes", {"errors": errors})
    if upload.reason == "invalid":
        return InvalidRequest(INVALID[kind], {"errors": errors})
    return Unavailable(f"the {noun} could not be processed: {upload.error}")


async def record(stores: ModelStores, result: ModelResult) -> None:
    """The worker's answer, kept: the product shows its new model or its new photo, or the
    upload says why not. A result heard twice changes nothing the second time."""
    upload = await store.find_upload(result.upload_id)
    if upload is None or upload.status == "done":
        return
    if result.photo is not None:
        await store.add_image(result.sku, upload.id, result.photo)
        return
    if result.model is None:
        await store.finish_upload(
            upload.id, "failed", result.outcome, result.errors or [result.outcome]
        )
        return
    try:
        replaced = store.model_keys(await store.get_product(result.sku))
    except NotFound:
        return
    row = await store.update_product(result.sku, store.model_columns(result.model))
    await store.finish_upload(upload.id, "done", steps=result.steps)
    bucket = stores.settings.models_bucket
    await retire(stores.s3, bucket, [k for k in replaced if k not in store.model_keys(row)])
