"""Where an order can go: countries (ISO 3166-1) and, in the countries whose addresses name
one, their states, provinces or prefectures (ISO 3166-2's top-level subdivisions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pycountry

from petshore.errors import NotFound, field_error

# Countries whose postal addresses name a region, which their sales taxes also follow.
REGION_COUNTRIES = frozenset({"US", "CA", "AU", "MX", "BR", "IN", "JP"})


@dataclass(frozen=True)
class Region:
    code: str  # without the country: "OR", not "US-OR"
    name: str


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    regions: tuple[Region, ...] | None  # None: its addresses name no region


@cache
def countries() -> dict[str, Country]:
    """Every country, by code, in the order of their names."""
    known = sorted(pycountry.countries, key=lambda c: _name(c))
    return {c.alpha_2: Country(c.alpha_2, _name(c), _regions(c.alpha_2)) for c in known}


def _name(country: Any) -> str:
    # "Bolivia", not "Bolivia, Plurinational State of".
    return str(getattr(country, "common_name", None) or country.name)


def _regions(code: str) -> tuple[Region, ...] | None:
    if code not in REGION_COUNTRIES:
        return None
    top = (s for s in pycountry.subdivisions.get(country_code=code) or [] if s.parent_code is None)
    return tuple(
        sorted((Region(s.code.split("-", 1)[1], s.name) for s in top), key=lambda r: r.name)
    )


@dataclass(frozen=True)
class Destination:
    country: str
    region: str  # a region's code; "" where the address names none of the country's regions


def destination(country: str, region: str | None, prefix: str = "") -> Destination:
    """Where an address is, checked: a country that exists and, in a country with regions, one
    of its regions, by code or name in any case ("or", "Oregon": "OR"). Elsewhere a region is
    the address's own text, which prices nothing."""
    known = countries().get(country)
    if known is None:
        raise field_error(f"{prefix}country", f"there is no country with the code {country}")
    if not region or known.regions is None:
        return Destination(country, "")
    wanted = region.strip().casefold()
    for candidate in known.regions:
        if wanted in (candidate.code.casefold(), candidate.name.casefold()):
            return Destination(country, candidate.code)
    raise field_error(f"{prefix}region", f"{known.name} has no state or province {region}")


def place(text: str) -> Destination:
    """A place as ISO 3166 writes it: `US-CA` (a region) or `GB` (a whole country)."""
    country, _, region = text.partition("-")
    if not re.fullmatch(r"[A-Z]{2}", country) or (region and not region.isalnum()):
        raise NotFound(f"no place {text}: write US-CA, or GB for a whole country")
    where = destination(country, region or None)
    if region and not where.region:
        raise field_error("region", f"addresses in {countries()[country].name} name no region")
    return where
