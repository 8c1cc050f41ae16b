"""Stocking the demo catalog's SKUs; counts already in the store are kept."""

from __future__ import annotations

from pathlib import Path

from tortoise import Tortoise

from petshore.contract import ORDERS
from petshore.db import tortoise_config
from petshore.demo import DEMO_FILE, demo_products
from services.orders import store
from services.orders.settings import Settings


async def load_demo(settings: Settings, path: Path = DEMO_FILE) -> int:
    stocked = 0
    await Tortoise.init(config=tortoise_config(settings.database_url, ORDERS.module))
    try:
        for entry in demo_products(path):
            stocked += await store.add_available_if_missing(entry["sku"], int(entry["stock"]))
    finally:
        await Tortoise.close_connections()
    return stocked
