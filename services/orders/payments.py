"""Payment providers. Checkout talks to `PaymentProvider` only; `test` follows the common
test-card token convention so shops and tests can check out without a real processor."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar, Protocol

from petshore.settings import SettingsError


@dataclass(frozen=True)
class Charge:
    succeeded: bool
    reference: str
    decline_reason: str | None = None


class PaymentProvider(Protocol):
    name: str

    def accepts(self, token: str) -> bool:
        """Whether `token` is one this provider can charge at all (checked before stock)."""
        ...

    async def charge(
        self, *, amount_cents: int, currency: str, token: str, idempotency_key: str
    ) -> Charge: ...


class TestProvider:
    """Never moves money. Tokens as in Stripe's test mode."""

    name = "test"
    SUCCEEDS = frozenset({"tok_visa", "tok_mastercard", "tok_amex"})
    DECLINES: ClassVar[dict[str, str]] = {
        "tok_chargeDeclined": "card_declined",
        "tok_chargeDeclinedInsufficientFunds": "insufficient_funds",
        "tok_chargeDeclinedExpiredCard": "expired_card",
    }

    def accepts(self, token: str) -> bool:
        return token in self.SUCCEEDS or token in self.DECLINES

    async def charge(
        self, *, amount_cents: int, currency: str, token: str, idempotency_key: str
    ) -> Charge:
        # The same key yields the same reference, as a real provider's idempotent charge would.
        reference = "ch_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if token in self.SUCCEEDS:
            return Charge(succeeded=True, reference=reference)
        return Charge(succeeded=False, reference=reference, decline_reason=self.DECLINES[token])


PROVIDERS: dict[str, type[TestProvider]] = {"test": TestProvider}


def provider_named(name: str) -> PaymentProvider:
    try:
        return PROVIDERS[name]()
    except KeyError as exc:
        raise SettingsError(
            f"unknown payment provider {name!r}; known: {', '.join(PROVIDERS)}"
        ) from exc
