"""Tortoise configurations for `make migrations` (the `tortoise` CLI reads them from here)."""

from __future__ import annotations

from petshore.contract import CATALOG as CATALOG_SERVICE
from petshore.contract import ORDERS as ORDERS_SERVICE
from petshore.db import tortoise_config

CATALOG = tortoise_config("sqlite://var/catalog.sqlite3", CATALOG_SERVICE.module)
ORDERS = tortoise_config("sqlite://var/orders.sqlite3", ORDERS_SERVICE.module)
