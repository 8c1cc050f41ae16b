from __future__ import annotations

import asyncio

import pytest

from petshore.settings import SettingsError
from services.orders.payments import TestProvider, provider_named


def test_test_provider_follows_the_token_convention() -> None:
    provider = TestProvider()
    ok = asyncio.run(
        provider.charge(amount_cents=100, currency="USD", token="tok_visa", idempotency_key="k")
    )
    declined = asyncio.run(
        provider.charge(
            amount_cents=100, currency="USD", token="tok_chargeDeclined", idempotency_key="k"
        )
    )
    assert ok.succeeded and not declined.succeeded
    assert declined.decline_reason == "card_declined"
    assert ok.reference == declined.reference, "one key, one provider-side charge reference"
    assert provider.accepts("tok_visa") and not provider.accepts("tok_unknown")


def test_unknown_provider_is_a_settings_error() -> None:
    assert provider_named("test").name == "test"
    with pytest.raises(SettingsError):
        provider_named("stripe-ish")
