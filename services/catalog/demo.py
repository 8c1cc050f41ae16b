"""Loading the demo catalog: products, and their model files sent through the model worker
like any upload, so the demo shows what shops will get. Products that exist already are left
as they are, so a restart keeps what an admin changed; one still without its model (its job
was lost with a local emulator's queues) is sent again."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from tortoise import Tortoise

from petshore.contract import CATALOG
from petshore.db import tortoise_config
from petshore.demo import DEMO_FILE, demo_products
from petshore.errors import NotFound
from petshore.modeljobs import ModelJob
from services.catalog import rules, store
from services.catalog.app import open_model_stores
from services.catalog.schemas import ProductCreate
from services.catalog.settings import Settings
from services.catalog.uploads import ModelStores, send_job

GLB = "model/gltf-binary"


async def _send_model(stores: ModelStores, sku: str, glb: Path, *, optimise: bool) -> str:
    """The file as an upload of its own, and its job; a catalog file may ask for the original
    as it is (the page-load benchmark compares both)."""
    upload_id = rules.new_upload_id()
    key = rules.upload_key(upload_id, GLB)
    size = glb.stat().st_size
    with glb.open("rb") as body:
        await stores.s3.put_object(
            Bucket=stores.settings.models_bucket, Key=key, Body=body, ContentType=GLB
        )
    await store.create_upload(
        upload_id=upload_id,
        sku=sku,
        filename=glb.name,
        content_type=GLB,
        size=size,
        key=key,
        multipart_id=None,
    )
    await send_job(stores, ModelJob(upload_id, sku, key, size, optimise))
    return upload_id


async def load_demo(settings: Settings, path: Path = DEMO_FILE) -> tuple[int, dict[str, str]]:
    """Create the demo products that are missing; the number created, and the uploads sent
    to the model worker by SKU."""
    created, sent = 0, {}
    await Tortoise.init(config=tortoise_config(settings.database_url, CATALOG.module))
    try:
        async with AsyncExitStack() as stack:
            stores = await open_model_stores(stack, settings)
            for entry in demo_products(path):
                try:
                    row = await store.get_product(entry["sku"])
                except NotFound:
                    fields = ProductCreate.model_validate(
                        {k: v for k, v in entry.items() if k in ProductCreate.model_fields}
                    )
                    row = await store.create_product(fields.model_dump())
                    created += 1
                if entry.get("model") and not row["model_glb_key"]:
                    sent[entry["sku"]] = await _send_model(
                        stores,
                        entry["sku"],
                        path.parent / "models" / entry["model"],
                        optimise=entry.get("optimise", True),
                    )
    finally:
        await Tortoise.close_connections()
    return created, sent
