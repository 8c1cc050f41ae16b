"""The orders service's answers: what each looks like (for the OpenAPI document) and how it
is made from what the store returns."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal, NotRequired, cast

from typing_extensions import TypedDict

from petshore.timestamps import rfc3339
from services.orders import addresses, pricing

OrderStatus = Literal["pending", "paid", "payment_failed", "cancelled", "fulfilled", "refunded"]


class OrderLine(TypedDict):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int


class Address(TypedDict):
    name: str
    line1: str
    line2: NotRequired[str]
    city: str
    region: NotRequired[str]
    postal_code: str
    country: str


class Shipment(TypedDict):
    carrier: str
    tracking_number: str
    fulfilled_at: str


class Event(TypedDict):
    kind: str  # placed | paid | payment_failed | cancelled | fulfilled | refund | ...
    actor: str  # checkout | reconciler | webhook | admin-token | <role>:<customer id>
    detail: dict[str, Any]
    at: str


class RefundState(TypedDict):
    refund_id: int
    amount_cents: int
    state: Literal["pending", "done", "refused"]
    reference: str | None  # the payment provider's refund
    actor: str
    created_at: str


class ChosenShipping(TypedDict):
    code: str
    name: str


class Order(TypedDict):
    order_id: str
    status: OrderStatus
    email: str
    items: list[OrderLine]
    subtotal_cents: int
    shipping_cents: int
    tax_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    currency: str
    created_at: str
    shipping_address: Address
    # Beyond the contract: how it ships (null: placed before shipping methods existed), and
    # the discount code it used.
    shipping_method: ChosenShipping | None
    discount_code: str | None
    customer_id: str | None  # the signed-in customer who placed it
    # When the confirmation email was sent; null: none was (yet).
    confirmation_sent_at: str | None
    fulfilment: Shipment | None
    # For the shop's staff only: the provider's payment, what happened and who did it.
    payment_reference: NotRequired[str | None]
    history: NotRequired[list[Event]]
    refunds: NotRequired[list[RefundState]]


class OrderPage(TypedDict):
    items: list[Order]
    next_cursor: str | None


class Stock(TypedDict):
    sku: str
    available: int


class Inventory(TypedDict):
    items: list[Stock]
    # Only the low-stock list (at_most=) pages: an answer for `skus` has them all.
    next_cursor: NotRequired[str | None]


class Movement(TypedDict):
    delta: int
    available: int  # the count after the change
    reason: str
    actor: str
    at: str


class Movements(TypedDict):
    items: list[Movement]


class Received(TypedDict):
    received: bool


def order(row: dict[str, Any]) -> Order:
    answer: Order = {
        "order_id": row["id"],
        "status": row["status"],
        "email": row["email"],
        "items": row["items"],
        "subtotal_cents": row["subtotal_cents"],
        "shipping_cents": row["shipping_cents"],
        "tax_cents": row["tax_cents"],
        "discount_cents": row["discount_cents"],
        "total_cents": row["total_cents"],
        "refunded_cents": row["refunded_cents"],
        "currency": row["currency"],
        "created_at": rfc3339(row["created_at"]),
        "shipping_address": row["shipping_address"],
        "shipping_method": (
            {"code": row["shipping_method"], "name": row["shipping_method_name"]}
            if row["shipping_method"]
            else None
        ),
        "discount_code": row["discount_code"],
        "customer_id": row["customer_id"],
        "confirmation_sent_at": (
            rfc3339(row["confirmation_sent_at"]) if row["confirmation_sent_at"] else None
        ),
        "fulfilment": (
            {
                "carrier": row["carrier"],
                "tracking_number": row["tracking_number"],
                "fulfilled_at": rfc3339(row["fulfilled_at"]),
            }
            if row["fulfilled_at"]
            else None
        ),
    }
    return answer


def staff_order(
    row: dict[str, Any], events: list[dict[str, Any]], refunds: list[dict[str, Any]]
) -> Order:
    """The order as the back office sees it."""
    answer = order(row)
    answer["payment_reference"] = row["payment_reference"]
    answer["history"] = [
        {
            "kind": e["kind"],
            "actor": e["actor"],
            "detail": e["detail"],
            "at": rfc3339(e["created_at"]),
        }
        for e in events
    ]
    answer["refunds"] = [
        {
            "refund_id": r["id"],
            "amount_cents": r["amount_cents"],
            "state": r["state"],
            "reference": r["reference"],
            "actor": r["actor"],
            "created_at": rfc3339(r["created_at"]),
        }
        for r in refunds
    ]
    return answer


def movement(row: dict[str, Any]) -> Movement:
    return {
        "delta": row["delta"],
        "available": row["available"],
        "reason": row["reason"],
        "actor": row["actor"],
        "at": rfc3339(row["created_at"]),
    }


class ShippingMethod(TypedDict):
    code: str
    name: str
    price_cents: int
    currency: str
    free_over_cents: int | None
    min_days: int
    max_days: int
    countries: list[str] | None  # null: everywhere
    position: int


class ShippingMethods(TypedDict):
    items: list[ShippingMethod]


def shipping_method(method: pricing.ShippingMethod) -> ShippingMethod:
    answer = asdict(method)
    answer["countries"] = list(method.countries) if method.countries is not None else None
    return cast(ShippingMethod, answer)


class TaxRate(TypedDict):
    country: str
    region: str | None  # null: the whole country
    name: str
    rate_bp: int  # basis points: 725 is 7.25%
    on_shipping: bool


class TaxRates(TypedDict):
    items: list[TaxRate]


def tax_rate(rate: pricing.TaxRate) -> TaxRate:
    return {
        "country": rate.country,
        "region": rate.region or None,
        "name": rate.name,
        "rate_bp": rate.rate_bp,
        "on_shipping": rate.on_shipping,
    }


class Discount(TypedDict):
    code: str
    kind: Literal["percent", "amount", "free_shipping"]
    percent_off: int | None
    amount_off_cents: int | None
    currency: str | None
    min_subtotal_cents: int
    starts_at: str | None
    ends_at: str | None
    max_redemptions: int | None
    redemptions: int
    active: bool


class Discounts(TypedDict):
    items: list[Discount]


def discount(code: pricing.Discount) -> Discount:
    answer = asdict(code)
    for moment in ("starts_at", "ends_at"):
        answer[moment] = rfc3339(answer[moment]) if answer[moment] else None
    return cast(Discount, answer)


class Region(TypedDict):
    code: str
    name: str


class Country(TypedDict):
    code: str
    name: str
    regions: list[Region] | None  # null: its addresses name no region


class Countries(TypedDict):
    items: list[Country]


def country(place: addresses.Country) -> Country:
    regions = place.regions
    return {
        "code": place.code,
        "name": place.name,
        "regions": [{"code": r.code, "name": r.name} for r in regions] if regions else None,
    }


class OfferedShipping(TypedDict):
    code: str
    name: str
    price_cents: int  # for this cart
    min_days: int
    max_days: int


class AppliedTax(TypedDict):
    name: str
    rate_bp: int


class Quote(TypedDict):
    items: list[OrderLine]
    currency: str
    subtotal_cents: int
    shipping_cents: int
    tax_cents: int
    discount_cents: int
    total_cents: int
    shipping_method: str
    shipping_methods: list[OfferedShipping]
    tax: AppliedTax | None
    discount_code: str | None


def quote(priced: pricing.Quote) -> Quote:
    totals = priced.totals
    return {
        "items": [cast(OrderLine, asdict(line)) for line in priced.lines],
        "currency": priced.currency,
        "subtotal_cents": totals.subtotal,
        "shipping_cents": totals.shipping,
        "tax_cents": totals.tax,
        "discount_cents": totals.discount,
        "total_cents": totals.total,
        "shipping_method": priced.method.code,
        "shipping_methods": [
            {
                "code": m.code,
                "name": m.name,
                "price_cents": cost,
                "min_days": m.min_days,
                "max_days": m.max_days,
            }
            for m, cost in priced.offered
        ],
        "tax": {"name": priced.tax.name, "rate_bp": priced.tax.rate_bp} if priced.tax else None,
        "discount_code": priced.discount.code if priced.discount else None,
    }
