"""The public product list's rules: search words, sort orders, price filters and the cursors
of each order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from petshore import paging
from petshore.errors import InvalidRequest
from services.catalog import rules


@pytest.mark.parametrize(
    ("words", "terms"),
    [
        ("Bowls", ("bowls",)),
        ("cats  bed", ("cats", "bed")),
        ("the bowl for the cat", ("bowl", "cat")),  # PostgreSQL's stop words, on both
        ("slow-feeder BOWL bowl", ("slow", "feeder", "bowl")),
        ("100% wool_blend", ("100", "wool", "blend")),
        ("a & b | !c <-> d:* 'e' \"f\" (g)", ("b", "c", "d", "e", "f", "g")),
        ("NEAR(x y) AND z*", ("near", "x", "y", "z")),
        ("Café 🐕 ß", ("café", "ß")),
        ("%", ()),
        ("!! :* '", ()),
        ("the a of", ()),
    ],
)
def test_search_terms_are_words_without_operators_or_stop_words(
    words: str, terms: tuple[str, ...]
) -> None:
    assert rules.search_terms(words) == terms


def test_sort_defaults_to_relevance_for_a_search_and_sku_order_otherwise() -> None:
    assert rules.parse_sort(None, searching=True) == "relevance"
    assert rules.parse_sort(None, searching=False) == rules.SKU_ORDER
    assert rules.parse_sort("relevance", searching=False) == rules.SKU_ORDER
    for sort in ("price", "-price", "newest", "name"):
        assert rules.parse_sort(sort, searching=True) == sort
        assert rules.parse_sort(sort, searching=False) == sort
    for bad in ("", "sku", "PRICE", "+price", "price,name"):
        with pytest.raises(InvalidRequest) as refused:
            rules.parse_sort(bad, searching=True)
        assert refused.value.details == {"fields": ["sort"]}


def test_price_range_takes_whole_cents_in_order() -> None:
    assert rules.price_range(None, None) == (None, None)
    assert rules.price_range("0", "100000000") == (0, 100_000_000)
    assert rules.price_range("500", "500") == (500, 500)
    assert rules.price_range(None, "1") == (None, 1)
    for low, high, fields in [
        ("-1", None, ["min_price_cents"]),
        ("", None, ["min_price_cents"]),
        (None, "1.5", ["max_price_cents"]),
        (None, "+5", ["max_price_cents"]),
        (None, "٣", ["max_price_cents"]),  # a digit, not an ASCII one
        (None, "100000001", ["max_price_cents"]),
        ("9" * 40, None, ["min_price_cents"]),
        ("501", "500", ["min_price_cents", "max_price_cents"]),
    ]:
        with pytest.raises(InvalidRequest) as refused:
            rules.price_range(low, high)
        assert refused.value.details == {"fields": fields}, (low, high)


ROW = {
    "sku": "PS-TOY-0001",
    "rank": 0.0607927106320858,
    "price_cents": 1299,
    "created_at": datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC),
    "name": "Fennec the Fox plush",
}


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("relevance", ROW["rank"]),
        ("price", 1299),
        ("-price", 1299),
        ("newest", ROW["created_at"]),
        ("name", "Fennec the Fox plush"),
        (rules.SKU_ORDER, None),
    ],
)
def test_each_order_has_its_cursor(sort: str, key: object) -> None:
    cursor = rules.encode_cursor(sort, ROW)
    assert rules.decode_cursor(cursor, sort) == rules.Position("PS-TOY-0001", key)
    for other in {*rules.SORTS, rules.SKU_ORDER} - {sort}:
        with pytest.raises(InvalidRequest, match="another order") as refused:
            rules.decode_cursor(cursor, other)
        assert refused.value.details == {"fields": ["cursor"]}


def test_a_list_in_sku_order_keeps_its_old_cursors() -> None:
    old = paging.encode_cursor({"after": "PS-TOY-0001"})
    assert rules.encode_cursor(rules.SKU_ORDER, ROW) == old
    assert rules.decode_cursor(old) == rules.Position("PS-TOY-0001")


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("relevance", "nan"),
        ("relevance", "inf"),
        ("relevance", "high"),
        ("price", "-1"),
        ("price", "12.5"),
        ("price", "9" * 20),
        ("newest", "yesterday"),
        ("newest", "2026-11-27T01:02:03"),  # no time zone
        ("name", ""),
    ],
)
def test_a_forged_key_is_refused(sort: str, key: str) -> None:
    forged = paging.encode_cursor({"sort": sort, "key": key, "after": "PS-TOY-0001"})
    with pytest.raises(InvalidRequest) as refused:
        rules.decode_cursor(forged, sort)
    assert refused.value.details == {"fields": ["cursor"]}
