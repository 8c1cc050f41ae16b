"""The catalog's HTTP routes; handlers only translate between HTTP and `store`/`rules`."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from petshore.contract import CATALOG, SKU_PATTERN
from petshore.errors import InvalidRequest, NotFound
from petshore.web import admin_required, parse_body
from services.catalog import publishing, rules, store, uploads
from services.catalog.schemas import ProductCreate, ProductPatch, UploadComplete, UploadCreate

products = Blueprint("catalog_products", url_prefix=CATALOG.path_prefix.rstrip("/"))


def _known_sku(sku: str) -> str:
    if not SKU_PATTERN.match(sku):
        raise NotFound(f"no product with SKU {sku}")
    return sku


@products.get("/products")
@openapi.summary("List active products, filtered and paged")
@openapi.parameter("category", str)
@openapi.parameter("q", str)
@openapi.parameter("limit", int)
@openapi.parameter("cursor", str)
async def list_products(request: Request) -> HTTPResponse:
    args = request.args
    limit = rules.parse_limit(args.get("limit"))
    after = rules.decode_cursor(args["cursor"][0]) if args.get("cursor") else None
    rows, more = await store.list_products(
        category=args.get("category") or None,
        query=rules.parse_query(args.get("q")),
        after=after,
        limit=limit,
    )
    next_cursor = rules.encode_cursor(rows[-1]["sku"]) if more else None
    return json({"items": [rules.product_view(r) for r in rows], "next_cursor": next_cursor})


@products.get("/products/<sku>")
@openapi.summary("One product, discontinued ones included")
async def get_product(request: Request, sku: str) -> HTTPResponse:
    return json(rules.product_view(await store.get_product(_known_sku(sku))))


@products.get("/categories")
@openapi.summary("Categories with their number of active products")
async def categories(request: Request) -> HTTPResponse:
    return json({"items": await store.categories()})


@products.post("/products")
@openapi.summary("Create a product (admin)")
@openapi.body({"application/json": ProductCreate})
@openapi.secured("admin")
@admin_required
async def create_product(request: Request) -> HTTPResponse:
    body = parse_body(request, ProductCreate)
    return json(rules.product_view(await store.create_product(body.model_dump())), status=201)


@products.patch("/products/<sku>")
@openapi.summary("Change a product's fields (admin)")
@openapi.body({"application/json": ProductPatch})
@openapi.secured("admin")
@admin_required
async def update_product(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, ProductPatch)
    if body.sku is not None and body.sku != sku:
        raise InvalidRequest("a product's SKU cannot change", {"fields": ["sku"]})
    return json(rules.product_view(await store.update_product(_known_sku(sku), body.changes())))


@products.delete("/products/<sku>")
@openapi.summary("Discontinue a product (admin); its model files go to Glacier")
@openapi.secured("admin")
@admin_required
async def discontinue_product(request: Request, sku: str) -> HTTPResponse:
    row = await store.set_status(_known_sku(sku), "discontinued")
    ctx = request.app.ctx
    await publishing.retire(ctx.s3, ctx.settings.models_bucket, store.model_keys(row))
    return json(rules.product_view(row))


@products.post("/products/<sku>/model-uploads")
@openapi.summary("Start a 3D model upload: a presigned PUT URL (admin)")
@openapi.body({"application/json": UploadCreate})
@openapi.secured("admin")
@admin_required
async def start_upload(request: Request, sku: str) -> HTTPResponse:
    body = parse_body(request, UploadCreate)
    ctx = request.app.ctx
    return json(await uploads.start(ctx.s3, ctx.settings, _known_sku(sku), body), status=201)


@products.get("/products/<sku>/model-uploads/<upload_id>")
@openapi.summary("An upload's status: pending, done or failed, and why (admin)")
@openapi.secured("admin")
@admin_required
async def get_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    return json(rules.upload_view(await store.get_upload(_known_sku(sku), upload_id)))


@products.post("/products/<sku>/model-uploads/<upload_id>/complete")
@openapi.summary("Validate, optimise and publish an uploaded model (admin)")
@openapi.body({"application/json": UploadComplete})
@openapi.secured("admin")
@admin_required
async def complete_upload(request: Request, sku: str, upload_id: str) -> HTTPResponse:
    # The body is optional: only a multipart upload names its parts.
    body = parse_body(request, UploadComplete) if request.body else UploadComplete()
    ctx = request.app.ctx
    row = await uploads.complete(
        ctx.s3, ctx.settings, ctx.pipeline, _known_sku(sku), upload_id, body.parts
    )
    return json(rules.product_view(row))
