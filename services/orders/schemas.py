"""Request bodies the orders service accepts."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from petshore.bodies import Address, Body, CountryCode, Email, OptionalText, Text
from petshore.errors import field_error
from services.orders import addresses, pricing
from services.orders.addresses import Destination

MAX_UNITS = 10_000_000
MAX_CENTS = 10**12

METHOD_CODE = r"^[a-z0-9][a-z0-9-]{0,31}$"
ShippingMethodCode = Annotated[str, StringConstraints(pattern=METHOD_CODE)]
# Typed as a shopper types it; the shop keeps codes in upper case.
DiscountCodeText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
    ),
]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Payment(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Checkout(Body):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email
    shipping_address: Address
    payment: Payment
    # Beyond the contract: how it ships (else the first method that ships there), and a code.
    shipping_method: ShippingMethodCode | None = None
    discount_code: DiscountCodeText | None = None

    def identity(self) -> dict[str, Any]:
        """What makes two checkouts the same request (for its Idempotency-Key). Fields added
        since the contract count only when given: a retry that reaches an upgraded instance
        during a rolling deploy is still the same request."""
        added = ("shipping_method", "discount_code")
        return self.model_dump(exclude={name for name in added if getattr(self, name) is None})


class DiscountCodeModel(Body):
    """A code as a path names it."""

    code: DiscountCodeText


class QuoteRequest(Body):
    """What a cart would cost, shipped to `country` (and `region`) as the checkout would
    price it."""

    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    country: CountryCode
    region: OptionalText | None = None
    shipping_method: ShippingMethodCode | None = None
    discount_code: DiscountCodeText | None = None


class ShippingMethodBody(Body):
    name: Text
    price_cents: Cents
    currency: Currency
    free_over_cents: Cents | None = None
    min_days: int = Field(ge=0, le=365)
    max_days: int = Field(ge=0, le=365)
    countries: list[CountryCode] | None = Field(default=None, min_length=1, max_length=300)
    position: int = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _days_in_order(self) -> Self:
        if self.max_days < self.min_days:
            raise ValueError("max_days is at least min_days")
        return self

    def method(self, code: str) -> pricing.ShippingMethod:
        """The method, once each country it names is one the shop can ship to."""
        unknown = [c for c in self.countries or () if c not in addresses.countries()]
        if unknown:
            raise field_error("countries", f"no such countries: {', '.join(unknown)}")
        countries = tuple(self.countries) if self.countries is not None else None
        fields = self.model_dump(exclude={"countries"})
        return pricing.ShippingMethod(code=code, **fields, countries=countries)


class TaxRateBody(Body):
    name: Text
    rate_bp: int = Field(ge=0, le=10_000, description="basis points: 725 is 7.25%")
    on_shipping: bool = False

    def rate(self, where: Destination) -> pricing.TaxRate:
        return pricing.TaxRate(where.country, where.region, **self.model_dump())


class DiscountBody(Body):
    kind: Literal["percent", "amount", "free_shipping"]
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off_cents: int | None = Field(default=None, ge=1, le=MAX_CENTS)
    currency: Currency | None = None
    min_subtotal_cents: Cents = 0
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: int | None = Field(default=None, ge=1, le=10**9)
    active: bool = True

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = {
            "percent_off": self.percent_off is not None,
            "amount_off_cents": self.amount_off_cents is not None,
            "currency": self.currency is not None,
        }
        wanted = {
            "percent": {"percent_off"},
            "amount": {"amount_off_cents", "currency"},
            "free_shipping": set(),
        }[self.kind]
        wrong = sorted(name for name, present in given.items() if present != (name in wanted))
        if wrong:
            takes = ", ".join(sorted(wanted)) if wanted else "no amount"
            raise ValueError(f"a {self.kind} code takes {takes} (check {', '.join(wrong)})")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at is after starts_at")
        return self

    def discount(self, code: str) -> pricing.Discount:
        """The code as new: its uses so far are the store's to keep."""
        return pricing.Discount(code=code, redemptions=0, **self.model_dump())


class SetInventory(Body):
    available: int = Field(ge=0, le=MAX_UNITS)
    reason: Text | None = None  # beyond the contract: why, for the stock's history


class AdjustInventory(Body):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS)
    reason: Text


class Fulfilment(Body):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    tracking_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
    ]


class Cancellation(Body):
    reason: Text | None = None


class RefundRequest(Body):
    amount_cents: int | None = Field(default=None, ge=1, le=10**12)
