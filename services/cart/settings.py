"""The cart's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from petshore.contract import CARTS, Env
from petshore.settings import CommonSettings, env_str


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    carts_table: str

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env()
        return cls(
            common=common,
            carts_table=env_str(Env.CARTS_TABLE, CARTS.name(common.environment)),
        )
