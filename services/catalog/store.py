"""All of the catalog's database access."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from petshore.errors import Conflict, NotFound
from petshore.modeljobs import PublishedModel
from petshore.timestamps import utcnow
from services.catalog.models import Category, ModelUpload, Product
from services.catalog.rules import category_name, is_upload_id

PRODUCT_FIELDS = (
    "sku",
    "name",
    "description",
    "category_id",
    "price_cents",
    "currency",
    "status",
    "model_glb_key",
    "model_poster_key",
    "model_preview_key",
    "model_bytes",
    "model_preview_bytes",
    "model_original_bytes",
)
# The columns naming a product's files in the models bucket.
MODEL_KEY_COLUMNS = ("model_glb_key", "model_poster_key", "model_preview_key")

Row = dict[str, Any]


async def list_products(
    *, category: str | None, query: str | None, after: str | None, limit: int
) -> tuple[list[Row], bool]:
    """One page of active products in SKU order, and whether more follow."""
    rows = Product.filter(status="active")
    if category:
        rows = rows.filter(category_id=category)
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if after:
        rows = rows.filter(sku__gt=after)
    page = await rows.order_by("sku").limit(limit + 1).values(*PRODUCT_FIELDS)
    return page[:limit], len(page) > limit


async def get_product(sku: str) -> Row:
    row = await Product.filter(sku=sku).first().values(*PRODUCT_FIELDS)
    if row is None:
        raise NotFound(f"no product with SKU {sku}")
    return row


async def _ensure_category(slug: str) -> None:
    await Category.get_or_create(slug=slug, defaults={"name": category_name(slug)})


async def create_product(fields: dict[str, Any]) -> Row:
    data = dict(fields)
    data["category_id"] = data.pop("category")
    try:
        async with in_transaction():
            await _ensure_category(data["category_id"])
            await Product.create(**data)
    except IntegrityError as exc:
        raise Conflict(f"a product with SKU {data['sku']} exists already") from exc
    return await get_product(data["sku"])


async def update_product(sku: str, changes: dict[str, Any]) -> Row:
    data = dict(changes)
    if "category" in data:
        data["category_id"] = data.pop("category")
    async with in_transaction():
        if "category_id" in data:
            await _ensure_category(data["category_id"])
        if data:
            updated = await Product.filter(sku=sku).update(**data)
        else:
            updated = await Product.filter(sku=sku).count()
    if not updated:
        raise NotFound(f"no product with SKU {sku}")
    return await get_product(sku)


async def set_status(sku: str, status: str) -> Row:
    return await update_product(sku, {"status": status})


def model_columns(model: PublishedModel) -> Row:
    """A published model as the product's columns."""
    return {
        "model_glb_key": model.glb_key,
        "model_poster_key": model.poster_key,
        "model_preview_key": model.preview_key,
        "model_bytes": model.bytes,
        "model_preview_bytes": model.preview_bytes,
        "model_original_bytes": model.original_bytes,
    }


def model_keys(row: Row) -> list[str]:
    """The files in the models bucket that a product shows."""
    return [row[column] for column in MODEL_KEY_COLUMNS if row[column]]


async def keys_in_use(keys: list[str]) -> set[str]:
    """Which of `keys` an active product still shows (model files are shared by content)."""
    anywhere = Q(*(Q(**{f"{column}__in": keys}) for column in MODEL_KEY_COLUMNS), join_type="OR")
    rows = await Product.filter(anywhere, status="active").values_list(*MODEL_KEY_COLUMNS)
    return {key for row in rows for key in row if key in keys}


async def categories() -> list[Row]:
    rows = (
        await Category.annotate(count=Count("products", _filter=Q(products__status="active")))
        .filter(count__gt=0)
        .order_by("name")
        .values("slug", "name", "count")
    )
    return list(rows)


async def create_upload(
    *,
    upload_id: str,
    sku: str,
    filename: str,
    content_type: str,
    size: int,
    key: str,
    multipart_id: str | None,
) -> None:
    await ModelUpload.create(
        id=upload_id,
        product_id=sku,
        filename=filename,
        content_type=content_type,
        declared_bytes=size,
        key=key,
        multipart_id=multipart_id,
    )


async def get_upload(sku: str, upload_id: str) -> ModelUpload:
    # An id this service never gave out is simply not found (the column would refuse it).
    upload = (
        await ModelUpload.get_or_none(id=upload_id, product_id=sku)
        if is_upload_id(upload_id)
        else None
    )
    if upload is None:
        raise NotFound("no such upload for this product")
    return upload


async def find_upload(upload_id: str) -> ModelUpload | None:
    return await ModelUpload.get_or_none(id=upload_id) if is_upload_id(upload_id) else None


async def start_processing(upload_id: str) -> None:
    await ModelUpload.filter(id=upload_id).update(
        status="processing", sent_at=utcnow(), reason=None, errors=None, error=None
    )


async def finish_upload(
    upload_id: str, status: str, reason: str | None = None, errors: list[str] | None = None
) -> None:
    """`done`, or `failed` for a `reason` (petshore.modeljobs.Outcome) and the file's faults."""
    await ModelUpload.filter(id=upload_id).update(
        status=status, reason=reason, errors=errors, error="; ".join(errors) if errors else None
    )
