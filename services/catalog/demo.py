"""Loading the demo catalog: products, and their model files into S3. Products that exist
already are left as they are, so a restart keeps what an admin changed."""

from __future__ import annotations

import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from petshore.aws import open_client
from petshore.db import tortoise_config
from petshore.demo import DEMO_FILE, demo_products
from petshore.errors import NotFound
from services.catalog import store
from services.catalog.app import PACKAGE
from services.catalog.publishing import publish_model
from services.catalog.schemas import ProductCreate
from services.catalog.settings import Settings, make_pipeline


async def _publish_model(
    s3: Any, settings: Settings, sku: str, glb: Path, *, optimise: bool
) -> None:
    """Through the same pipeline as an upload, so the demo shows what shops will get; a
    catalog file may ask for the original as it is (the page-load benchmark compares both)."""
    with tempfile.TemporaryDirectory(prefix="petshore-demo-") as tmp:
        published = await publish_model(
            s3,
            settings.models_bucket,
            make_pipeline(settings, workers=1),
            glb,
            Path(tmp),
            optimise=optimise,
        )
    await store.update_product(sku, published.columns(glb.stat().st_size))


async def load_demo(settings: Settings, path: Path = DEMO_FILE) -> int:
    """Create the demo products that are missing; the number created."""
    created = 0
    await Tortoise.init(config=tortoise_config(settings.database_url, PACKAGE))
    try:
        async with AsyncExitStack() as stack:
            s3 = await open_client(stack, "s3", settings.common)
            for entry in demo_products(path):
                try:
                    await store.get_product(entry["sku"])
                    continue
                except NotFound:
                    pass
                fields = ProductCreate.model_validate(
                    {k: v for k, v in entry.items() if k in ProductCreate.model_fields}
                )
                await store.create_product(fields.model_dump())
                created += 1
                if entry.get("model"):
                    await _publish_model(
                        s3,
                        settings,
                        entry["sku"],
                        path.parent / "models" / entry["model"],
                        optimise=entry.get("optimise", True),
                    )
    finally:
        await Tortoise.close_connections()
    return created
