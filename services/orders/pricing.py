"""What an order costs beyond its goods: shipping, discount and tax, from the owner's own
tables (shipping methods, tax rates, discount codes). Plain functions over plain records: the
checkout and the quote price the same way, and a client never sends a price."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

from petshore.errors import field_error
from services.orders.addresses import Destination, countries
from services.orders.rules import PricedLine, Totals

BASIS_POINTS = 10_000
# Parsed once: parsing it again for every amount cost a third of formatting one.
ENGLISH = Locale.parse("en")


@dataclass(frozen=True)
class ShippingMethod:
    code: str
    name: str
    price_cents: int
    currency: str
    free_over_cents: int | None
    min_days: int
    max_days: int
    countries: tuple[str, ...] | None  # None: everywhere
    position: int = 0

    def ships_to(self, country: str) -> bool:
        return self.countries is None or country in self.countries

    def price_for(self, subtotal: int) -> int:
        if self.free_over_cents is not None and subtotal >= self.free_over_cents:
            return 0
        return self.price_cents


@dataclass(frozen=True)
class TaxRate:
    country: str
    region: str  # "": the whole country
    name: str
    rate_bp: int
    on_shipping: bool


@dataclass(frozen=True)
class Discount:
    code: str
    kind: str  # percent | amount | free_shipping
    percent_off: int | None
    amount_off_cents: int | None
    currency: str | None
    min_subtotal_cents: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    active: bool


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]
    currency: str
    totals: Totals
    method: ShippingMethod
    # Every method that ships there, each with what it costs for these goods.
    offered: list[tuple[ShippingMethod, int]]
    tax: TaxRate | None
    discount: Discount | None


def offered_methods(
    methods: Sequence[ShippingMethod], country: str, currency: str
) -> list[ShippingMethod]:
    return [m for m in methods if m.ships_to(country) and m.currency == currency]


def choose_method(
    offered: Sequence[ShippingMethod], country: str, wanted: str | None, prefix: str = ""
) -> ShippingMethod:
    """The method asked for, or the first offered; a 400 naming the field at fault when the
    shop does not ship there, or not that way."""
    if not offered:
        name = countries()[country].name if country in countries() else country
        raise field_error(f"{prefix}country", f"the shop does not ship to {name}")
    if wanted is None:
        return offered[0]
    for method in offered:
        if method.code == wanted:
            return method
    choices = ", ".join(m.code for m in offered)
    raise field_error("shipping_method", f"ships there only as one of: {choices}")


def tax_rate_for(rates: Sequence[TaxRate], where: Destination) -> TaxRate | None:
    """The region's own rate, else the country's."""
    by_region = {r.region: r for r in rates if r.country == where.country}
    return by_region.get(where.region) or by_region.get("")


def discount_problem(
    discount: Discount | None, subtotal: int, currency: str, now: datetime
) -> str | None:
    """Why a code cannot be used on this order, in the shopper's words; None: it can."""
    if discount is None or not discount.active:
        return "this code is not one the shop knows"
    if discount.starts_at is not None and now < discount.starts_at:
        return "this code cannot be used yet"
    if discount.ends_at is not None and now >= discount.ends_at:
        return "this code has expired"
    if discount.max_redemptions is not None and discount.redemptions >= discount.max_redemptions:
        return "this code has been used up"
    if discount.kind == "amount" and discount.currency != currency:
        return f"this code is for orders in {discount.currency}"
    if subtotal < discount.min_subtotal_cents:
        least = money(discount.min_subtotal_cents, currency)
        return f"this code needs goods worth at least {least}"
    return None


def subtotal(lines: Sequence[PricedLine]) -> int:
    return sum(line.quantity * line.unit_price_cents for line in lines)


# Babel's formatting is a tenth of an email's CPU (bench/README.md); the same amounts come back
# all the time (unit prices, shipping fees, zero).
@lru_cache(maxsize=4096)
def money(cents: int, currency: str) -> str:
    """`cents` minor units of `currency`, as the currency writes them ("$12.99", "¥1,299")."""
    return format_currency(cents / 10 ** get_currency_precision(currency), currency, locale=ENGLISH)


def _rounded(amount: int, rate_bp: int) -> int:
    """`amount` times the rate, to the nearest cent (halves up)."""
    return (amount * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


def price(
    lines: list[PricedLine],
    method: ShippingMethod,
    tax: TaxRate | None,
    discount: Discount | None,
) -> Totals:
    """Goods, shipping, the discount on either, and the tax on what is left to pay for: on
    the goods, and on the shipping where the rate says so."""
    goods = subtotal(lines)
    shipping = method.price_for(goods)
    off_goods = off_shipping = 0
    if discount is not None:
        if discount.kind == "percent":
            off_goods = _rounded(goods, (discount.percent_off or 0) * 100)
        elif discount.kind == "amount":
            off_goods = min(goods, discount.amount_off_cents or 0)
        else:
            off_shipping = shipping
    taxed = goods - off_goods
    if tax is not None and tax.on_shipping:
        taxed += shipping - off_shipping
    return Totals(
        subtotal=goods,
        shipping=shipping,
        tax=_rounded(taxed, tax.rate_bp) if tax is not None else 0,
        discount=off_goods + off_shipping,
    )
