"""The catalog's search and sort orders on both of its databases: the demo catalog loaded into
PostgreSQL (tests, production) and into SQLite (`make run`), through the same migrations and
the same store, finds the same products for the same words, and pages the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from petshore.contract import CATALOG
from petshore.db import apply_migrations, tortoise_config
from petshore.demo import demo_products
from petshore.timestamps import utcnow
from services.catalog import rules, store, views
from services.catalog.demo import demo_variants
from services.catalog.models import Category, Product
from services.catalog.schemas import ProductCreate
from tests.conftest import scratch_database

# Each query and what the shopper would expect first (None: nothing is found).
QUERIES: dict[str, str | None] = {
    "bowls": "PS-FEED-0002",
    "bowl": "PS-FEED-0002",
    "Bowl": "PS-FEED-0002",
    "chewing": "PS-TOY-0002",
    "chew": "PS-TOY-0002",
    "fox": "PS-TOY-0001",
    "cats cave": "PS-BED-0002",
    "cat": "PS-BED-0002",  # a name match (the cave, the teaser) before "cats actually drink"
    "stainless": "PS-FEED-0003",  # the fountain's name before the brush's description
    "memory foam": "PS-BED-0001",  # description words only
    "feathers": "PS-TOY-0003",
    "washable cover for old joints": "PS-BED-0001",  # "for" is a stop word on both
    "harness choking": "PS-WALK-0003",
    "reflective leash, 2 m": "PS-WALK-0002",
    "low-poly": "PS-TOY-0001",
    # Nothing: no product has both words, or the word at all, or no word is searchable.
    "cats bed": None,
    "toy": None,  # the category is not searched: the contract says name and description
    "zebra": None,
    "sticks": "PS-TOY-0002",
    "squeaky bone": "PS-TOY-0002",  # the bone is still in its description
    "biscuits": None,  # only the mixer says it, and it is discontinued
    "the": None,
    "%": None,
    "_": None,
    "!!": None,
    "a & b": None,
    ":*": None,
    "'": None,
    '"bowl': "PS-FEED-0002",
    "(bowl) | fox": None,  # both words must be found: `|` is no operator
    "NEAR(bowl maze)": None,
    "bowl*": "PS-FEED-0002",
    "x" * 200: None,
    "café ²": None,
    "🐕 bowl": "PS-FEED-0002",
}
ORDERS = ("price", "-price", "newest", "name", rules.SKU_ORDER)
# SKUs looked up at once, as checkout prices a cart: a variant, one the catalog does not have,
# a discontinued product, and the variant's product.
SOLD_AS = ["PS-WALK-0001-BCH-42", "PS-NONE-0001", "PS-FEED-0001", "PS-WALK-0001"]
SOLD_FIELDS = ("sku", "name", "price_cents", "status", "variant_of", "selected_options")


async def _load(url: str) -> None:
    config = tortoise_config(url, CATALOG.module)
    await apply_migrations(config)
    await Tortoise.init(config=config)
    for entry in demo_products():
        fields = {k: v for k, v in entry.items() if k in ProductCreate.model_fields}
        await store.create_product(ProductCreate.model_validate(fields).model_dump())
        if entry.get("variants"):
            await store.put_variants(entry["sku"], *demo_variants(entry))
    # A discontinued product is never found; a renamed one by its new name.
    await store.set_status("PS-FEED-0001", "discontinued")
    await store.update_product("PS-TOY-0002", {"name": "Squeaky rubber stick"})


async def _pages(listing: rules.Listing, sort: str) -> list[str]:
    """Every SKU of the list, two a page, following the cursors."""
    seen: list[str] = []
    after = None
    while True:
        page = rules.Listing(**{**listing.__dict__, "sort": sort, "after": after})
        rows, more = await store.list_products(page, 2)
        seen += [row["sku"] for row in rows]
        if not more:
            return seen
        after = rules.decode_cursor(rules.encode_cursor(sort, rows[-1]), sort)


async def _answers(url: str) -> dict[str, list[str]]:
    await _load(url)
    try:
        answers = {}
        for q in QUERIES:
            listing = rules.Listing(terms=rules.search_terms(q), sort="relevance")
            rows, _ = await store.list_products(listing, 100)
            answers[f"q={q}"] = [row["sku"] for row in rows]
            answers[f"paged q={q}"] = await _pages(listing, "relevance")
        for sort in ORDERS:
            answers[f"sort={sort}"] = await _pages(rules.Listing(), sort)
            priced = rules.Listing(terms=("bowl",), min_price=1000, max_price=8900)
            answers[f"bowl 10-89 sort={sort}"] = await _pages(priced, sort)
            answers[f"10-89 sort={sort}"] = await _pages(
                rules.Listing(min_price=1000, max_price=8900), sort
            )
        sold = await store.find_skus(SOLD_AS)
        answers["skus"] = [
            {k: v for k, v in views.product(*sold[sku]).items() if k in SOLD_FIELDS} for sku in sold
        ]
        admin = rules.Listing(status=None, terms=("feed",), sku_part="feed")
        answers["admin feed"] = await _pages(admin, rules.SKU_ORDER)
        # Only a search's first matches by SKU are ranked: two of them here.
        ranked = store.SEARCH_RANKS_AT_MOST
        store.SEARCH_RANKS_AT_MOST = 2
        try:
            cat = rules.Listing(terms=rules.search_terms("cat"), sort="relevance")
            answers["q=cat, two ranked"] = await _pages(cat, "relevance")
        finally:
            store.SEARCH_RANKS_AT_MOST = ranked
        return answers
    finally:
        await Tortoise.close_connections()


async def _old_product() -> None:
    """A product as the catalog of before the search migration made it: its columns of then
    (the models of now have more)."""
    await Category.get_or_create(slug="old", defaults={"name": "Old"})
    connection = Tortoise.get_connection("default")
    now = utcnow()
    row = {"sku": "PS-OLD-0001", "name": "Old bowls", "description": "", "category_id": "old"}
    row |= {"price_cents": 1, "currency": "USD", "status": "active"}
    row |= {"created_at": now, "updated_at": now}
    postgres = connection.capabilities.dialect == "postgres"
    marks = [f"${i}" if postgres else "?" for i in range(1, len(row) + 1)]
    await connection.execute_query(
        f"INSERT INTO product ({', '.join(row)}) VALUES ({', '.join(marks)})", list(row.values())
    )


async def _upgraded(url: str) -> list[list[str]]:
    """A product made before the search migration, then found after it, after going back
    before it, and after coming forward again."""
    config = tortoise_config(url, CATALOG.module)
    found = []
    for target in ("models.0007_upload_steps", None, "models.0007_upload_steps", None):
        await migrate(config=config, target=target)
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        try:
            if not await Product.exists(sku="PS-OLD-0001"):
                await _old_product()
            if target is None:
                listing = rules.Listing(terms=rules.search_terms("bowl"), sort="relevance")
                found.append([row["sku"] for row in (await store.list_products(listing, 10))[0]])
        finally:
            await Tortoise.close_connections()
    return found


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with scratch_database("search") as url:
        yield url


@pytest.fixture(scope="module")
def answers(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    sqlite: Path = tmp_path_factory.mktemp("search") / "catalog.sqlite3"
    return {
        "postgres": asyncio.run(_answers(postgres_url)),
        "sqlite": asyncio.run(_answers(f"sqlite://{sqlite}")),
    }


def test_both_databases_find_and_order_the_same_products(answers: dict[str, dict]) -> None:
    assert answers["postgres"] == answers["sqlite"]


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_the_best_match_comes_first(answers: dict[str, dict], database: str) -> None:
    found = answers[database]
    for q, best in QUERIES.items():
        assert (found[f"q={q}"] or [None])[0] == best, q
        assert found[f"paged q={q}"] == found[f"q={q}"], q
    assert found["q=cat"][-1] == "PS-FEED-0003", "a description match comes after names"
    assert set(found["q=bowls"]) == {"PS-FEED-0002"}


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_a_search_ranks_only_its_first_matches_by_sku(
    answers: dict[str, dict], database: str
) -> None:
    found = answers[database]
    assert len(found["q=cat"]) > 2
    first = sorted(found["q=cat"])[:2]
    assert found["q=cat, two ranked"] == [sku for sku in found["q=cat"] if sku in first]


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_every_order_lists_every_active_product_once(
    answers: dict[str, dict], database: str
) -> None:
    found = answers[database]
    active = sorted(p["sku"] for p in demo_products() if p["sku"] != "PS-FEED-0001")
    prices = {p["sku"]: p["price_cents"] for p in demo_products()}
    names = {p["sku"]: p["name"] for p in demo_products()}
    for sort in ORDERS:
        assert sorted(found[f"sort={sort}"]) == active, sort
    assert found[f"sort={rules.SKU_ORDER}"] == active
    assert found["sort=price"] == sorted(active, key=lambda s: (prices[s], s))
    assert found["sort=-price"] == sorted(active, key=lambda s: (-prices[s], s))
    assert found["sort=name"] == sorted(active, key=lambda s: (names[s], s))
    # Loaded in the file's order, one after another: the last one first.
    assert found["sort=newest"][0] == "PS-GROOM-0001"
    in_range = sorted(s for s in active if 1000 <= prices[s] <= 8900)
    assert sorted(found["10-89 sort=price"]) == in_range
    assert found["bowl 10-89 sort=price"] == ["PS-FEED-0002"]
    assert found["admin feed"] == ["PS-FEED-0001", "PS-FEED-0002", "PS-FEED-0003"]


def test_the_migration_indexes_what_is_there_and_goes_back(tmp_path: Path) -> None:
    with scratch_database("upgrade") as url:
        assert asyncio.run(_upgraded(url)) == [["PS-OLD-0001"]] * 2
    assert asyncio.run(_upgraded(f"sqlite://{tmp_path}/catalog.sqlite3")) == [["PS-OLD-0001"]] * 2


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_skus_are_found_at_once_as_each_one_sells(answers: dict[str, dict], database: str) -> None:
    """A variant's SKU as that variant, a discontinued product's too, in the order asked;
    one the catalog does not have is left out."""
    assert answers[database]["skus"] == [
        {
            "sku": "PS-WALK-0001-BCH-42",
            "name": "Trail runner walking shoe — Beach / EU 42",
            "price_cents": 9400,
            "status": "active",
            "variant_of": "PS-WALK-0001",
            "selected_options": {"Colour": "Beach", "Size": "EU 42"},
        },
        {
            "sku": "PS-FEED-0001",
            "name": "Treat dough stand mixer",
            "price_cents": 24900,
            "status": "discontinued",
            "variant_of": None,
            "selected_options": None,
        },
        {
            "sku": "PS-WALK-0001",
            "name": "Trail runner walking shoe",
            "price_cents": 8900,
            "status": "active",
            "variant_of": None,
            "selected_options": None,
        },
    ]
