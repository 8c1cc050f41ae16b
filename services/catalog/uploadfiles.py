"""Uploads to the models bucket: presigned PUTs, multipart uploads and their parts."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from petshore.modelfiles import head_or_none


async def presign_put(s3: Any, bucket: str, key: str, content_type: str, expires: int) -> str:
    return str(
        await s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires,
        )
    )


async def start_multipart(s3: Any, bucket: str, key: str, content_type: str) -> str:
    """A multipart upload to `key`; its S3 upload id."""
    started = await s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
    return str(started["UploadId"])


async def presign_part(
    s3: Any, bucket: str, key: str, multipart_id: str, part_number: int, expires: int
) -> str:
    return str(
        await s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": key,
                "UploadId": multipart_id,
                "PartNumber": part_number,
            },
            ExpiresIn=expires,
        )
    )


class PartsRefused(Exception):
    """S3 would not join the parts (a wrong ETag, a missing or too small part)."""


async def finish_multipart(
    s3: Any, bucket: str, key: str, multipart_id: str, parts: list[tuple[int, str]]
) -> None:
    """Join the uploaded parts into `key`. A multipart upload S3 no longer knows (joined by an
    earlier call, or let go) is not an error here: whether `key` holds a file is checked next."""
    try:
        await s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=multipart_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "NoSuchUpload":
            return
        if error.get("Code") in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
            raise PartsRefused(error.get("Message") or error["Code"]) from exc
        raise


async def abort_multipart(s3: Any, bucket: str, key: str, multipart_id: str) -> None:
    """Let go of parts nobody will join; the bucket's lifecycle rule would, a week later."""
    try:
        await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=multipart_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise


async def uploaded_size(s3: Any, bucket: str, key: str) -> int | None:
    """The size of an uploaded file, or None when nothing was uploaded."""
    head = await head_or_none(s3, bucket, key)
    return None if head is None else int(head["ContentLength"])
