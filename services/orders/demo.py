"""Stocking the demo catalog's SKUs, and its example tax rates and discount codes; what is
already in the store (counts, rates, codes an owner changed) is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise

from petshore.contract import ORDERS
from petshore.db import tortoise_config
from petshore.demo import DEMO_FILE, demo_pricing, demo_products
from petshore.web import validate
from services.orders import addresses, store
from services.orders.schemas import DiscountBody, DiscountCodeModel, TaxRateBody
from services.orders.settings import Settings


async def load_demo(settings: Settings, path: Path = DEMO_FILE) -> int:
    stocked = 0
    await Tortoise.init(config=tortoise_config(settings.database_url, ORDERS.module))
    try:
        for entry in demo_products(path):
            # A product sold in variants is stocked variant by variant.
            for sold in entry.get("variants") or [entry]:
                stocked += await store.add_available_if_missing(sold["sku"], int(sold["stock"]))
        await _load_pricing(demo_pricing(path))
    finally:
        await Tortoise.close_connections()
    return stocked


async def _load_pricing(data: dict[str, Any]) -> None:
    have = {(r.country, r.region) for r in await store.tax_rates()}
    for entry in data.get("tax_rates", []):
        where = addresses.place(entry["place"])
        if (where.country, where.region) not in have:
            body = validate(TaxRateBody, {k: v for k, v in entry.items() if k != "place"})
            await store.put_tax_rate(body.rate(where))
    for entry in data.get("discount_codes", []):
        code = validate(DiscountCodeModel, {"code": entry["code"]}).code
        if await store.discount(code) is None:
            body = validate(DiscountBody, {k: v for k, v in entry.items() if k != "code"})
            await store.put_discount(body.discount(code))
