from __future__ import annotations

import asyncio

import pytest

from petshore.errors import InvalidRequest
from services.orders.payments import PaymentState, TestProvider


async def _pay(provider: TestProvider, token: str, key: str) -> PaymentState:
    created = await provider.create(
        order_id="ord_1", amount_cents=100, currency="USD", idempotency_key=key
    )
    assert created.state is PaymentState.UNCONFIRMED
    return (await provider.confirm(created.reference, token=token, idempotency_key=key)).state


def test_test_provider_follows_the_token_convention() -> None:
    provider = TestProvider()
    assert asyncio.run(_pay(provider, "tok_visa", "a")) is PaymentState.SUCCEEDED
    assert asyncio.run(_pay(provider, "tok_chargeDeclined", "b")) is PaymentState.DECLINED
    assert provider.accepts("tok_visa") and not provider.accepts("tok_unknown")


def test_one_key_is_one_payment_and_a_cancelled_one_is_never_charged() -> None:
    provider = TestProvider()

    async def scenario() -> None:
        first = await provider.create(
            order_id="o", amount_cents=5, currency="USD", idempotency_key="k"
        )
        again = await provider.create(
            order_id="o", amount_cents=5, currency="USD", idempotency_key="k"
        )
        assert first.reference == again.reference
        assert (await provider.cancel(first.reference)).state is PaymentState.CANCELED
        late = await provider.confirm(first.reference, token="tok_visa", idempotency_key="k")
        assert late.state is PaymentState.CANCELED

        paid = await provider.create(
            order_id="p", amount_cents=5, currency="USD", idempotency_key="p"
        )
        await provider.confirm(paid.reference, token="tok_visa", idempotency_key="p")
        assert (await provider.cancel(paid.reference)).state is PaymentState.SUCCEEDED

    asyncio.run(scenario())


def test_test_provider_sends_no_webhooks() -> None:
    with pytest.raises(InvalidRequest):
        TestProvider().event(b"{}", "t=1,v1=x")
