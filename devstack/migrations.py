"""Tortoise configurations for `make migrations` (the `tortoise` CLI reads them from here):
one per service that owns a database, named after it in upper case."""

from __future__ import annotations

from petshore.contract import SERVICES
from petshore.db import tortoise_config

globals().update(
    {
        s.name.upper(): tortoise_config(f"sqlite://var/{s.name}.sqlite3", s.module)
        for s in SERVICES
        if s.database
    }
)
