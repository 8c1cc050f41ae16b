"""The catalog's rules as plain functions: paging cursors, query parameters, upload plans,
the order of a product's photos."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from petshore import paging
from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    SKU_PATTERN,
    UPLOADS_KEY_PREFIX,
)
from petshore.errors import InvalidRequest
from petshore.modeljobs import Kind

MAX_QUERY_LENGTH = 200


PRODUCT_STATUSES = ("active", "discontinued")


def product_status(raw: str | None) -> str | None:
    """A status to list, or None for every product."""
    if raw is None:
        return None
    if raw not in PRODUCT_STATUSES:
        raise InvalidRequest(
            f"status is one of {', '.join(PRODUCT_STATUSES)}", {"fields": ["status"]}
        )
    return raw


def encode_cursor(last_sku: str) -> str:
    return paging.encode_cursor({"after": last_sku})


def decode_cursor(cursor: str) -> str:
    """The SKU a page starts after: paging is keyset on the SKU."""
    after = paging.decode_cursor(cursor, ("after",))["after"]
    if not SKU_PATTERN.match(after):
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]})
    return after


def category_name(slug: str) -> str:
    """The display name given to a category first named by a product's slug."""
    return slug.replace("-", " ").strip().capitalize()


# The upload types of the contract, and the name the upload is kept under while processed.
# A zip holds a .glb, a .gltf with its files, or an .obj with its .mtl and textures.
ACCEPTED_MODEL_TYPES = {
    "model/gltf-binary": ".glb",
    "model/gltf+json": ".gltf",
    "model/obj": ".obj",
    "application/zip": ".zip",
}
# The photo types of the contract. The model worker judges a photo by what it decodes as: the
# declared type only turns away, at the start, what no photo could be.
ACCEPTED_IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/avif": ".avif",
}
ACCEPTED_TYPES: dict[Kind, dict[str, str]] = {
    "model": ACCEPTED_MODEL_TYPES,
    "photo": ACCEPTED_IMAGE_TYPES,
}
# What each kind is called in answers.
NOUNS: dict[Kind, str] = {"model": "3D model", "photo": "photo"}
UPLOAD_URL_SECONDS = 3600
# A product's photos at most: a gallery, not an album (and image_order's longest list).
MAX_IMAGES = 24


# S3 takes at most 10,000 parts, each at least 5 MiB but the last.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000


def part_plan(size: int, part_bytes: int) -> tuple[int, int]:
    """The part size and number of parts that carry `size` bytes in parts of `part_bytes`
    (larger parts if that would make too many); one part means a single PUT is enough."""
    part_bytes = max(part_bytes, -(-size // MAX_PARTS))
    return part_bytes, max(1, -(-size // part_bytes))


def ordered_parts(parts: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """The parts a client names, in the ascending order S3 wants; each number once."""
    ordered = sorted(parts)
    numbers = [n for n, _ in ordered]
    if len(set(numbers)) != len(numbers):
        raise InvalidRequest("each part_number may be named once", {"fields": ["parts"]})
    return ordered


UPLOAD_ID_PATTERN = re.compile(r"^up_[A-Za-z0-9_-]{22}$")


def new_upload_id() -> str:
    return "up_" + secrets.token_urlsafe(16)


def is_upload_id(value: str) -> bool:
    return bool(UPLOAD_ID_PATTERN.match(value))


def upload_key(upload_id: str, kind: Kind, content_type: str) -> str:
    return f"{UPLOADS_KEY_PREFIX}{upload_id}{ACCEPTED_TYPES[kind][content_type]}"


IMAGE_ID_PATTERN = re.compile(r"^im_[A-Za-z0-9_-]{22}$")


def new_image_id() -> str:
    return "im_" + secrets.token_urlsafe(16)


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID_PATTERN.match(value))


def check_image_order(current: list[str], order: list[str]) -> None:
    """`order` must name each of the product's photos (`current`) once, and nothing else."""
    if len(order) != len(set(order)) or set(order) != set(current):
        raise InvalidRequest(
            "image_order must name each of the product's photos once, and no other",
            {"fields": ["image_order"], "image_ids": current},
        )


def job_given_up(sent_at: datetime | None, now: datetime) -> bool:
    """Whether a job sent at `sent_at` can no longer be with the model worker: every offer SQS
    makes of it (MODEL_JOB_ATTEMPTS, each for MODEL_JOB_VISIBILITY_SECONDS) is over."""
    if sent_at is None:
        return True
    alive = timedelta(seconds=MODEL_JOB_ATTEMPTS * MODEL_JOB_VISIBILITY_SECONDS)
    return now - sent_at > alive


def prefers_async(prefer: list[str]) -> bool:
    """Whether a `Prefer` header (RFC 7240) asks for `respond-async`."""
    return any(
        token.split(";", 1)[0].strip().lower() == "respond-async"
        for header in prefer
        for token in header.split(",")
    )
