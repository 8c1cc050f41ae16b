"""The services' rules as plain functions, without HTTP or stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from petshore import paging
from petshore.errors import InvalidRequest
from petshore.modeljobs import (
    BadMessage,
    ModelJob,
    ModelResult,
    PhotoVariant,
    PublishedModel,
    PublishedPhoto,
)
from petshore.timestamps import rfc3339
from petshore.web import parse_skus
from services.cart import rules as cart
from services.catalog import rules as catalog
from services.catalog import views as catalog_views
from services.orders import rules as orders
from services.orders.mail import confirmation, shipping_notice
from services.orders.pricing import money


def test_cursor_round_trips_and_rejects_forgeries() -> None:
    cursor = catalog.encode_cursor(catalog.SKU_ORDER, {"sku": "PS-TOY-0001"})
    assert catalog.decode_cursor(cursor) == catalog.Position("PS-TOY-0001")
    not_a_sku = catalog.encode_cursor(catalog.SKU_ORDER, {"sku": "not a sku"})
    for forged in ("", "e30", not_a_sku, "%%%", "eyJhZnRlciI6MX0", "WzFd"):
        with pytest.raises(InvalidRequest):
            catalog.decode_cursor(forged)


@pytest.mark.parametrize(("raw", "expected"), [(None, 24), ("1", 1), ("100", 100)])
def test_limit_defaults_and_bounds(raw: str | None, expected: int) -> None:
    assert paging.parse_limit(raw) == expected


def test_product_view_hides_storage_details() -> None:
    row = {
        "sku": "A-1",
        "name": "n",
        "description": "d",
        "category_id": "toys",
        "price_cents": 5,
        "currency": "USD",
        "status": "active",
        "model_glb_key": "models/abc.glb",
        "model_poster_key": "models/abc.webp",
        "model_preview_key": "models/def.glb",
        "model_bytes": 10,
        "model_preview_bytes": 4,
        "model_original_bytes": 50,
        "model_ar_key": "models/ar.glb",
        "model_usdz_key": None,
        "options": None,
        "variants": [],
        "images": [
            {
                "id": "im_1",
                "product_id": "A-1",
                "key": "media/abc.jpg",
                "width": 800,
                "height": 600,
                "alt": "a bowl",
                "variants": [
                    {
                        "key": "media/d.avif",
                        "format": "avif",
                        "width": 320,
                        "height": 240,
                        "bytes": 9,
                    }
                ],
            }
        ],
    }
    view = catalog_views.product(row)
    assert view["category"] == "toys"
    assert view["images"] == [
        {
            "image_id": "im_1",
            "url": "/media/abc.jpg",
            "width": 800,
            "height": 600,
            "alt": "a bowl",
            "variants": [{"url": "/media/d.avif", "format": "avif", "width": 320, "height": 240}],
        }
    ]
    assert view["model"] == {
        "glb_url": "/models/abc.glb",
        "poster_url": "/models/abc.webp",
        "bytes": 10,
        "original_bytes": 50,
        "preview_url": "/models/def.glb",
        "preview_bytes": 4,
        "ar_url": "/models/ar.glb",
        "ios_url": None,
    }
    assert catalog_views.product({**row, "model_glb_key": None})["model"] is None


def test_large_uploads_are_planned_in_parts_s3_takes() -> None:
    mib = 1024 * 1024
    assert catalog.part_plan(5 * mib, 16 * mib) == (16 * mib, 1)
    assert catalog.part_plan(16 * mib + 1, 16 * mib) == (16 * mib, 2)
    assert catalog.part_plan(200 * mib, 5 * mib) == (5 * mib, 40)
    # Never more parts than S3 takes: the parts grow instead.
    size, count = catalog.part_plan(100_000 * mib, 5 * mib)
    assert count <= catalog.MAX_PARTS and size * count >= 100_000 * mib


def test_parts_are_sorted_and_named_once() -> None:
    assert catalog.ordered_parts([(2, "b"), (1, "a")]) == [(1, "a"), (2, "b")]
    with pytest.raises(InvalidRequest):
        catalog.ordered_parts([(1, "a"), (1, "b")])


def test_lines_come_in_the_order_first_added_ties_by_sku() -> None:
    quantities = {"C-1": 1, "A-1": 5, "B-1": 2}
    added = {"C-1": 10, "A-1": 30, "B-1": 10}
    assert cart.lines_in_order(quantities, added) == [
        {"sku": "B-1", "quantity": 2},
        {"sku": "C-1", "quantity": 1},
        {"sku": "A-1", "quantity": 5},
    ]
    assert cart.lines_in_order({}, {}) == []


def test_cart_ids_carry_128_random_bits() -> None:
    ids = {cart.new_cart_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(cart.is_cart_id(i) for i in ids)
    assert not cart.is_cart_id("../../etc")


def test_expiry_is_thirty_days_after_each_change() -> None:
    assert cart.expires_at(1000.7) == 1000 + 30 * 24 * 3600
    assert cart.is_expired(100, 100.0)
    assert not cart.is_expired(101, 100.0)
    assert rfc3339(0) == "1970-01-01T00:00:00Z"


def test_times_are_written_in_utc_with_a_z() -> None:
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive: UTC
    plus_two = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(plus_two) == "2026-01-02T03:04:05Z"


def test_request_hash_ignores_key_order() -> None:
    assert orders.request_hash({"a": 1, "b": {"c": 2, "d": 3}}) == orders.request_hash(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert orders.request_hash({"a": 1}) != orders.request_hash({"a": 2})


def test_price_lines_uses_catalog_prices_and_refuses_unbuyable() -> None:
    products = {
        "A-1": {"status": "active", "price_cents": 250, "currency": "USD", "name": "Ball"},
        "B-1": {"status": "discontinued", "price_cents": 1, "currency": "USD", "name": "Old"},
        "E-1": {"status": "active", "price_cents": 1, "currency": "EUR", "name": "Euro"},
    }
    lines, currency = orders.price_lines([{"sku": "A-1", "quantity": 3}], products)
    assert currency == "USD"
    assert [line.name for line in lines] == ["Ball"]
    assert lines[0].unit_price_cents * lines[0].quantity == 750
    with pytest.raises(InvalidRequest) as refused:
        orders.price_lines(
            [
                {"sku": "A-1", "quantity": 1},
                {"sku": "B-1", "quantity": 1},
                {"sku": "X-1", "quantity": 1},
            ],
            {**products, "X-1": None},
        )
    assert refused.value.details == {"skus": ["B-1", "X-1"]}
    with pytest.raises(InvalidRequest):
        orders.price_lines([], products)
    with pytest.raises(InvalidRequest):
        orders.price_lines([{"sku": "A-1", "quantity": 1}, {"sku": "E-1", "quantity": 1}], products)


def test_totals_add_shipping_and_tax_and_take_the_discount() -> None:
    assert orders.Totals(subtotal=1000, shipping=500, tax=80, discount=250).total == 1330


def test_parse_skus_dedupes_and_validates() -> None:
    assert parse_skus("A-1, B-1,A-1,", 2) == ["A-1", "B-1"]
    for bad in (None, "a b", ",".join(f"S-{i}" for i in range(3))):
        with pytest.raises(InvalidRequest):
            parse_skus(bad, 2)


@pytest.mark.parametrize("key", [None, "", "x" * 256])
def test_idempotency_key_length(key: str | None) -> None:
    with pytest.raises(InvalidRequest):
        orders.idempotency_key(key)


def test_money_is_written_as_each_currency_writes_it() -> None:
    assert money(1299, "USD") == "$12.99"
    assert money(1299, "JPY") == "¥1,299"  # no minor unit
    assert money(100000, "EUR") == "€1,000.00"


ORDER = {
    "id": "ord_abc",
    "email": "sam@example.com",
    "currency": "USD",
    "items": [{"sku": "PS-TOY-0001", "name": "Ball", "quantity": 2, "unit_price_cents": 500}],
    "subtotal_cents": 1000,
    "shipping_cents": 0,
    "tax_cents": 80,
    "discount_cents": 0,
    "total_cents": 1080,
    "shipping_address": {
        "name": "Sam",
        "line1": "1 Main St",
        "city": "Portland",
        "postal_code": "97201",
        "country": "US",
    },
    "created_at": datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
}


def test_a_confirmation_names_the_order_its_lines_and_where_it_ships() -> None:
    order = {**ORDER, "shipping_address": {**ORDER["shipping_address"], "name": "Zoë"}}
    message = confirmation(order, "https://shop.example/")
    assert message.to == "sam@example.com"
    assert "ord_abc" in message.subject
    body = message.text
    assert "2 x Ball (PS-TOY-0001)   $10.00" in body
    assert "Total paid: $10.80" in body
    assert "https://shop.example/order/ord_abc" in body
    assert "Discount" not in body
    assert "1 Main St" in body and "97201 Portland" in body
    assert "Thank you for your order, Zoë." in body
    # SES makes the MIME message from the subject and the text, both said to be UTF-8.
    simple = message.content()["Simple"]
    assert simple["Subject"] == {"Data": message.subject, "Charset": "UTF-8"}
    assert simple["Body"] == {"Text": {"Data": body, "Charset": "UTF-8"}}


def test_a_shipping_notice_names_the_carrier_and_tracking_number() -> None:
    order = {**ORDER, "carrier": "UPS", "tracking_number": "1Z999"}
    message = shipping_notice(order, None)
    assert "has shipped" in message.subject
    body = message.text
    assert "Carrier: UPS" in body and "Tracking number: 1Z999" in body
    assert "2 x Ball (PS-TOY-0001)" in body and "97201 Portland" in body
    assert "/order/" not in body


def test_order_filters_take_days_and_times() -> None:
    whole_day = orders.order_filter(None, None, "2026-11-30", "2026-11-30")
    assert whole_day.created_from == datetime(2026, 11, 30, tzinfo=UTC)
    assert whole_day.created_to == datetime(2026, 12, 1, tzinfo=UTC)
    timed = orders.order_filter("paid", "  Sam   Shopper ", "2026-11-30T10:00:00+01:00", None)
    assert timed.created_from == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert timed.status == "paid" and timed.query == "Sam Shopper"
    for bad in (
        ("lost", None, None, None),
        (None, " ", None, None),
        (None, "x" * 201, None, None),
        (None, None, "30/11/2026", None),
        (None, None, "2026-11-30T10:00:00", None),  # no offset: which zone?
        (None, None, "2026-12-01", "2026-11-30"),
    ):
        with pytest.raises(InvalidRequest):
            orders.order_filter(*bad)


def test_refunds_are_known_by_their_key_or_amount() -> None:
    assert (
        orders.refund_key(None, 500) == orders.refund_key(None, 500) != orders.refund_key(None, 600)
    )
    assert orders.refund_key(None, None) == "rest"
    assert orders.refund_key("k1", 500) != orders.refund_key("k2", 500)
    with pytest.raises(InvalidRequest):
        orders.refund_key("", 500)


def test_csv_cells_never_run_as_formulas() -> None:
    assert orders.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert orders.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert orders.csv_cell(-5) == "-5"  # a number stays a number
    assert orders.csv_cell(None) == ""
    row = orders.csv_rows(
        {
            "id": "ord_1",
            "created_at": datetime(2026, 11, 26, tzinfo=UTC),
            "status": "paid",
            "email": "a@b.c",
            "shipping_address": {"name": "Sam", "country": "US"},
            "currency": "USD",
            "total_cents": 1000,
            "refunded_cents": 0,
            "carrier": None,
            "tracking_number": None,
            "items": [{"sku": "PS-A1", "name": "+Ball", "quantity": 2, "unit_price_cents": 500}],
        }
    )
    assert row == [
        [
            "ord_1",
            "2026-11-26T00:00:00Z",
            "paid",
            "a@b.c",
            "Sam",
            "US",
            "USD",
            "1000",
            "0",
            "PS-A1",
            "'+Ball",
            "2",
            "500",
            "",
            "",
        ]
    ]


def test_image_order_names_each_photo_once() -> None:
    catalog.check_image_order(["im_a", "im_b"], ["im_b", "im_a"])
    catalog.check_image_order([], [])
    for order in (["im_a"], ["im_a", "im_a"], ["im_a", "im_b", "im_c"], ["im_b", "im_c"]):
        with pytest.raises(InvalidRequest) as refused:
            catalog.check_image_order(["im_a", "im_b"], order)
        assert refused.value.details["fields"] == ["image_order"]


def test_a_photo_job_and_its_result_travel_whole() -> None:
    job = ModelJob("up_1", "A-1", "uploads/up_1.jpg", 10, kind="photo")
    assert ModelJob.from_message(job.to_message()) == job
    assert ModelJob.from_message('{"upload_id": "u", "sku": "s", "key": "k", "bytes": 1}').kind == (
        "model"
    ), "jobs sent before photos are models"
    with pytest.raises(BadMessage):
        ModelJob.from_message('{"upload_id": "u", "sku": "s", "key": "k", "bytes": 1, "kind": "x"}')
    variant = PhotoVariant("media/a.avif", "avif", 320, 240, 99)
    photo = PublishedPhoto("media/a.jpg", 800, 600, 1000, [variant])
    result = ModelResult("up_1", "A-1", "published", photo=photo)
    assert ModelResult.from_message(result.to_message()) == result
    model = PublishedModel("models/a.glb", None, None, 1, None, 1)
    both = ModelResult("up_1", "A-1", "published", model=model, photo=photo)
    for bad in (both, ModelResult("up_1", "A-1", "invalid", photo=photo)):
        with pytest.raises(BadMessage):
            ModelResult.from_message(bad.to_message())
