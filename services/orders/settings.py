"""The orders service's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from petshore.contract import CART, CATALOG, Env
from petshore.settings import CommonSettings, env_float, env_str

DEFAULT_DATABASE_URL = "sqlite://var/orders.sqlite3"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    database_url: str
    catalog_url: str
    cart_url: str
    upstream_timeout: float
    payment_provider: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            common=CommonSettings.from_env(),
            database_url=env_str(Env.ORDERS_DATABASE_URL, DEFAULT_DATABASE_URL),
            catalog_url=env_str(Env.CATALOG_URL, f"http://127.0.0.1:{CATALOG.port}"),
            cart_url=env_str(Env.CART_URL, f"http://127.0.0.1:{CART.port}"),
            upstream_timeout=env_float(Env.UPSTREAM_TIMEOUT_SECONDS, 5.0),
            payment_provider=env_str(Env.PAYMENT_PROVIDER, "test"),
        )
