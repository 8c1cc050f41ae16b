"""Payment providers. Checkout and the reconciler talk to `PaymentProvider` only.

A payment is made in two steps, as with Stripe's PaymentIntents: `create` records an intent
(no money moves), and `confirm` charges it. The order stores the intent's reference between
the two, so whoever finds an order stuck half-way can always learn what happened to its money
(`retrieve`) and stop a charge that has not happened yet (`cancel`): a cancelled intent can
never be confirmed later, by anyone.

`test` follows the common test-card token convention so shops and tests can check out
without a real processor; `stripe` (services/orders/stripe_payments.py) is the real one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import ClassVar, Protocol

from petshore.errors import InvalidRequest


class PaymentState(StrEnum):
    UNCONFIRMED = "unconfirmed"  # created, never confirmed: no money moved
    PROCESSING = "processing"  # confirmed, the outcome is not known yet
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    CANCELED = "canceled"  # can never be charged


@dataclass(frozen=True)
class Payment:
    reference: str  # the provider's id of the payment (a PaymentIntent id)
    state: PaymentState
    amount_cents: int
    order_id: str | None = None  # as given to `create`; webhook events carry it back
    decline_reason: str | None = None


class PaymentProvider(Protocol):
    """Every method raises `petshore.errors.Unavailable` when the provider cannot be reached
    or cannot say (timeouts, 5xx, rate limits, a concurrent request with the same key)."""

    name: str

    def accepts(self, token: str) -> bool:
        """Whether `token` is one this provider can charge at all (checked before stock)."""
        ...

    async def create(
        self, *, order_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> Payment:
        """An UNCONFIRMED payment for the order; the same key gives back the same payment."""
        ...

    async def confirm(self, reference: str, *, token: str, idempotency_key: str) -> Payment:
        """Charge it: SUCCEEDED, DECLINED or PROCESSING; a payment that was cancelled or
        already settled is answered as it stands, never charged again."""
        ...

    async def retrieve(self, reference: str) -> Payment: ...

    async def cancel(self, reference: str) -> Payment:
        """CANCELED, or the settled state that made cancelling impossible (SUCCEEDED)."""
        ...

    async def refund(self, reference: str, *, amount_cents: int, idempotency_key: str) -> str:
        """Give back `amount_cents` of a SUCCEEDED payment; the refund's reference."""
        ...

    def event(self, payload: bytes, signature: str) -> Payment | None:
        """The payment a webhook event reports, once its signature is verified (else
        `InvalidRequest`); None for events that are not about a payment's outcome."""
        ...

    async def close(self) -> None: ...


class TestProvider:
    """Never moves money. Tokens as in Stripe's test mode. It keeps its payments in memory,
    so after a restart a payment it no longer knows is one that never happened."""

    __test__ = False  # a payment provider, not a class of tests

    name = "test"
    SUCCEEDS = frozenset({"tok_visa", "tok_mastercard", "tok_amex"})
    DECLINES: ClassVar[dict[str, str]] = {
        "tok_chargeDeclined": "card_declined",
        "tok_chargeDeclinedInsufficientFunds": "insufficient_funds",
        "tok_chargeDeclinedExpiredCard": "expired_card",
    }

    def __init__(self) -> None:
        self._payments: dict[str, Payment] = {}

    def accepts(self, token: str) -> bool:
        return token in self.SUCCEEDS or token in self.DECLINES

    async def create(
        self, *, order_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> Payment:
        # The same key yields the same reference, as a real provider's idempotent call would.
        reference = "pi_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return self._payments.setdefault(
            reference, Payment(reference, PaymentState.UNCONFIRMED, amount_cents, order_id)
        )

    async def confirm(self, reference: str, *, token: str, idempotency_key: str) -> Payment:
        payment = await self.retrieve(reference)
        if payment.state is not PaymentState.UNCONFIRMED:
            return payment
        if token in self.SUCCEEDS:
            settled = replace(payment, state=PaymentState.SUCCEEDED)
        else:
            reason = self.DECLINES.get(token, "card_declined")
            settled = replace(payment, state=PaymentState.DECLINED, decline_reason=reason)
        self._payments[reference] = settled
        return settled

    async def retrieve(self, reference: str) -> Payment:
        return self._payments.get(reference) or Payment(reference, PaymentState.UNCONFIRMED, 0)

    async def cancel(self, reference: str) -> Payment:
        payment = await self.retrieve(reference)
        if payment.state in (PaymentState.UNCONFIRMED, PaymentState.DECLINED):
            payment = replace(payment, state=PaymentState.CANCELED)
            self._payments[reference] = payment
        return payment

    async def refund(self, reference: str, *, amount_cents: int, idempotency_key: str) -> str:
        return "re_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]

    def event(self, payload: bytes, signature: str) -> Payment | None:
        raise InvalidRequest("the test payment provider sends no webhook events")

    async def close(self) -> None:
        return None
