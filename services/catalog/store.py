"""All of the catalog's database access."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from petshore.db import Statement, json_value, moment
from petshore.errors import Conflict, NotFound
from petshore.modeljobs import Kind, PublishedModel, PublishedPhoto
from petshore.timestamps import utcnow
from services.catalog.models import Category, ModelUpload, Product, ProductImage, ProductVariant
from services.catalog.rules import (
    Listing,
    Option,
    Variant,
    category_name,
    check_image_order,
    is_image_id,
    is_upload_id,
    new_image_id,
)

PRODUCT_FIELDS = (
    "sku",
    "name",
    "description",
    "category_id",
    "price_cents",
    "currency",
    "status",
    "options",
    "model_glb_key",
    "model_poster_key",
    "model_preview_key",
    "model_bytes",
    "model_preview_bytes",
    "model_original_bytes",
    "model_ar_key",
    "model_usdz_key",
)
# The columns naming a product's files in the models bucket.
MODEL_KEY_COLUMNS = (
    "model_glb_key",
    "model_poster_key",
    "model_preview_key",
    "model_ar_key",
    "model_usdz_key",
)
# A product without a model.
NO_MODEL: dict[str, None] = {
    column: None
    for column in (*MODEL_KEY_COLUMNS, "model_bytes", "model_preview_bytes", "model_original_bytes")
}
IMAGE_FIELDS = ("id", "product_id", "key", "width", "height", "alt", "variants")
VARIANT_FIELDS = ("sku", "product_id", "options", "price_cents", "status", "material_variant")

Row = dict[str, Any]


# A search's rank on each database, higher first: PostgreSQL's ts_rank with its default
# weights (a name word, A, counts 1.0; a description word, B, 0.4), and SQLite's bm25 (lower is
# better, hence negated) with the same proportion between the columns (the SKU, unindexed, 0).
_RANK = {
    "postgres": "ts_rank(p.search, query)",
    "sqlite": "m.rank",
}
# Each sort's column and direction; the SKU follows, ascending: the cursor's tie-break. Names
# in code point order on both databases (SQLite's only order; PostgreSQL's would follow the
# database's locale).
_ORDERS = {
    "relevance": ("rank", "DESC"),
    "price": ("p.price_cents", "ASC"),
    "-price": ("p.price_cents", "DESC"),
    "newest": ("p.created_at", "DESC"),
    "name": ("p.name", "ASC"),
}
_NAME_ORDER = {"postgres": 'p.name COLLATE "C"', "sqlite": "p.name"}
# How many of a search's matches are ranked (docs/api.md): a search of a word most products
# hold then costs what a rarer one does (bench/http_load.py --sizes).
SEARCH_RANKS_AT_MOST = 1000


async def list_products(listing: Listing, limit: int) -> tuple[list[Row], bool]:
    """One page of the products `listing` asks for, in its order, and whether more follow;
    each row with its `rank` (None unless searching), photos and variants as `get_product`
    reads them: one raw statement (each database searches its own way)."""
    searching = listing.terms is not None
    if searching and not listing.terms and not listing.sku_part:
        return [], False
    connection = Tortoise.get_connection("default")
    dialect = connection.capabilities.dialect
    sql = Statement(dialect)
    where: list[str] = []
    matched: list[str] = []
    source = "product p"
    rank = "NULL"
    if listing.terms:
        words = " ".join(listing.terms)
        if dialect == "postgres":
            source += f" CROSS JOIN plainto_tsquery('english', {sql.param(words)}) query"
            matched.append("p.search @@ query")
        else:
            # Each term a quoted string: FTS5 reads nothing in it as an operator.
            phrase = " ".join(f'"{term}"' for term in listing.terms)
            source += (
                " LEFT JOIN (SELECT sku, -bm25(product_search, 0, 10, 4) AS rank"
                f" FROM product_search WHERE product_search MATCH {sql.param(phrase)}) m"
                " ON m.sku = p.sku"
            )
            matched.append("m.sku IS NOT NULL")
        rank = _RANK[dialect]
    if listing.sku_part:
        position = "strpos" if dialect == "postgres" else "instr"
        matched.append(f"{position}(p.sku, {sql.param(listing.sku_part.upper())}) > 0")
    if matched:
        where.append(f"({' OR '.join(matched)})")
    if listing.status:
        where.append(f"p.status = {sql.param(listing.status)}")
    if listing.category:
        where.append(f"p.category_id = {sql.param(listing.category)}")
    if listing.min_price is not None:
        where.append(f"p.price_cents >= {sql.param(listing.min_price)}")
    if listing.max_price is not None:
        where.append(f"p.price_cents <= {sql.param(listing.max_price)}")
    if listing.terms and listing.sort == "relevance":
        # Only the first matches by SKU are ranked: a word most of a large catalog holds
        # would otherwise have every match read and ranked before the best 20 are known.
        source = (
            f"(SELECT p.*, {rank} AS rank FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY p.sku LIMIT {SEARCH_RANKS_AT_MOST}) p"
        )
        where, rank = [], "p.rank"
    column, direction = _ORDERS.get(listing.sort, ("", ""))
    column = {"rank": rank, "p.name": _NAME_ORDER[dialect]}.get(column, column)
    order = [f"{column} {direction}", "p.sku"] if column else ["p.sku"]
    if listing.after is not None:
        after = sql.param(listing.after.sku)
        if column:
            # The rank a cursor holds is a float4's exact value: compared as one, it is equal.
            key = sql.param(listing.after.key, "::real" if listing.sort == "relevance" else "")
            beyond = "<" if direction == "DESC" else ">"
            where.append(f"({column} {beyond} {key} OR ({column} = {key} AND p.sku > {after}))")
        else:
            where.append(f"p.sku > {after}")
    query = (
        f"SELECT {_product_columns(dialect)}, p.created_at, {rank} AS rank FROM {source}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {', '.join(order)} LIMIT {sql.param(limit + 1)}"
    )
    found = await connection.execute_query_dict(query, sql.values)
    page = [_product_row(row) for row in found[:limit]]
    for row in page:
        row["created_at"] = moment(row["created_at"])
    return page, len(found) > limit


async def get_product(sku: str) -> Row:
    """The product's columns, its photos in their order as `images`, its variants in theirs
    as `variants`: one statement."""
    connection = Tortoise.get_connection("default")
    dialect = connection.capabilities.dialect
    sql = Statement(dialect)
    rows = await connection.execute_query_dict(
        f"SELECT {_product_columns(dialect)} FROM product p WHERE p.sku = {sql.param(sku)}",
        sql.values,
    )
    if not rows:
        raise NotFound(f"no product with SKU {sku}")
    return _product_row(rows[0])


async def find_sku(sku: str) -> tuple[Row, Row | None]:
    """What a SKU sells: a product, or one of its variants (then also the variant's row). A
    product's SKU, the common case, costs no query more than `get_product`."""
    try:
        return await get_product(sku), None
    except NotFound:
        variant = await ProductVariant.filter(sku=sku).first().values(*VARIANT_FIELDS)
        if variant is None:
            raise
    return await get_product(variant["product_id"]), variant


async def find_skus(skus: list[str]) -> dict[str, tuple[Row, Row | None]]:
    """What each of `skus` the catalog has sells, as `find_sku` says: one statement however
    many there are (its text the same for any number, so it is prepared once)."""
    if not skus:
        return {}
    connection = Tortoise.get_connection("default")
    dialect = connection.capabilities.dialect
    sql = Statement(dialect)
    if dialect == "postgres":
        listed = f"= ANY({sql.param(skus, '::text[]')})"
    else:
        listed = f"IN (SELECT value FROM json_each({sql.param(json.dumps(skus))}))"
    rows = await connection.execute_query_dict(
        f"SELECT {_product_columns(dialect)} FROM product p WHERE p.sku {listed}"
        f" OR p.sku IN (SELECT product_id FROM product_variant WHERE sku {listed})",
        sql.values,
    )
    sold: dict[str, tuple[Row, Row | None]] = {}
    for row in map(_product_row, rows):
        sold[row["sku"]] = (row, None)
        sold.update((variant["sku"], (row, variant)) for variant in row["variants"])
    return {sku: sold[sku] for sku in skus if sku in sold}


# The same text for every statement of a dialect; building it cost a product's answer 11 µs,
# some 4% of its CPU (bench/README.md, session 27).
@functools.cache
def _product_columns(dialect: str) -> str:
    """A product's columns, and its photos (`images`) and variants (`variants`) each as a JSON
    array in their order: a page of products, with all their parts, is one statement."""
    images = _parts(dialect, "product_image", IMAGE_FIELDS, "variants", "position, created_at")
    variants = _parts(dialect, "product_variant", VARIANT_FIELDS, "options", "position")
    product = ", ".join(f"p.{field}" for field in PRODUCT_FIELDS)
    return f"{product}, {images} AS images, {variants} AS variants"


def _parts(dialect: str, table: str, fields: tuple[str, ...], nested: str, order: str) -> str:
    """The rows of `table` belonging to product `p`, as a JSON array of objects of `fields`
    (`nested`, a JSON column, as JSON, not text), in `order`."""
    if dialect == "postgres":
        pairs = ", ".join(f"'{field}', t.\"{field}\"" for field in fields)
        ordered = ", ".join(f"t.{column.strip()}" for column in order.split(","))
        return (
            f"(SELECT coalesce(json_agg(json_build_object({pairs}) ORDER BY {ordered}),"
            f" '[]') FROM {table} t WHERE t.product_id = p.sku)"
        )
    pairs = ", ".join(
        f"'{field}', json(t.\"{field}\")" if field == nested else f"'{field}', t.\"{field}\""
        for field in fields
    )
    # SQLite aggregates in the order of the rows it is given.
    return (
        f"(SELECT json_group_array(json_object({pairs})) FROM (SELECT * FROM {table}"
        f" WHERE product_id = p.sku ORDER BY {order}) t)"
    )


def _product_row(row: Row) -> Row:
    """A product's row as read with `_product_columns`."""
    for column in ("options", "images", "variants"):
        row[column] = json_value(row[column])
    return row


async def _ensure_category(slug: str) -> None:
    await Category.get_or_create(slug=slug, defaults={"name": category_name(slug)})


async def create_product(fields: dict[str, Any]) -> Row:
    data = dict(fields)
    data["category_id"] = data.pop("category")
    taken = Conflict(f"a product with SKU {data['sku']} exists already")
    try:
        async with in_transaction():
            if await ProductVariant.exists(sku=data["sku"]):
                raise taken
            await _ensure_category(data["category_id"])
            await Product.create(**data)
    except IntegrityError as exc:
        raise taken from exc
    return await get_product(data["sku"])


async def put_variants(sku: str, options: list[Option], variants: list[Variant]) -> Row:
    """The product's options and variants, in place of those it had. A variant's SKU is its
    own across the catalog: neither a product's nor another product's variant's (`409`)."""
    skus = [variant.sku for variant in variants]
    try:
        async with in_transaction():
            if not await Product.filter(sku=sku).update(
                options=[{"name": o.name, "values": list(o.values)} for o in options] or None
            ):
                raise NotFound(f"no product with SKU {sku}")
            taken = await Product.filter(sku__in=skus).values_list("sku", flat=True)
            taken += await (
                ProductVariant.filter(sku__in=skus)
                .exclude(product_id=sku)
                .values_list("sku", flat=True)
            )
            if taken:
                raise Conflict(
                    f"another product sells {', '.join(sorted(taken))}", {"skus": sorted(taken)}
                )
            await ProductVariant.filter(product_id=sku).delete()
            await ProductVariant.bulk_create(
                [
                    ProductVariant(
                        sku=variant.sku,
                        product_id=sku,
                        position=position,
                        options=dict(variant.options),
                        price_cents=variant.price_cents,
                        status=variant.status,
                        material_variant=variant.material_variant,
                    )
                    for position, variant in enumerate(variants)
                ]
            )
    except IntegrityError as exc:
        # Another product's variants took one of these SKUs since they were looked at.
        raise Conflict("another product sells one of these SKUs", {"skus": skus}) from exc
    return await get_product(sku)


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
        "model_ar_key": model.ar_key,
        "model_usdz_key": model.usdz_key,
    }


def model_keys(row: Row) -> list[str]:
    """The files in the models bucket that a product shows."""
    return [row[column] for column in MODEL_KEY_COLUMNS if row[column]]


async def keys_in_use(keys: list[str]) -> set[str]:
    """Which of `keys` a product still shows (files are shared by content): an active
    product's model files, and any product's photos, which a discontinued product's page
    still shows. All of a photo's files follow from its upload's pixels, so photos that share
    a main image share their variants too."""
    anywhere = Q(*(Q(**{f"{column}__in": keys}) for column in MODEL_KEY_COLUMNS), join_type="OR")
    rows = await Product.filter(anywhere, status="active").values_list(*MODEL_KEY_COLUMNS)
    shown = {key for row in rows for key in row}
    for image in await ProductImage.filter(key__in=keys).values("key", "variants"):
        shown |= set(image_keys(image))
    return shown & set(keys)


def image_keys(image: Row) -> list[str]:
    """The files in the models bucket of one photo: its main image and its variants."""
    return [image["key"], *(variant["key"] for variant in image["variants"])]


async def image_count(sku: str) -> int:
    return await ProductImage.filter(product_id=sku).count()


async def add_image(sku: str, upload_id: str, photo: PublishedPhoto) -> None:
    """The photo of an upload, shown after the product's others, and the upload done, at once.
    Only the first of two catalog instances that hear the same result (SQS may deliver it
    twice) marks the upload done, and only it adds the photo."""
    async with in_transaction():
        upload = await ModelUpload.filter(id=upload_id).first()
        taken = await ModelUpload.filter(id=upload_id, status__not="done").update(
            status="done", reason=None, errors=None, error=None
        )
        if not taken or upload is None or not await Product.exists(sku=sku):
            return
        last = await ProductImage.filter(product_id=sku).order_by("-position").first()
        await ProductImage.create(
            id=new_image_id(),
            product_id=sku,
            position=0 if last is None else last.position + 1,
            key=photo.key,
            width=photo.width,
            height=photo.height,
            bytes=photo.bytes,
            alt=upload.alt or "",
            variants=[asdict(variant) for variant in photo.variants],
        )


async def delete_image(sku: str, image_id: str) -> list[str]:
    """Remove the photo from the product; its files."""
    image = (
        await ProductImage.filter(id=image_id, product_id=sku).first().values("key", "variants")
        if is_image_id(image_id)
        else None
    )
    if image is None:
        raise NotFound("no such photo of this product")
    await ProductImage.filter(id=image_id).delete()
    return image_keys(image)


async def reorder_images(sku: str, order: list[str]) -> None:
    """Show the product's photos in `order`, which names each of them once."""
    await get_product(sku)
    async with in_transaction():
        current = await ProductImage.filter(product_id=sku).values_list("id", flat=True)
        check_image_order([str(i) for i in current], order)
        for position, image_id in enumerate(order):
            await ProductImage.filter(id=image_id).update(position=position)


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
    kind: Kind,
    alt: str | None,
    filename: str,
    content_type: str,
    size: int,
    key: str,
    multipart_id: str | None,
) -> None:
    await ModelUpload.create(
        id=upload_id,
        product_id=sku,
        kind=kind,
        alt=alt,
        filename=filename,
        content_type=content_type,
        declared_bytes=size,
        key=key,
        multipart_id=multipart_id,
    )


async def get_upload(sku: str, upload_id: str, kind: Kind) -> ModelUpload:
    # An id this service never gave out is simply not found (the column would refuse it).
    upload = (
        await ModelUpload.get_or_none(id=upload_id, product_id=sku, kind=kind)
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
    upload_id: str,
    status: str,
    reason: str | None = None,
    errors: list[str] | None = None,
    steps: list[dict[str, Any]] | None = None,
) -> None:
    """`done` with the pipeline's `steps`, or `failed` for a `reason`
    (petshore.modeljobs.Outcome) and the file's faults."""
    await ModelUpload.filter(id=upload_id).update(
        status=status,
        reason=reason,
        errors=errors,
        error="; ".join(errors) if errors else None,
        steps=steps,
    )
