"""The catalog lines of API.md, through the gateway."""

from __future__ import annotations

import httpx
import pytest

from petshore.contract import CATALOG_CACHE_SECONDS
from tests.helpers import ADMIN, assert_error, create_product, unique_sku, unique_slug

PRODUCT_FIELDS = {
    "sku",
    "name",
    "description",
    "category",
    "price_cents",
    "currency",
    "status",
    "model",
}


def test_demo_catalog_is_loaded_with_models(gateway: httpx.Client) -> None:
    fox = gateway.get("/api/catalog/products/PS-TOY-0001").json()
    assert set(fox) >= PRODUCT_FIELDS
    assert fox["status"] == "active"
    assert fox["model"]["glb_url"].startswith("/models/")
    assert fox["model"]["glb_url"].endswith(".glb")
    assert fox["model"]["original_bytes"] == 162852
    assert fox["model"]["bytes"] < 162852, "the demo models go through the pipeline too"
    model = gateway.get(fox["model"]["glb_url"])
    assert model.status_code == 200
    assert model.content[:4] == b"glTF"
    assert len(model.content) == fox["model"]["bytes"]
    assert fox["model"]["poster_url"].endswith(".webp")
    assert gateway.get(fox["model"]["poster_url"]).content[8:12] == b"WEBP"


def test_list_defaults_to_24_and_pages_with_a_cursor(gateway: httpx.Client) -> None:
    slug = unique_slug()
    for _ in range(26):
        create_product(gateway, category=slug)
    first = gateway.get("/api/catalog/products", params={"category": slug}).json()
    assert len(first["items"]) == 24
    assert first["next_cursor"]
    rest = gateway.get(
        "/api/catalog/products", params={"category": slug, "cursor": first["next_cursor"]}
    ).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    assert all(set(p) >= PRODUCT_FIELDS for p in first["items"])


def test_paging_visits_every_product_once_while_products_are_added(
    gateway: httpx.Client,
) -> None:
    slug = unique_slug()
    original = {create_product(gateway, category=slug)["sku"] for _ in range(9)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"category": slug, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = gateway.get("/api/catalog/products", params=params).json()
        seen += [p["sku"] for p in page["items"]]
        create_product(gateway, category=slug)  # lands before or after the cursor
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a product was listed twice"
    assert original <= set(seen), "a product was missed"


def test_filters_by_category_and_searches_name_and_description(gateway: httpx.Client) -> None:
    slug = unique_slug()
    word = unique_slug("zz").replace("-", "")
    by_name = create_product(gateway, category=slug, name=f"Big {word.upper()} bed")
    by_text = create_product(gateway, category=slug, description=f"about {word} things")
    create_product(gateway, category=slug, name="Unrelated")
    elsewhere = create_product(gateway, name=f"{word} elsewhere")
    found = gateway.get("/api/catalog/products", params={"q": word.capitalize()}).json()
    assert {p["sku"] for p in found["items"]} == {by_name["sku"], by_text["sku"], elsewhere["sku"]}
    in_category = gateway.get("/api/catalog/products", params={"q": word, "category": slug}).json()
    assert {p["sku"] for p in in_category["items"]} == {by_name["sku"], by_text["sku"]}


def test_search_treats_like_wildcards_as_text(gateway: httpx.Client) -> None:
    slug = unique_slug()
    create_product(gateway, category=slug, name="Plain name")
    literal = create_product(gateway, category=slug, name="100% wool_blend")
    for q in ("%", "_", "%_%"):  # no word in them: nothing is found, never everything
        found = gateway.get("/api/catalog/products", params={"q": q, "category": slug}).json()
        assert found["items"] == [], q
    for q in ("100%", "wool_blend", "WOOL", "blend 100"):
        found = gateway.get("/api/catalog/products", params={"q": q, "category": slug}).json()
        assert [p["sku"] for p in found["items"]] == [literal["sku"]], q


def _skus(gateway: httpx.Client, **params: str) -> list[str]:
    answer = gateway.get("/api/catalog/products", params={"limit": "100", **params})
    assert answer.status_code == 200, answer.text
    return [p["sku"] for p in answer.json()["items"]]


def test_search_finds_words_by_their_stems_name_matches_first(gateway: httpx.Client) -> None:
    slug = unique_slug()
    in_text = create_product(gateway, category=slug, name="Plain dish", description="Not a BOWL")
    in_name = create_product(gateway, category=slug, name="Slow feeder bowl")
    both = create_product(gateway, category=slug, name="Bowls", description="a bowl for feeding")
    leash = create_product(gateway, category=slug, name="Leash", description="for walks")
    for q in ("bowls", "bowl", "Bowl", "BOWLS"):
        assert _skus(gateway, q=q, category=slug) == [
            both["sku"],
            in_name["sku"],
            in_text["sku"],
        ], q
    # Every word must be found, in the name or the description, by its stem.
    assert _skus(gateway, q="feeding bowls", category=slug) == [both["sku"]]  # not "feeder"
    assert _skus(gateway, q="bowl leash", category=slug) == []
    assert _skus(gateway, q="walking", category=slug) == [leash["sku"]]
    # A search is in relevance order unless the shopper picks another.
    by_price = _skus(gateway, q="bowl", category=slug, sort="price")
    assert sorted(by_price) == sorted([both["sku"], in_name["sku"], in_text["sku"]])
    assert by_price == sorted(by_price)  # same prices: the SKU breaks the tie


def test_search_never_lists_discontinued_products(gateway: httpx.Client) -> None:
    slug = unique_slug()
    gone = create_product(gateway, category=slug, name="Retired kibble scoop")
    assert gateway.delete(f"/api/catalog/products/{gone['sku']}", headers=ADMIN).status_code == 200
    assert _skus(gateway, q="kibble scoop", category=slug) == []


SORTED = {
    "price": lambda p: (p["price_cents"], p["sku"]),
    "-price": lambda p: (-p["price_cents"], p["sku"]),
    "name": lambda p: (p["name"], p["sku"]),
}


def test_sort_orders_and_the_price_filter(gateway: httpx.Client) -> None:
    slug = unique_slug()
    made = [
        create_product(gateway, category=slug, name=name, price_cents=price)
        for name, price in [("Crate", 4500), ("Brush", 999), ("Apron", 4500), ("Dish", 0)]
    ]
    for sort, key in SORTED.items():
        assert _skus(gateway, category=slug, sort=sort) == [
            p["sku"] for p in sorted(made, key=key)
        ], sort
    assert _skus(gateway, category=slug, sort="newest") == [p["sku"] for p in reversed(made)]
    # Without words, the default order (and relevance's) is the SKU's.
    skus = sorted(p["sku"] for p in made)
    assert _skus(gateway, category=slug) == skus
    assert _skus(gateway, category=slug, sort="relevance") == skus
    # Both bounds are prices listed.
    assert _skus(gateway, category=slug, min_price_cents="999", max_price_cents="4500") == sorted(
        p["sku"] for p in made if p["price_cents"] >= 999
    )
    assert _skus(gateway, category=slug, max_price_cents="0") == [made[3]["sku"]]
    assert _skus(gateway, category=slug, min_price_cents="4501") == []
    assert _skus(gateway, category=slug, min_price_cents="1000", sort="-price") == [
        p["sku"] for p in sorted(made, key=SORTED["-price"]) if p["price_cents"] >= 1000
    ]


@pytest.mark.parametrize("sort", ["relevance", "price", "-price", "newest", "name", None])
def test_paging_visits_every_product_once_in_every_order(
    gateway: httpx.Client, sort: str | None
) -> None:
    slug = unique_slug()
    word = unique_slug("pg").replace("-", "")

    def add(i: int) -> str:
        # Names and prices that tie, and ranks that differ (the word once or twice).
        name = f"{word} {'collar' if i % 2 else word} {i % 3}"
        return create_product(gateway, category=slug, name=name, price_cents=100 * (i % 3))["sku"]

    original = {add(i) for i in range(9)}
    seen: list[str] = []
    cursor = None
    base = {"category": slug, "q": word, "limit": "2", **({"sort": sort} if sort else {})}
    for i in range(100):
        page = gateway.get(
            "/api/catalog/products", params={**base, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        seen += [p["sku"] for p in page.json()["items"]]
        add(100 + i)  # lands before or after the cursor
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a product was listed twice"
    assert original <= set(seen), "a product was missed"


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"sort": "cheapest"}, ["sort"]),
        ({"sort": ""}, ["sort"]),
        ({"sort": "sku"}, ["sort"]),
        ({"min_price_cents": "-1"}, ["min_price_cents"]),
        ({"min_price_cents": ""}, ["min_price_cents"]),
        ({"max_price_cents": "12.99"}, ["max_price_cents"]),
        ({"max_price_cents": "100000001"}, ["max_price_cents"]),
        ({"max_price_cents": "9" * 30}, ["max_price_cents"]),
        (
            {"min_price_cents": "500", "max_price_cents": "499"},
            ["min_price_cents", "max_price_cents"],
        ),
    ],
)
def test_bad_sort_or_price_is_a_400(
    gateway: httpx.Client, params: dict[str, str], fields: list[str]
) -> None:
    error = assert_error(
        gateway.get("/api/catalog/products", params=params), 400, "invalid_request"
    )
    assert error["details"]["fields"] == fields


def test_a_cursor_belongs_to_its_order(gateway: httpx.Client) -> None:
    slug = unique_slug()
    for _ in range(3):
        create_product(gateway, category=slug, name="Order bowl")
    by_price = gateway.get(
        "/api/catalog/products", params={"category": slug, "limit": "1", "sort": "price"}
    ).json()["next_cursor"]
    for other in ({"sort": "name"}, {"sort": "-price"}, {"q": "bowl"}, {}):
        answer = gateway.get("/api/catalog/products", params={**other, "cursor": by_price})
        error = assert_error(answer, 400, "invalid_request")
        assert error["details"]["fields"] == ["cursor"]


HOSTILE = [
    "!!",
    "a & b",
    ":*",
    "'",
    "''",
    '"',
    '"bowl',
    "(bowl",
    "bowl)",
    "!bowl | fox",
    "bowl <-> fox",
    "fox:*A",
    "NEAR(fox bowl, 2)",
    "fox* OR -bowl",
    "name:fox",
    "{name description}: fox",
    "^fox",
    "\\",
    "x" * 200,
    "é" * 200,
    "🐕🐈 狗 кот",
    "1e999",
    "--",
    "/*",
    "; DROP TABLE product; --",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_search_words_are_never_a_500(gateway: httpx.Client, q: str) -> None:
    for sort in ("relevance", "name"):
        answer = gateway.get("/api/catalog/products", params={"q": q, "sort": sort})
        assert answer.status_code == 200, answer.text
        assert all(p["status"] == "active" for p in answer.json()["items"])
    answer = gateway.get("/api/catalog/admin/products", params={"q": q}, headers=ADMIN)
    assert answer.status_code == 200, answer.text


def test_search_words_find_the_demo_products(gateway: httpx.Client) -> None:
    def demo(q: str) -> list[str]:
        # Among the demo products: other tests add products of their own to this catalog.
        return [sku for sku in _skus(gateway, q=q) if sku.startswith("PS-")]

    assert demo("bowls")[0] == "PS-FEED-0002"
    assert demo("chewing")[0] == "PS-TOY-0002"
    assert "PS-TOY-0001" in demo("fox")


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1", "2.5", ""])
def test_bad_limit_is_a_400(gateway: httpx.Client, limit: str) -> None:
    error = assert_error(
        gateway.get("/api/catalog/products", params={"limit": limit}), 400, "invalid_request"
    )
    assert error["details"]["fields"] == ["limit"]


@pytest.mark.parametrize("cursor", ["nonsense", "e30", "eyJhZnRlciI6IDF9", "!!!"])
def test_bad_cursor_is_a_400(gateway: httpx.Client, cursor: str) -> None:
    error = assert_error(
        gateway.get("/api/catalog/products", params={"cursor": cursor}), 400, "invalid_request"
    )
    assert error["details"]["fields"] == ["cursor"]


def test_unknown_product_is_a_404(gateway: httpx.Client) -> None:
    assert_error(gateway.get(f"/api/catalog/products/{unique_sku()}"), 404, "not_found")
    assert_error(gateway.get("/api/catalog/products/not a sku"), 404, "not_found")


def test_categories_count_active_products(gateway: httpx.Client) -> None:
    slug = unique_slug()
    skus = [create_product(gateway, category=slug)["sku"] for _ in range(3)]
    gateway.delete(f"/api/catalog/products/{skus[0]}", headers=ADMIN)
    items = gateway.get("/api/catalog/categories").json()["items"]
    mine = [c for c in items if c["slug"] == slug]
    assert mine == [{"slug": slug, "name": slug.replace("-", " ").capitalize(), "count": 2}]
    demo = {c["slug"] for c in items}
    assert {"toys", "feeding", "walking", "beds", "grooming"} <= demo


def test_admin_calls_need_the_token(gateway: httpx.Client) -> None:
    body = {"sku": unique_sku(), "name": "x", "category": "toys", "price_cents": 1}
    assert_error(gateway.post("/api/catalog/products", json=body), 401, "unauthorized")
    assert_error(
        gateway.post("/api/catalog/products", json=body, headers={"Authorization": "Bearer wrong"}),
        403,
        "forbidden",
    )
    assert_error(
        gateway.patch("/api/catalog/products/PS-TOY-0001", json={"name": "x"}),
        401,
        "unauthorized",
    )
    assert_error(
        gateway.delete("/api/catalog/products/PS-TOY-0001", headers={"Authorization": "Basic abc"}),
        401,
        "unauthorized",
    )
    assert gateway.get("/api/catalog/products/PS-TOY-0001").json()["status"] == "active"


def test_create_returns_the_product_and_refuses_a_duplicate(gateway: httpx.Client) -> None:
    product = create_product(gateway, price_cents=2599, name="  Chew rope  ")
    assert product["status"] == "active"
    assert product["model"] is None
    assert product["price_cents"] == 2599
    assert product["name"] == "Chew rope"
    again = gateway.post(
        "/api/catalog/products",
        json={k: product[k] for k in ("sku", "name", "category", "price_cents")},
        headers=ADMIN,
    )
    assert_error(again, 409, "conflict")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sku": "lower-case"}, "sku"),
        ({"sku": "A"}, "sku"),
        ({"price_cents": "12"}, "price_cents"),
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": 12.5}, "price_cents"),
        ({"price_cents": True}, "price_cents"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"currency": "usd"}, "currency"),
        ({"category": "Not A Slug"}, "category"),
    ],
)
def test_create_names_the_bad_field(gateway: httpx.Client, change: dict, field: str) -> None:
    body = {"sku": unique_sku(), "name": "x", "category": "toys", "price_cents": 100, **change}
    error = assert_error(
        gateway.post("/api/catalog/products", json=body, headers=ADMIN), 400, "invalid_request"
    )
    assert field in error["details"]["fields"]


def test_malformed_bodies_are_400_or_415(gateway: httpx.Client) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    for body in (b"{", b"[]", b"null", b"\xff\xfe", b""):
        assert_error(
            gateway.post("/api/catalog/products", content=body, headers=headers),
            400,
            "invalid_request",
        )
    assert_error(
        gateway.post(
            "/api/catalog/products",
            content=b"sku=X",
            headers={**ADMIN, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported_media_type",
    )


def test_patch_changes_only_given_fields(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    slug = unique_slug()
    patched = gateway.patch(
        f"/api/catalog/products/{product['sku']}",
        json={"price_cents": 1555, "category": slug},
        headers=ADMIN,
    )
    assert patched.status_code == 200
    assert patched.json() == {**product, "price_cents": 1555, "category": slug}
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json() == patched.json()


def test_patch_refuses_bad_changes(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    path = f"/api/catalog/products/{product['sku']}"
    assert_error(gateway.patch(path, json={"name": None}, headers=ADMIN), 400, "invalid_request")
    assert_error(
        gateway.patch(path, json={"sku": unique_sku()}, headers=ADMIN), 400, "invalid_request"
    )
    assert_error(
        gateway.patch(f"/api/catalog/products/{unique_sku()}", json={"name": "x"}, headers=ADMIN),
        404,
        "not_found",
    )
    typo = assert_error(
        gateway.patch(path, json={"price": 599}, headers=ADMIN), 400, "invalid_request"
    )
    assert typo["details"]["fields"] == ["price"]
    assert gateway.get(path).json() == product


def test_delete_discontinues_and_unlists(gateway: httpx.Client) -> None:
    slug = unique_slug()
    product = create_product(gateway, category=slug)
    gone = gateway.delete(f"/api/catalog/products/{product['sku']}", headers=ADMIN)
    assert gone.status_code == 200
    assert gone.json() == {**product, "status": "discontinued"}
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json()["status"] == (
        "discontinued"
    )
    listed = gateway.get("/api/catalog/products", params={"category": slug}).json()
    assert listed["items"] == []
    assert_error(
        gateway.delete(f"/api/catalog/products/{unique_sku()}", headers=ADMIN), 404, "not_found"
    )


def test_openapi_document_describes_the_catalog(gateway: httpx.Client) -> None:
    doc = gateway.get("/api/catalog/docs/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/catalog/products",
        "/api/catalog/products/{sku}",
        "/api/catalog/categories",
        "/api/catalog/health",
    ):
        assert path in doc["paths"], path


def test_text_no_database_can_store_is_a_400_naming_where(gateway: httpx.Client) -> None:
    """PostgreSQL refuses NUL in text: before, such input reached it and answered 503."""
    error = assert_error(
        gateway.get("/api/catalog/products", params={"q": "bowl\x00"}), 400, "invalid_request"
    )
    assert error["details"]["fields"] == ["q"]
    error = assert_error(gateway.get("/api/orders/orders/ord_%00"), 400, "invalid_request")
    assert error["details"]["fields"] == ["path"]
    body = {"sku": unique_sku(), "name": "x", "category": "toys", "price_cents": 1}
    error = assert_error(
        gateway.post(
            "/api/catalog/products", json={**body, "description": "a\x00b"}, headers=ADMIN
        ),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["description"]


PUBLIC_CACHE = f"public, max-age={CATALOG_CACHE_SECONDS}"


def _public_reads(product: dict) -> list[str]:
    return [
        f"/api/catalog/products/{product['sku']}",
        f"/api/catalog/products?category={product['category']}",
        "/api/catalog/categories",
    ]


def test_public_reads_may_be_cached_and_carry_a_stable_etag(gateway: httpx.Client) -> None:
    for path in _public_reads(create_product(gateway)):
        # Two catalog instances answer in turn: the ETag depends on the body alone.
        first, second = gateway.get(path), gateway.get(path)
        assert first.status_code == second.status_code == 200, path
        assert first.headers["Cache-Control"] == PUBLIC_CACHE, path
        etag = first.headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"'), "a strong ETag"
        assert second.headers["ETag"] == etag and second.content == first.content, path
        head = gateway.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["ETag"] == etag and head.headers["Cache-Control"] == PUBLIC_CACHE
        assert head.headers["Content-Length"] == str(len(first.content)), path


def test_a_matching_if_none_match_is_a_304_until_the_product_changes(
    gateway: httpx.Client,
) -> None:
    product = create_product(gateway)
    path = f"/api/catalog/products/{product['sku']}"
    etag = gateway.get(path).headers["ETag"]
    for held in (etag, f"W/{etag}", f'"older", {etag}', f'"a,b" ,, W/{etag}', "*"):
        for method in ("GET", "HEAD"):
            cached = gateway.request(method, path, headers={"If-None-Match": held})
            assert cached.status_code == 304, (method, held)
            assert cached.content == b""
            assert cached.headers["ETag"] == etag
            assert cached.headers["Cache-Control"] == PUBLIC_CACHE
            assert "Content-Type" not in cached.headers
    for other in ('"older"', etag.strip('"'), f"{etag} {etag}", f"w/{etag}"):
        assert gateway.get(path, headers={"If-None-Match": other}).status_code == 200, other
    listed = f"/api/catalog/products?category={product['category']}"
    list_etag = gateway.get(listed).headers["ETag"]
    changed = gateway.patch(path, json={"price_cents": 4321}, headers=ADMIN)
    assert changed.status_code == 200
    for url, held in ((path, etag), (listed, list_etag)):
        fresh = gateway.get(url, headers={"If-None-Match": held})
        assert fresh.status_code == 200, url
        assert fresh.headers["ETag"] != held
        assert gateway.get(url, headers={"If-None-Match": fresh.headers["ETag"]}).status_code == (
            304
        )
    assert gateway.get(path).json()["price_cents"] == 4321


def test_admin_answers_and_errors_are_never_stored(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    sku = product["sku"]
    started = gateway.post(
        f"/api/catalog/products/{sku}/model-uploads",
        json={"filename": "model.glb", "content_type": "model/gltf-binary", "bytes": 18},
        headers=ADMIN,
    )
    assert started.status_code == 201
    status = gateway.get(
        f"/api/catalog/products/{sku}/model-uploads/{started.json()['upload_id']}", headers=ADMIN
    )
    assert status.status_code == 200
    created = gateway.post(
        "/api/catalog/products",
        json={"sku": unique_sku(), "name": "x", "category": "toys", "price_cents": 1},
        headers=ADMIN,
    )
    answers = [
        started,
        status,
        created,
        gateway.patch(f"/api/catalog/products/{sku}", json={"name": "y"}, headers=ADMIN),
        gateway.get(f"/api/catalog/products/{unique_sku()}"),
        gateway.get("/api/catalog/products", params={"limit": "0"}),
        gateway.get("/api/catalog/products/not a sku", headers={"If-None-Match": "*"}),
        gateway.post("/api/catalog/products", json={}),
        gateway.get("/api/catalog/health"),
        gateway.get("/api/nothing-here"),
    ]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.url
        assert "ETag" not in answer.headers, answer.request.url
