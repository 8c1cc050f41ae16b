"""The base of every request body the services accept: strict types, text a database can
store, and a field the contract does not name is a `400` naming it (a typo must not succeed
silently)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator


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


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)
]
CountryCode = Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)]

# What a field that does not match its pattern should be, in words a form can show.
PATTERN_PROBLEMS = {
    EMAIL_PATTERN: "enter an email address, like name@example.com",
    COUNTRY_PATTERN: "a country's two-letter code, like US",
}


class Address(Body):
    """A postal address: where an order ships, a customer's default."""

    name: Text
    line1: Text
    line2: OptionalText | None = None
    city: Text
    region: OptionalText | None = None
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    country: CountryCode
