"""The catalog's rules as plain functions: search words, sort orders and their paging
cursors, query parameters, upload plans, the order of a product's photos, its variants."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from petshore import paging
from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    SKU_PATTERN,
    UPLOADS_KEY_PREFIX,
)
from petshore.errors import InvalidRequest, fields_error
from petshore.modeljobs import Kind

MAX_QUERY_LENGTH = 200


PRODUCT_STATUSES = ("active", "discontinued")


def product_status(raw: str | None) -> str | None:
    """A status to list, or None for every product."""
    if raw is None:
        return None
    if raw not in PRODUCT_STATUSES:
        raise InvalidRequest(
            f"status is one of {', '.join(PRODUCT_STATUSES)}", {"fields": ["status"]}
        )
    return raw


# The highest price a product may have, and so the highest price filter.
MAX_PRICE_CENTS = 100_000_000
# The orders of the public list. Without words, `relevance` has nothing to rank: the list is
# in SKU order then, as it is with no sort at all.
SORTS = ("relevance", "price", "-price", "newest", "name")
SKU_ORDER = "sku"

# PostgreSQL's `english` stop words (tsearch_data/english.stop), which its text search leaves
# out of documents and queries alike. SQLite's FTS5 keeps them in its index, so they are left
# out of every query here: a word such as "for" must not decide, on one database only, what
# a search finds.
_STOP_WORDS = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just
    don should now"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# A word is a run of letters and digits: everything else (punctuation, LIKE wildcards, the
# operators of either database's query language) only separates words.
_WORD = re.compile(r"[^\W_]+")


def search_terms(words: str) -> tuple[str, ...]:
    """The words of a search that either database looks up, lower case, each once, in order;
    none when `words` holds only punctuation and stop words (such a search finds nothing)."""
    terms = (w.lower() for w in _WORD.findall(words))
    return tuple(dict.fromkeys(t for t in terms if t not in STOP_WORDS))


def parse_sort(raw: str | None, searching: bool) -> str:
    """The list's order: `relevance` by default for a search, SKU order otherwise."""
    if raw is None or (raw == "relevance" and not searching):
        return "relevance" if searching else SKU_ORDER
    if raw not in SORTS:
        raise InvalidRequest(f"sort is one of {', '.join(SORTS)}", {"fields": ["sort"]})
    return raw


def _price(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    # Digits only: int() would take "+5", " 5" and "5_000" too.
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_PRICE_CENTS:
        raise InvalidRequest(
            f"{name} is a whole number of cents, 0 to {MAX_PRICE_CENTS}", {"fields": [name]}
        )
    return int(raw)


def price_range(low: str | None, high: str | None) -> tuple[int | None, int | None]:
    """`min_price_cents` and `max_price_cents`, both included; either may be absent."""
    lowest, highest = _price(low, "min_price_cents"), _price(high, "max_price_cents")
    if lowest is not None and highest is not None and lowest > highest:
        raise InvalidRequest(
            "min_price_cents is above max_price_cents",
            {"fields": ["min_price_cents", "max_price_cents"]},
        )
    return lowest, highest


@dataclass(frozen=True)
class Position:
    """Where a page of a sorted list starts: after the product whose sort key is `key` and
    whose SKU is `sku` (the SKU breaks ties, so every product has one place in any order)."""

    sku: str
    key: float | int | str | datetime | None = None


# Which column of a product's row holds each order's key (relevance: the search's rank).
SORT_KEYS = {"relevance": "rank", "price": "price_cents", "-price": "price_cents"}
SORT_KEYS |= {"newest": "created_at", "name": "name"}


def encode_cursor(sort: str, last: Mapping[str, Any]) -> str:
    """The cursor after `last`, a row of the page: it names its order, so it is refused in
    another. A list in SKU order keeps the cursors it has always had."""
    if sort == SKU_ORDER:
        return paging.encode_cursor({"after": last["sku"]})
    key = last[SORT_KEYS[sort]]
    # str() of a float is its exact value: a rank compares equal to itself on the next page.
    text = key.isoformat() if isinstance(key, datetime) else str(key)
    return paging.encode_cursor({"sort": sort, "key": text, "after": last["sku"]})


def decode_cursor(cursor: str, sort: str = SKU_ORDER) -> Position:
    """The position a cursor of this order holds; a cursor of another order, or one this API
    never gave out, is a `400` naming `cursor`."""
    fields = paging.decode_cursor(
        cursor, ("sort", "key", "after"), defaults={"sort": SKU_ORDER, "key": ""}
    )
    if fields["sort"] != sort:
        raise InvalidRequest(
            "cursor belongs to a list in another order: start again without it",
            {"fields": ["cursor"]},
        )
    after = fields["after"]
    key = _sort_key(sort, fields["key"])
    if not SKU_PATTERN.match(after) or (sort != SKU_ORDER and key is None):
        raise InvalidRequest("cursor is not one this API gave out", {"fields": ["cursor"]})
    return Position(after, key)


def _sort_key(sort: str, text: str) -> float | int | str | datetime | None:
    """A cursor's key as the order compares it, or None when it cannot be one."""
    try:
        if sort == "relevance":
            rank = float(text)
            return rank if math.isfinite(rank) else None
        if sort in ("price", "-price"):
            return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None
        if sort == "newest":
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo is not None else None
    except ValueError:
        return None
    # A name is never empty.
    return text if sort == "name" and text else None


@dataclass(frozen=True)
class Listing:
    """Which products a list shows, in which order, from where. `terms` None is no search;
    an empty tuple a search that can find nothing. With `sku_part` (the back office), a
    product whose SKU holds it is found too."""

    status: str | None = "active"
    category: str | None = None
    terms: tuple[str, ...] | None = None
    sku_part: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: str = SKU_ORDER
    after: Position | None = None


def category_name(slug: str) -> str:
    """The display name given to a category first named by a product's slug."""
    return slug.replace("-", " ").strip().capitalize()


# The upload types of the contract, and the name the upload is kept under while processed.
# A zip holds a .glb, a .gltf with its files, or an .obj with its .mtl and textures.
ACCEPTED_MODEL_TYPES = {
    "model/gltf-binary": ".glb",
    "model/gltf+json": ".gltf",
    "model/obj": ".obj",
    "application/zip": ".zip",
}
# The photo types of the contract. The model worker judges a photo by what it decodes as: the
# declared type only turns away, at the start, what no photo could be.
ACCEPTED_IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/avif": ".avif",
}
ACCEPTED_TYPES: dict[Kind, dict[str, str]] = {
    "model": ACCEPTED_MODEL_TYPES,
    "photo": ACCEPTED_IMAGE_TYPES,
}
# What each kind is called in answers.
NOUNS: dict[Kind, str] = {"model": "3D model", "photo": "photo"}
UPLOAD_URL_SECONDS = 3600
# A product's photos at most: a gallery, not an album (and image_order's longest list).
MAX_IMAGES = 24


# S3 takes at most 10,000 parts, each at least 5 MiB but the last.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000


def part_plan(size: int, part_bytes: int) -> tuple[int, int]:
    """The part size and number of parts that carry `size` bytes in parts of `part_bytes`
    (larger parts if that would make too many); one part means a single PUT is enough."""
    part_bytes = max(part_bytes, -(-size // MAX_PARTS))
    return part_bytes, max(1, -(-size // part_bytes))


def ordered_parts(parts: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """The parts a client names, in the ascending order S3 wants; each number once."""
    ordered = sorted(parts)
    numbers = [n for n, _ in ordered]
    if len(set(numbers)) != len(numbers):
        raise InvalidRequest("each part_number may be named once", {"fields": ["parts"]})
    return ordered


UPLOAD_ID_PATTERN = re.compile(r"^up_[A-Za-z0-9_-]{22}$")


def new_upload_id() -> str:
    return "up_" + secrets.token_urlsafe(16)


def is_upload_id(value: str) -> bool:
    return bool(UPLOAD_ID_PATTERN.match(value))


def upload_key(upload_id: str, kind: Kind, content_type: str) -> str:
    return f"{UPLOADS_KEY_PREFIX}{upload_id}{ACCEPTED_TYPES[kind][content_type]}"


IMAGE_ID_PATTERN = re.compile(r"^im_[A-Za-z0-9_-]{22}$")


def new_image_id() -> str:
    return "im_" + secrets.token_urlsafe(16)


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID_PATTERN.match(value))


def check_image_order(current: list[str], order: list[str]) -> None:
    """`order` must name each of the product's photos (`current`) once, and nothing else."""
    if len(order) != len(set(order)) or set(order) != set(current):
        raise InvalidRequest(
            "image_order must name each of the product's photos once, and no other",
            {"fields": ["image_order"], "image_ids": current},
        )


def job_given_up(sent_at: datetime | None, now: datetime) -> bool:
    """Whether a job sent at `sent_at` can no longer be with the model worker: every offer SQS
    makes of it (MODEL_JOB_ATTEMPTS, each for MODEL_JOB_VISIBILITY_SECONDS) is over."""
    if sent_at is None:
        return True
    alive = timedelta(seconds=MODEL_JOB_ATTEMPTS * MODEL_JOB_VISIBILITY_SECONDS)
    return now - sent_at > alive


def prefers_async(prefer: list[str]) -> bool:
    """Whether a `Prefer` header (RFC 7240) asks for `respond-async`."""
    return any(
        token.split(";", 1)[0].strip().lower() == "respond-async"
        for header in prefer
        for token in header.split(",")
    )


# A product's choices at most: options (size, colour, ...), values of each, and variants.
MAX_OPTIONS = 3
MAX_OPTION_VALUES = 30
MAX_VARIANTS = 100


@dataclass(frozen=True)
class Option:
    """Something a shopper chooses, such as a colour, and the values there are to choose."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One value of each of the product's options, sold as its own SKU; without a price, at
    the product's."""

    sku: str
    options: Mapping[str, str]
    price_cents: int | None = None
    status: str = "active"
    material_variant: str | None = None


def check_variants(sku: str, options: Sequence[Option], variants: Sequence[Variant]) -> None:
    """Variants that a shopper can choose among: each names one value of every option, no two
    the same choice, each its own SKU (not the product's). Every problem is named at its
    field, as `details.problems`."""
    problems: dict[str, str] = {}
    names = [option.name.casefold() for option in options]
    for i, option in enumerate(options):
        if names.index(option.name.casefold()) != i:
            problems[f"options.{i}.name"] = "another option has this name"
        folded = [value.casefold() for value in option.values]
        if len(set(folded)) != len(folded):
            problems[f"options.{i}.values"] = "each value may be given once"
    if options and not variants:
        problems["variants"] = "a product with options needs at least one variant"
    if variants and not options:
        problems["options"] = "variants differ by options: name at least one"
    values = {option.name: set(option.values) for option in options}
    seen_skus: set[str] = {sku}
    seen_choices: set[tuple[str, ...]] = set()
    for i, variant in enumerate(variants):
        if variant.sku in seen_skus:
            problems[f"variants.{i}.sku"] = (
                "this is the product's own SKU" if variant.sku == sku else "another variant has it"
            )
        seen_skus.add(variant.sku)
        if set(variant.options) != set(values):
            wanted = ", ".join(option.name for option in options) or "no option"
            problems[f"variants.{i}.options"] = f"give one value of each option: {wanted}"
            continue
        wrong = [name for name, value in variant.options.items() if value not in values[name]]
        if wrong:
            problems[f"variants.{i}.options"] = f"not one of the values of {', '.join(wrong)}"
            continue
        choice = tuple(variant.options[option.name] for option in options)
        if choice in seen_choices:
            problems[f"variants.{i}.options"] = "another variant is the same choice"
        seen_choices.add(choice)
    if problems:
        raise fields_error(problems)


def variant_label(options: Sequence[Mapping[str, Any]], chosen: Mapping[str, str]) -> str:
    """A variant's values in the order of the product's options: "Beach / 42"."""
    return " / ".join(chosen[option["name"]] for option in options if option["name"] in chosen)
