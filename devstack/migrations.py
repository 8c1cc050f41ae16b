"""Tortoise configurations for `make migrations` (the `tortoise` CLI reads them from here)."""

from __future__ import annotations

from petshore.db import tortoise_config
from services.catalog.app import PACKAGE as CATALOG_PACKAGE
from services.orders.app import PACKAGE as ORDERS_PACKAGE

CATALOG = tortoise_config("sqlite://var/catalog.sqlite3", CATALOG_PACKAGE)
ORDERS = tortoise_config("sqlite://var/orders.sqlite3", ORDERS_PACKAGE)
