"""Loading the demo catalog: products, and their model files and photos sent through the model
worker like any upload, so the demo shows what shops will get. Products that exist already are
left as they are, so a restart keeps what an admin changed; one still without its model, or
without any photo (its job was lost with a local emulator's queues), is sent them again."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from petshore.contract import CATALOG
from petshore.db import tortoise_config
from petshore.demo import DEMO_FILE, DemoUpload, demo_products
from petshore.errors import NotFound
from petshore.modeljobs import Kind, ModelJob
from services.catalog import rules, store
from services.catalog.app import open_model_stores
from services.catalog.schemas import ProductCreate, VariantsPut
from services.catalog.settings import Settings
from services.catalog.uploads import ModelStores, send_job

GLB = "model/gltf-binary"
JPEG = "image/jpeg"


async def _send(
    stores: ModelStores,
    sku: str,
    path: Path,
    kind: Kind,
    content_type: str,
    *,
    optimise: bool = True,
    alt: str | None = None,
) -> DemoUpload:
    """The file as an upload of its own, and its job; a catalog file may ask for a model as it
    is (the page-load benchmark compares both)."""
    upload_id = rules.new_upload_id()
    key = rules.upload_key(upload_id, kind, content_type)
    size = path.stat().st_size
    with path.open("rb") as body:
        await stores.s3.put_object(
            Bucket=stores.settings.models_bucket, Key=key, Body=body, ContentType=content_type
        )
    await store.create_upload(
        upload_id=upload_id,
        sku=sku,
        kind=kind,
        alt=alt,
        filename=path.name,
        content_type=content_type,
        size=size,
        key=key,
        multipart_id=None,
    )
    await send_job(stores, ModelJob(upload_id, sku, key, size, optimise, kind))
    return DemoUpload(kind, sku, upload_id)


def demo_variants(entry: dict[str, Any]) -> tuple[list[rules.Option], list[rules.Variant]]:
    """A demo product's options and variants as the catalog takes them: their stock is the
    orders service's."""
    variants = [{k: v for k, v in variant.items() if k != "stock"} for variant in entry["variants"]]
    body = VariantsPut.model_validate({"options": entry["options"], "variants": variants})
    return body.plan(entry["sku"])


async def load_demo(settings: Settings, path: Path = DEMO_FILE) -> tuple[int, list[DemoUpload]]:
    """Create the demo products that are missing; the number created, and the uploads sent
    to the model worker."""
    created, sent = 0, []
    await Tortoise.init(config=tortoise_config(settings.database_url, CATALOG.module))
    try:
        async with AsyncExitStack() as stack:
            stores = await open_model_stores(stack, settings)
            for entry in demo_products(path):
                sku = entry["sku"]
                try:
                    row = await store.get_product(sku)
                except NotFound:
                    fields = ProductCreate.model_validate(
                        {k: v for k, v in entry.items() if k in ProductCreate.model_fields}
                    )
                    row = await store.create_product(fields.model_dump())
                    created += 1
                if entry.get("variants") and not row["variants"]:
                    await store.put_variants(sku, *demo_variants(entry))
                if entry.get("model") and not row["model_glb_key"]:
                    model = path.parent / "models" / entry["model"]
                    optimise = entry.get("optimise", True)
                    sent.append(await _send(stores, sku, model, "model", GLB, optimise=optimise))
                if not row["images"]:
                    for photo in entry.get("photos", []):
                        file = path.parent / "photos" / photo["file"]
                        sent.append(await _send(stores, sku, file, "photo", JPEG, alt=photo["alt"]))
    finally:
        await Tortoise.close_connections()
    return created, sent
