"""The catalog's HTTP routes; handlers only translate between HTTP and `store`/`rules`."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.request.parameters import RequestParameters
from sanic.response import HTTPResponse
from tortoise.transactions import in_transaction

from petshore import paging
from petshore.auth import admin_route
from petshore.contract import CATALOG, CATALOG_CACHE_SECONDS, MAX_CART_LINES
from petshore.errors import InvalidRequest
from petshore.modeljobs import Kind
from petshore.openapi import Param, integer, operation, string
from petshore.responses import json
from petshore.web import (
    parse_body,
    parse_skus,
    product_sku,
    public_get,
    query_args,
    search_words,
)
from services.catalog import publishing, rules, store, uploads, views
from services.catalog.schemas import (
    ImageUploadCreate,
    ProductCreate,
    ProductPatch,
    UploadComplete,
    UploadCreate,
    VariantsPut,
)

products = Blueprint("catalog_products", url_prefix=CATALOG.path_prefix.rstrip("/"))


def _stores(request: Request) -> uploads.ModelStores:
    return request.app.ctx.resources


def _product_page(rows: list[dict[str, Any]], more: bool, sort: str) -> HTTPResponse:
    next_cursor = rules.encode_cursor(sort, rows[-1]) if more else None
    return json({"items": [views.product(r) for r in rows], "next_cursor": next_cursor})


def _cursor(args: RequestParameters, sort: str) -> rules.Position | None:
    return rules.decode_cursor(args["cursor"][0], sort) if args.get("cursor") else None


PRICE = integer(minimum=0, maximum=rules.MAX_PRICE_CENTS)


@public_get(products, "/products", max_age=CATALOG_CACHE_SECONDS)
@operation(
    "List active products, filtered, sorted and paged",
    params=[
        Param("category", string()),
        Param(
            "q",
            string(maxLength=rules.MAX_QUERY_LENGTH),
            description="words to look for in names and descriptions, each by its stem; "
            "every word must be found",
        ),
        Param(
            "sort",
            string(enum=list(rules.SORTS)),
            description="relevance (the default with q; without q, SKU order is the default)",
        ),
        Param("min_price_cents", PRICE, description="the lowest price listed"),
        Param("max_price_cents", PRICE, description="the highest price listed"),
        paging.LIMIT_PARAM,
        Param("cursor", string(), description="next_cursor of the page before, in this sort"),
        Param(
            "skus",
            string(),
            description="SKUs, comma-separated, with no other parameter: each product as "
            "GET /products/{sku} answers it (discontinued ones and variants too), in the "
            "order given, unknown ones left out; one page",
        ),
    ],
    answers={200: views.ProductPage},
)
async def list_products(request: Request) -> HTTPResponse:
    # Blank values kept: `limit=` is a malformed limit, not an absent one.
    args = request.get_args(keep_blank_values=True)
    if "skus" in args:
        return await _sold_as(args)
    limit = paging.parse_limit(args.get("limit"))
    words = search_words(args.get("q"), rules.MAX_QUERY_LENGTH, allow_blank=True)
    sort = rules.parse_sort(args.get("sort"), searching=words is not None)
    low, high = rules.price_range(args.get("min_price_cents"), args.get("max_price_cents"))
    listing = rules.Listing(
        category=args.get("category") or None,
        terms=None if words is None else rules.search_terms(words),
        min_price=low,
        max_price=high,
        sort=sort,
        after=_cursor(args, sort),
    )
    rows, more = await store.list_products(listing, limit)
    return _product_page(rows, more, sort)


@admin_route(
    products,
    "GET",
    "/admin/products",
    "Every product for the back office, discontinued ones too: filtered and paged",
    params=[
        Param("status", string(enum=list(rules.PRODUCT_STATUSES)), description="absent: all"),
        Param("category", string()),
        Param(
            "q",
            string(minLength=1, maxLength=rules.MAX_QUERY_LENGTH),
            description="part of a SKU, or words in a name or description",
        ),
        paging.LIMIT_PARAM,
        paging.CURSOR_PARAM,
    ],
    answers={200: views.ProductPage},
)
async def admin_products(request: Request) -> HTTPResponse:
    args = query_args(request)
    limit = paging.parse_limit(args.get("limit"))
    words = search_words(args.get("q"), rules.MAX_QUERY_LENGTH)
    listing = rules.Listing(
        status=rules.product_status(args.get("status")),
        category=args.get("category") or None,
        terms=None if words is None else rules.search_terms(words),
        sku_part=words,
        after=_cursor(args, rules.SKU_ORDER),
    )
    rows, more = await store.list_products(listing, limit)
    return _product_page(rows, more, rules.SKU_ORDER)


async def _sold_as(args: RequestParameters) -> HTTPResponse:
    """What each of `skus` sells: a whole cart's products in one request (checkout's)."""
    others = sorted(set(args) - {"skus"})
    if others:
        raise InvalidRequest("skus takes no other parameter", {"fields": ["skus", *others]})
    skus = parse_skus(args.get("skus"), MAX_CART_LINES)
    sold = await store.find_skus(skus)
    return json(
        {"items": [views.product(*sold[s]) for s in skus if s in sold], "next_cursor": None}
    )


@public_get(products, "/products/<sku>", max_age=CATALOG_CACHE_SECONDS)
@operation("One product, discontinued ones included", answers={200: views.Product})
async def get_product(request: Request, sku: str) -> HTTPResponse:
    # A variant's SKU answers too: carts, stock and orders know a variant only by its SKU.
    return json(views.product(*await store.find_sku(product_sku(sku))))


@public_get(products, "/categories", max_age=CATALOG_CACHE_SECONDS)
@operation("Categories with their number of active products", answers={200: views.Categories})
async def categories(request: Request) -> HTTPResponse:
    return json({"items": await store.categories()})


@admin_route(
    products,
    "POST",
    "/products",
    "Create a product",
    body=ProductCreate,
    answers={201: views.Product},
    errors=[409],
)
async def create_product(request: Request) -> HTTPResponse:
    body = parse_body(request, ProductCreate)
    return json(views.product(await store.create_product(body.model_dump())), status=201)


@admin_route(
    products,
    "PATCH",
    "/products/<sku>",
    "Change a product's fields",
    body=ProductPatch,
    answers={200: views.Product},
)
async def update_product(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, ProductPatch)
    if body.sku is not None and body.sku != sku:
        raise InvalidRequest("a product's SKU cannot change", {"fields": ["sku"]})
    changes = body.changes()
    # The photos' order and the product's fields are one change: both are made, or neither
    # (the store's own transactions become savepoints of this one).
    async with in_transaction():
        if body.image_order is not None:
            await store.reorder_images(product_sku(sku), body.image_order)
        row = await store.update_product(product_sku(sku), changes)
    if "status" in changes:
        await _files_follow(request, row)
    return json(views.product(row))


async def _files_follow(request: Request, row: dict[str, Any]) -> None:
    """A product's model files are retired with it, and reinstated when it is re-listed. Its
    photos stay as they are: a discontinued product's page still shows them."""
    stores = _stores(request)
    keys = store.model_keys(row)
    if row["status"] == "active":
        await publishing.reinstate(stores.s3, stores.settings.models_bucket, keys)
    else:
        await publishing.retire(stores.s3, stores.settings.models_bucket, keys)


@admin_route(
    products,
    "PUT",
    "/products/<sku>/variants",
    "Set a product's options and all of its variants, each sold under its own SKU",
    body=VariantsPut,
    answers={200: views.Product},
    errors=[409],
)
async def put_variants(request: Request, sku: str) -> HTTPResponse:
    options, variants = parse_body(request, VariantsPut).plan(sku)
    return json(views.product(await store.put_variants(product_sku(sku), options, variants)))


@admin_route(
    products,
    "DELETE",
    "/products/<sku>",
    "Discontinue a product; its model files go to Glacier",
    answers={200: views.Product},
)
async def discontinue_product(request: Request, sku: str) -> HTTPResponse:
    row = await store.set_status(product_sku(sku), "discontinued")
    await _files_follow(request, row)
    return json(views.product(row))


@admin_route(
    products,
    "DELETE",
    "/products/<sku>/model",
    "Remove a product's 3D model; its files are retired",
    answers={200: views.Product},
)
async def delete_model(request: Request, sku: str) -> HTTPResponse:
    stores = _stores(request)
    old = store.model_keys(await store.get_product(product_sku(sku)))
    row = await store.update_product(sku, store.NO_MODEL)
    await publishing.retire(stores.s3, stores.settings.models_bucket, old)
    return json(views.product(row))


@admin_route(
    products,
    "DELETE",
    "/products/<sku>/images/<image_id>",
    "Remove one of a product's photos; its files are retired unless another product shows them",
    answers={200: views.Product},
)
async def delete_image(request: Request, sku: str, image_id: str) -> HTTPResponse:
    stores = _stores(request)
    keys = await store.delete_image(product_sku(sku), image_id)
    await publishing.retire(stores.s3, stores.settings.models_bucket, keys)
    return json(views.product(await store.get_product(sku)))


# Models and photos are uploaded the same way (services.catalog.uploads): a handler of each
# kind names its kind and the body it takes.


async def _start(
    request: Request, sku: str, kind: Kind, schema: type[UploadCreate]
) -> HTTPResponse:
    body = parse_body(request, schema)
    return json(await uploads.start(_stores(request), product_sku(sku), body, kind), status=201)


async def _status(sku: str, upload_id: str, kind: Kind) -> HTTPResponse:
    return json(views.upload(await store.get_upload(product_sku(sku), upload_id, kind)))


async def _complete(request: Request, sku: str, upload_id: str, kind: Kind) -> HTTPResponse:
    # The body is optional: only a multipart upload names its parts.
    body = parse_body(request, UploadComplete) if request.body else UploadComplete()
    wait = not rules.prefers_async(request.headers.getall("prefer", []))
    upload, row = await uploads.complete(
        _stores(request), product_sku(sku), upload_id, kind, body.parts, wait=wait
    )
    if row is None:
        status_url = request.path.removesuffix("/complete")
        return json(
            {**views.upload(upload), "status_url": status_url},
            status=202,
            headers={"Location": status_url, "Preference-Applied": "respond-async"},
        )
    return json(views.product(row))


COMPLETE_PARAMS = [Param("Prefer", string(), where="header", description="respond-async")]


@admin_route(
    products,
    "POST",
    "/products/<sku>/model-uploads",
    "Start a 3D model upload: a presigned PUT URL",
    body=UploadCreate,
    answers={201: views.UploadTicket},
)
async def start_upload(request: Request, sku: str) -> HTTPResponse:
    return await _start(request, sku, "model", UploadCreate)


@admin_route(
    products,
    "GET",
    "/products/<sku>/model-uploads/<upload_id>",
    "An upload's status: pending, processing, done or failed, and why",
    answers={200: views.Upload},
)
async def get_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    return await _status(sku, upload_id, "model")


@admin_route(
    products,
    "POST",
    "/products/<sku>/model-uploads/<upload_id>/complete",
    "Validate, optimise and publish an uploaded model; with `Prefer: respond-async`, answer "
    "202 at once with the upload's status URL",
    params=COMPLETE_PARAMS,
    body=UploadComplete,
    body_required=False,
    answers={200: views.Product, 202: views.AcceptedUpload},
)
async def complete_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    return await _complete(request, sku, upload_id, "model")


@admin_route(
    products,
    "POST",
    "/products/<sku>/image-uploads",
    "Start a photo upload: a presigned PUT URL",
    body=ImageUploadCreate,
    answers={201: views.UploadTicket},
    errors=[409],
)
async def start_image_upload(request: Request, sku: str) -> HTTPResponse:
    return await _start(request, sku, "photo", ImageUploadCreate)


@admin_route(
    products,
    "GET",
    "/products/<sku>/image-uploads/<upload_id>",
    "A photo upload's status: pending, processing, done or failed, and why",
    answers={200: views.Upload},
)
async def get_image_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    return await _status(sku, upload_id, "photo")


@admin_route(
    products,
    "POST",
    "/products/<sku>/image-uploads/<upload_id>/complete",
    "Decode an uploaded photo, publish it with its AVIF and WebP variants and add it to the "
    "product's photos; with `Prefer: respond-async`, answer 202 at once",
    params=COMPLETE_PARAMS,
    body=UploadComplete,
    body_required=False,
    answers={200: views.Product, 202: views.AcceptedUpload},
)
async def complete_image_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    return await _complete(request, sku, upload_id, "photo")
