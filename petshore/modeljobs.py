"""The messages between the catalog and the model worker: a job names an uploaded file, a
result says what became of it. Both travel as JSON on SQS queues (petshore.contract's
MODEL_JOBS_QUEUE and MODEL_RESULTS_QUEUE)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["published", "invalid", "too_large", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("published", "invalid", "too_large", "failed")


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

    def to_message(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_message(cls, body: str) -> ModelJob:
        fields = _fields(body, {"upload_id": str, "sku": str, "key": str, "bytes": int})
        optimise = fields.get("optimise", True)
        if not isinstance(optimise, bool):
            raise BadMessage("optimise must be true or false")
        return cls(fields["upload_id"], fields["sku"], fields["key"], fields["bytes"], optimise)


@dataclass(frozen=True)
class PublishedModel:
    """The product's model columns (services.catalog.store.model_columns) for a new model."""

    glb_key: str
    poster_key: str | None
    preview_key: str | None
    bytes: int
    preview_bytes: int | None
    original_bytes: int


@dataclass(frozen=True)
class ModelResult:
    upload_id: str
    sku: str
    outcome: Outcome
    errors: list[str] = field(default_factory=list)  # why it was not published
    model: PublishedModel | None = None  # set when published
    steps: list[dict[str, Any]] = field(default_factory=list)  # what the optimiser did

    def to_message(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_message(cls, body: str) -> ModelResult:
        fields = _fields(body, {"upload_id": str, "sku": str, "outcome": str})
        if fields["outcome"] not in OUTCOMES:
            raise BadMessage(f"unknown outcome {fields['outcome']!r}")
        model = fields.get("model")
        try:
            published = PublishedModel(**model) if model is not None else None
        except TypeError as exc:
            raise BadMessage(f"a result's model does not fit: {exc}") from exc
        if (published is None) == (fields["outcome"] == "published"):
            raise BadMessage("a published result carries its model, and only it")
        return cls(
            fields["upload_id"],
            fields["sku"],
            fields["outcome"],
            [str(e) for e in fields.get("errors") or []],
            published,
            list(fields.get("steps") or []),
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
