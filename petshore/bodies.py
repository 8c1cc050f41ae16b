"""The base of every request body the services accept: strict types, text a database can
store, and a field the contract does not name is a `400` naming it (a typo must not succeed
silently)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def storable_text(value: str) -> bool:
    """PostgreSQL refuses NUL in text, and UTF-8 cannot hold a lone surrogate (JSON can)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, str) and not storable_text(value):
            raise ValueError("holds a character this API does not take (NUL or a lone surrogate)")
        return value
