"""Stripe as the payment provider: PaymentIntents through the official SDK.

Every request that changes something carries a Stripe Idempotency-Key derived from the
caller's key, and the SDK's own retries reuse it, so a retry after a timeout gets Stripe's
first answer back instead of a second charge. A decline is an answer, not an error. Anything
that leaves the outcome unknown (network errors, timeouts, 5xx, 429, a concurrent request with
the same key, a refused API key) raises `Unavailable`: the caller asks again later.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from typing import Any

import stripe

from petshore.errors import Conflict, InvalidRequest, Unavailable
from services.orders.payments import Payment, PaymentState

log = logging.getLogger("petshore.payments.stripe")

TOKEN = re.compile(r"^(tok|pm)_[A-Za-z0-9_]{1,250}$")
# Each retry reuses the request's Idempotency-Key; two retries ride out a blip without making
# a shopper wait for more than three timeouts.
NETWORK_RETRIES = 2
MAX_IDEMPOTENCY_KEY = 255  # Stripe refuses longer keys
UNEXPECTED_STATE = "payment_intent_unexpected_state"
AUTHENTICATION_REQUIRED = "authentication_required"
# The events that report an outcome; payment_intent.created and the like tell nothing new.
OUTCOME_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
    }
)


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=self._http,
        )
        self._intents = self._client.v1.payment_intents

    def accepts(self, token: str) -> bool:
        return TOKEN.fullmatch(token) is not None  # `$` alone lets "tok_x\n" through

    async def create(
        self, *, order_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> Payment:
        try:
            intent = await self._intents.create_async(
                {
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "metadata": {"order_id": order_id},
                    "payment_method_types": ["card"],
                },
                {"idempotency_key": _stripe_key(idempotency_key, "create")},
            )
        except stripe.StripeError as exc:
            raise _unavailable("creating a payment", exc) from exc
        return _payment(intent)

    async def confirm(self, reference: str, *, token: str, idempotency_key: str) -> Payment:
        card: dict[str, Any] = (
            {"payment_method": token}
            if token.startswith("pm_")
            else {"payment_method_data": {"type": "card", "card": {"token": token}}}
        )
        try:
            intent = await self._intents.confirm_async(
                reference, card, {"idempotency_key": _stripe_key(idempotency_key, "confirm")}
            )
        except stripe.CardError as exc:
            return await self._declined(reference, exc)
        except stripe.InvalidRequestError as exc:
            if exc.code == UNEXPECTED_STATE:  # cancelled or settled before: answer as it stands
                return await self.retrieve(reference)
            if (exc.param or "").startswith("payment_method"):
                # Stripe knows no such card (a made-up or spent token): nothing was charged,
                # and the shopper can act on it as on a decline.
                payment = await self.retrieve(reference)
                if payment.state is not PaymentState.UNCONFIRMED:
                    return payment
                return replace(
                    payment, state=PaymentState.DECLINED, decline_reason="invalid_payment_method"
                )
            raise _unavailable("charging a payment", exc) from exc
        except stripe.StripeError as exc:
            raise _unavailable("charging a payment", exc) from exc
        if intent.status == "requires_action":
            # This checkout has no step where the shopper could authenticate (3-D Secure), so
            # the intent would wait forever; cancelling it means nobody can complete it later,
            # and the shopper is told to use another card, as after a decline.
            cancelled = await self.cancel(reference)
            if cancelled.state is not PaymentState.CANCELED:
                return cancelled
        return _payment(intent)

    async def retrieve(self, reference: str) -> Payment:
        try:
            intent = await self._intents.retrieve_async(reference)
        except stripe.StripeError as exc:
            raise _unavailable("looking up a payment", exc) from exc
        return _payment(intent)

    async def cancel(self, reference: str) -> Payment:
        try:
            intent = await self._intents.cancel_async(reference)
        except stripe.InvalidRequestError as exc:
            if exc.code != UNEXPECTED_STATE:
                raise _unavailable("cancelling a payment", exc) from exc
            return await self.retrieve(reference)  # already cancelled, or settled
        except stripe.StripeError as exc:
            raise _unavailable("cancelling a payment", exc) from exc
        return _payment(intent)

    async def refund(self, reference: str, *, amount_cents: int, idempotency_key: str) -> str:
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": reference, "amount": amount_cents},
                {"idempotency_key": _stripe_key(idempotency_key, "refund")},
            )
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise _unavailable("refunding a payment", exc) from exc
            # More than is left, already refunded, or never charged: asking again cannot help.
            raise Conflict(
                f"the payment provider refused the refund: {exc.user_message}",
                {"reason": exc.code},
            ) from exc
        except stripe.StripeError as exc:
            raise _unavailable("refunding a payment", exc) from exc
        return refund.id

    def event(self, payload: bytes, signature: str) -> Payment | None:
        try:
            event = self._client.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            # ValueError: a body that is not UTF-8 JSON, which no signature can vouch for.
            raise InvalidRequest(
                "the Stripe-Signature does not verify this webhook",
                {"fields": ["Stripe-Signature"]},
            ) from exc
        if event.type not in OUTCOME_EVENTS:
            return None
        return _payment(event.data.object)

    async def close(self) -> None:
        await self._http.close_async()

    async def _declined(self, reference: str, exc: stripe.CardError) -> Payment:
        error = exc.error
        intent = _field(error, "payment_intent")
        payment = _payment(intent) if intent is not None else await self.retrieve(reference)
        reason = _field(error, "decline_code") or exc.code or "card_declined"
        return replace(payment, state=PaymentState.DECLINED, decline_reason=reason)


def _field(obj: Any, name: str) -> Any:
    """A field Stripe may leave out: StripeObject raises AttributeError for those."""
    return obj[name] if obj is not None and name in obj else None


def _stripe_key(idempotency_key: str, kind: str) -> str:
    """Stripe's key for one kind of request made under the caller's key: Stripe refuses one
    key for two endpoints, and keeps each kind's first answer."""
    key = f"{idempotency_key}:{kind}"
    if len(key) > MAX_IDEMPOTENCY_KEY:
        key = f"{hashlib.sha256(idempotency_key.encode()).hexdigest()}:{kind}"
    return key


def _payment(intent: Any) -> Payment:
    status = intent.status
    error = _field(intent, "last_payment_error")
    state, reason = PaymentState.PROCESSING, None
    if status == "succeeded":
        state = PaymentState.SUCCEEDED
    elif status == "canceled":
        state = PaymentState.CANCELED
    elif status == "requires_action":  # see `confirm`: no authentication step here
        state, reason = PaymentState.DECLINED, AUTHENTICATION_REQUIRED
    elif status == "requires_payment_method" and error is not None:
        state = PaymentState.DECLINED
        reason = _field(error, "decline_code") or _field(error, "code") or "card_declined"
    elif status in ("requires_payment_method", "requires_confirmation"):
        state = PaymentState.UNCONFIRMED
    # Anything else (processing, requires_capture, a status newer than this code) may still
    # move money: PROCESSING makes the caller ask again rather than assume nothing happened.
    return Payment(
        reference=intent.id,
        state=state,
        amount_cents=intent.amount,
        order_id=_field(intent.metadata, "order_id"),
        decline_reason=reason,
    )


def _unavailable(doing: str, exc: stripe.StripeError) -> Unavailable:
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        # A wrong or revoked key: no retry fixes that, an operator must.
        log.error("Stripe refused the API key while %s: %s", doing, exc.user_message)
        return Unavailable("payments are not available right now; try again later")
    if isinstance(exc, stripe.APIConnectionError):
        message = "the payment provider did not answer in time; try again"
    elif isinstance(exc, stripe.RateLimitError):
        message = "the payment provider is busy; try again"
    elif isinstance(exc, stripe.APIError) and exc.http_status == 409:
        message = "another request for this payment is still in progress; try again"
    elif isinstance(exc, stripe.APIError):
        message = "the payment provider failed; try again"
    else:
        # A request Stripe refuses (an unknown intent, a key reused with other parameters)
        # is this service's bug or a key from another account, not the shopper's doing.
        log.error("Stripe refused a request while %s: %r", doing, exc)
        return Unavailable("payments are not available right now; try again later")
    log.warning("Stripe unavailable while %s: %r", doing, exc)
    return Unavailable(message)
