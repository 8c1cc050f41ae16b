"""The catalog's answers: what each looks like (for the OpenAPI document) and how it is made
from what the store returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from petshore.timestamps import rfc3339
from services.catalog import rules


class Model3D(TypedDict):
    glb_url: str
    poster_url: str | None
    bytes: int
    original_bytes: int
    # An extension of the contract: a small model to show while glb_url loads.
    preview_url: str | None
    preview_bytes: int | None
    # Extensions of the contract, for AR: a plain glTF 2.0 GLB for Android's Scene Viewer and
    # a USDZ for iOS Quick Look; null when the model has none (docs/api.md, AR files).
    ar_url: str | None
    ios_url: str | None


class ImageVariant(TypedDict):
    url: str
    format: str
    width: int
    # An extension of the contract: with the width, what a page needs to reserve its box.
    height: int


class Image(TypedDict):
    image_id: str
    url: str
    width: int
    height: int
    alt: str
    variants: list[ImageVariant]


class Option(TypedDict):
    name: str
    values: list[str]


Status = Literal["active", "discontinued"]


class Variant(TypedDict):
    sku: str
    options: dict[str, str]
    price_cents: int
    status: Status
    material_variant: str | None


class Product(TypedDict):
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    currency: str
    status: Status
    model: Model3D | None
    images: list[Image]
    # Extensions of the contract: a product's choices, each variant its own SKU; empty for
    # a product sold as one SKU.
    options: list[Option]
    variants: list[Variant]
    # Asked by a variant's SKU: the product it is a variant of, and the choice it is. The
    # answer is then that variant's: its SKU, its name, price and status.
    variant_of: str | None
    selected_options: dict[str, str] | None


class ProductPage(TypedDict):
    items: list[Product]
    next_cursor: str | None


class Category(TypedDict):
    slug: str
    name: str
    count: int


class Categories(TypedDict):
    items: list[Category]


class UploadPart(TypedDict):
    part_number: int
    put_url: str


class Multipart(TypedDict):
    part_bytes: int
    parts: list[UploadPart]


class UploadTicket(TypedDict):
    upload_id: str
    put_url: str
    headers: dict[str, str]
    expires_in: int
    multipart: NotRequired[Multipart]


class Candidate(TypedDict):
    """One model the quality search tried: its settings, size and figures against the
    rendered original (the worst of its orbits; None: not measured)."""

    settings: str
    bytes: int
    psnr: float | None
    ssim: float | None


class PipelineStep(TypedDict):
    """One step of the model pipeline (a glTF-Transform pass, the compression, the quality
    search, the preview): how long it took and the file's size before and after."""

    name: str
    ms: int
    bytes_in: int | None
    bytes_out: int | None
    error: NotRequired[str]  # a preview that could not be made: the model is published without
    # The quality search and the preview: the settings chosen, their figures, what was tried.
    settings: NotRequired[str]
    psnr: NotRequired[float | None]
    ssim: NotRequired[float | None]
    met_floor: NotRequired[bool]
    tried: NotRequired[list[Candidate]]


class Upload(TypedDict):
    upload_id: str
    filename: str
    content_type: str
    bytes: int
    status: Literal["pending", "processing", "done", "failed"]
    error: str | None
    steps: list[PipelineStep]  # a published model's report; empty until then, and for photos
    created_at: str


class AcceptedUpload(Upload):
    """`complete` with `Prefer: respond-async`: the upload, and where to ask about it."""

    status_url: str


def model_url(key: str | None) -> str | None:
    """Model files are public at the same path as their S3 key (CloudFront `/models/*`)."""
    return f"/{key}" if key else None


def product(row: Mapping[str, Any], chosen: Mapping[str, Any] | None = None) -> Product:
    """A product's answer; with `chosen`, one of its variants', sold under the variant's SKU."""
    model: Model3D | None = None
    if row["model_glb_key"]:
        model = {
            "glb_url": f"/{row['model_glb_key']}",
            "poster_url": model_url(row["model_poster_key"]),
            "bytes": row["model_bytes"],
            "original_bytes": row["model_original_bytes"],
            "preview_url": model_url(row["model_preview_key"]),
            "preview_bytes": row["model_preview_bytes"],
            "ar_url": model_url(row["model_ar_key"]),
            "ios_url": model_url(row["model_usdz_key"]),
        }
    options = row["options"] or []
    answer: Product = {
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "category": row["category_id"],
        "price_cents": row["price_cents"],
        "currency": row["currency"],
        "status": row["status"],
        "model": model,
        "images": [image(i) for i in row["images"]],
        "options": options,
        "variants": [variant(v, row) for v in row["variants"]],
        "variant_of": None,
        "selected_options": None,
    }
    if chosen is not None:
        mine = variant(chosen, row)
        answer |= {
            "sku": mine["sku"],
            "name": f"{row['name']} — {rules.variant_label(options, mine['options'])}",
            "price_cents": mine["price_cents"],
            "status": mine["status"],
            "variant_of": row["sku"],
            "selected_options": mine["options"],
        }
    return answer


def variant(row: Mapping[str, Any], parent: Mapping[str, Any]) -> Variant:
    """A variant as sold: at the product's price unless it has its own, and no longer sold
    once the product is not."""
    return {
        "sku": row["sku"],
        "options": row["options"],
        "price_cents": parent["price_cents"] if row["price_cents"] is None else row["price_cents"],
        "status": "discontinued" if parent["status"] != "active" else row["status"],
        "material_variant": row["material_variant"],
    }


def image(row: Mapping[str, Any]) -> Image:
    """Photos, like model files, are public at the path that is their key (`/media/*`)."""
    return {
        "image_id": row["id"],
        "url": f"/{row['key']}",
        "width": row["width"],
        "height": row["height"],
        "alt": row["alt"],
        "variants": [
            {
                "url": f"/{v['key']}",
                "format": v["format"],
                "width": v["width"],
                "height": v["height"],
            }
            for v in row["variants"]
        ],
    }


def upload(row: Any) -> Upload:
    """What was announced, and how processing went."""
    return {
        "upload_id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "bytes": row.declared_bytes,
        "status": row.status,
        "error": row.error,
        "steps": [pipeline_step(step) for step in row.steps or []],
        "created_at": rfc3339(row.created_at),
    }


def pipeline_step(step: Mapping[str, Any]) -> PipelineStep:
    """A step as the worker reported it, held to the documented shape."""

    def number(name: str) -> int | None:
        value = step.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    shaped: PipelineStep = {
        "name": str(step.get("name", "")),
        "ms": number("ms") or 0,
        "bytes_in": number("bytes_in"),
        "bytes_out": number("bytes_out"),
    }
    if step.get("error"):
        shaped["error"] = str(step["error"])
    if "settings" in step:
        shaped["settings"] = str(step["settings"])
        shaped["psnr"] = _figure(step.get("psnr"))
        shaped["ssim"] = _figure(step.get("ssim"))
    if "met_floor" in step:
        shaped["met_floor"] = step["met_floor"] is True
    if isinstance(step.get("tried"), list):
        shaped["tried"] = [
            {
                "settings": str(trial.get("settings", "")),
                "bytes": int(trial.get("bytes") or 0),
                "psnr": _figure(trial.get("psnr")),
                "ssim": _figure(trial.get("ssim")),
            }
            for trial in step["tried"]
            if isinstance(trial, Mapping)
        ]
    return shaped


def _figure(value: Any) -> float | None:
    """A measured figure, or None for one not measured (or not finite: not JSON)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
