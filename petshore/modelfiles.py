"""The products' published files in S3, 3D models under MODELS_KEY_PREFIX and photos under
MEDIA_KEY_PREFIX: content-addressed, immutable, retired for Glacier when no product shows them
any more. The model worker publishes them; the catalog retires and reinstates them."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from petshore.contract import (
    MODEL_CACHE_CONTROL,
    MODELS_KEY_PREFIX,
    PUBLISHED_KEY_PREFIXES,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    UPLOAD_CORS_EXPOSED,
    UPLOAD_CORS_MAX_AGE,
    UPLOAD_CORS_METHODS,
)

CONTENT_TYPES = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    # iOS Quick Look opens a USDZ served as its IANA type, not as a zip.
    ".usdz": "model/vnd.usdz+zip",
    ".webp": "image/webp",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    # Not in every Python's mimetypes table.
    ".avif": "image/avif",
}
_CHUNK = 1024 * 1024
# Storage classes whose objects cannot be read without a restore.
ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")


def content_type_for(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def content_key(path: Path, prefix: str = MODELS_KEY_PREFIX) -> str:
    """`<prefix><sha256>.<ext>`: the same bytes always get the same key, so files never change
    under a URL and can be cached for a year."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return f"{prefix}{digest.hexdigest()}{path.suffix.lower()}"


async def publish(
    s3: Any, bucket: str, path: Path, prefix: str = MODELS_KEY_PREFIX
) -> tuple[str, int]:
    """Upload `path` under its content key below `prefix` unless it is there already; its
    key and size.
    A file that is there but was retired (tagged for Glacier Instant Retrieval, or moved
    there) is shown again: brought back to the Standard class, or uploaded anew if it sits in
    a class that cannot be read at once."""
    key = content_key(path, prefix)
    size = path.stat().st_size
    head = await head_or_none(s3, bucket, key)
    if head is not None and head.get("StorageClass") not in ARCHIVED:
        if is_retired(head):
            await set_retired(s3, bucket, [key], discontinued=False)
    else:
        with path.open("rb") as body:
            await s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type_for(key),
                CacheControl=MODEL_CACHE_CONTROL,
            )
    return key, size


def is_retired(head: dict[str, Any]) -> bool:
    """Retired by set_retired, or already moved out of the Standard class."""
    retired = head.get("Metadata", {}).get("retired") == "yes"
    return retired or head.get("StorageClass", "STANDARD") != "STANDARD"


async def set_retired(s3: Any, bucket: str, keys: list[str], discontinued: bool) -> None:
    """Retire files for the bucket's lifecycle rule, or bring them back. Both rewrite each
    file onto itself (a copy in place): S3's lifecycle counts an object's age from when it
    was written, so a retired file must be new to reach Glacier 30 days after it was
    retired rather than after it was first published; and one brought back returns to the
    Standard class, with its tag gone."""
    for key in keys:
        head = await s3.head_object(Bucket=bucket, Key=key)
        retired = "yes" if discontinued else "no"
        await s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            # New metadata is what lets S3 copy an object onto itself.
            MetadataDirective="REPLACE",
            Metadata={"retired": retired},
            ContentType=head.get("ContentType") or content_type_for(key),
            CacheControl=MODEL_CACHE_CONTROL,
            StorageClass="STANDARD",
            TaggingDirective="REPLACE",
            Tagging=f"{RETIRED_TAG_KEY}={RETIRED_TAG_VALUE}" if discontinued else "",
        )


async def head_or_none(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The object's metadata, or None when there is no such object."""
    try:
        return dict(await s3.head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


async def download(s3: Any, bucket: str, key: str, target: Path) -> None:
    """Stream an object to a file: a 200 MB model never sits in memory whole."""
    obj = await s3.get_object(Bucket=bucket, Key=key)
    body = obj["Body"]
    try:
        with target.open("wb") as f:
            while chunk := await body.read(_CHUNK):
                f.write(chunk)
    finally:
        body.close()


async def ensure_bucket(s3: Any, bucket: str) -> None:
    """For emulators and local runs; in AWS the stack creates the bucket (templates/storage.py)."""
    try:
        await s3.head_bucket(Bucket=bucket)
    except ClientError:
        await s3.create_bucket(Bucket=bucket)
    await s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": list(UPLOAD_CORS_METHODS),
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": list(UPLOAD_CORS_EXPOSED),
                    "MaxAgeSeconds": UPLOAD_CORS_MAX_AGE,
                }
            ]
        },
    )
    # The gateway reads published files unsigned, as CloudFront reads them on AWS with its
    # origin access control (templates/storage.py): here, anyone may read those prefixes,
    # which are public through CloudFront anyway. Uploads and the rest stay private.
    await s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(published_read_policy(bucket)))


def published_read_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublishedFilesForTheGateway",
                "Effect": "Allow",
                "Principal": "*",
                # moto asks for s3:HeadObject on a HEAD, where AWS asks for s3:GetObject.
                "Action": ["s3:GetObject", "s3:HeadObject"],
                "Resource": [
                    f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in PUBLISHED_KEY_PREFIXES
                ],
            }
        ],
    }
