"""The messages between the catalog and the model worker: a job names an uploaded file (a 3D
model or a product photo), a result says what became of it. Both travel as JSON on SQS queues
(petshore.contract's MODEL_JOBS_QUEUE and MODEL_RESULTS_QUEUE)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["published", "invalid", "too_large", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("published", "invalid", "too_large", "failed")
# What an upload is: the worker validates and publishes each kind its own way.
Kind = Literal["model", "photo"]
KINDS: tuple[Kind, ...] = ("model", "photo")


class BadMessage(ValueError):
    """A message that is not a job or result of this version: it can never be processed."""


@dataclass(frozen=True)
class ModelJob:
    upload_id: str
    sku: str
    key: str  # the uploaded file, under UPLOADS_KEY_PREFIX; its suffix says its type
    bytes: int
    # The demo catalog may ask for a model as it is (the page-load benchmark compares both).
    optimise: bool = True
    kind: Kind = "model"

    def to_message(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_message(cls, body: str) -> ModelJob:
        fields = _fields(body, {"upload_id": str, "sku": str, "key": str, "bytes": int})
        optimise = fields.get("optimise", True)
        if not isinstance(optimise, bool):
            raise BadMessage("optimise must be true or false")
        # Jobs sent before photos existed name no kind: they are models.
        kind = fields.get("kind", "model")
        if kind not in KINDS:
            raise BadMessage(f"unknown kind {kind!r}")
        return cls(
            fields["upload_id"], fields["sku"], fields["key"], fields["bytes"], optimise, kind
        )


@dataclass(frozen=True)
class PublishedModel:
    """The product's model columns (services.catalog.store.model_columns) for a new model."""

    glb_key: str
    poster_key: str | None
    preview_key: str | None
    bytes: int
    preview_bytes: int | None
    original_bytes: int
    # For AR: a plain glTF 2.0 GLB for Android's Scene Viewer, a USDZ for iOS Quick Look;
    # either may be missing (AR is a nicety; the step report says why), and results of
    # workers from before AR name neither.
    ar_key: str | None = None
    usdz_key: str | None = None


@dataclass(frozen=True)
class PhotoVariant:
    """One smaller copy of a photo in one format, for the page's srcset."""

    key: str
    format: str  # "avif" | "webp"
    width: int
    height: int
    bytes: int


@dataclass(frozen=True)
class PublishedPhoto:
    """A product photo as published: the main image (upright, without metadata) and its
    variants, all under MEDIA_KEY_PREFIX."""

    key: str
    width: int
    height: int
    bytes: int
    variants: list[PhotoVariant] = field(default_factory=list)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> PublishedPhoto:
        variants = [PhotoVariant(**v) for v in fields.get("variants") or []]
        return cls(**{**fields, "variants": variants})


@dataclass(frozen=True)
class ModelResult:
    upload_id: str
    sku: str
    outcome: Outcome
    errors: list[str] = field(default_factory=list)  # why it was not published
    model: PublishedModel | None = None  # set when a model was published
    steps: list[dict[str, Any]] = field(default_factory=list)  # what the optimiser did
    photo: PublishedPhoto | None = None  # set when a photo was published

    def to_message(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_message(cls, body: str) -> ModelResult:
        fields = _fields(body, {"upload_id": str, "sku": str, "outcome": str})
        if fields["outcome"] not in OUTCOMES:
            raise BadMessage(f"unknown outcome {fields['outcome']!r}")
        model, photo = fields.get("model"), fields.get("photo")
        try:
            published = PublishedModel(**model) if model is not None else None
            published_photo = PublishedPhoto.from_dict(photo) if photo is not None else None
        except (TypeError, AttributeError) as exc:
            raise BadMessage(f"a result's model or photo does not fit: {exc}") from exc
        carried = (published is not None) + (published_photo is not None)
        if carried != (fields["outcome"] == "published"):
            raise BadMessage("a published result carries its model or photo, and only it")
        return cls(
            fields["upload_id"],
            fields["sku"],
            fields["outcome"],
            [str(e) for e in fields.get("errors") or []],
            published,
            list(fields.get("steps") or []),
            published_photo,
        )


def _fields(body: str, required: dict[str, type]) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except ValueError as exc:
        raise BadMessage(f"not JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise BadMessage("not a JSON object")
    for name, kind in required.items():
        if not isinstance(fields.get(name), kind) or isinstance(fields.get(name), bool):
            raise BadMessage(f"{name} is missing or not a {kind.__name__}")
    return fields
