"""Checkout under faults injected into real processes, mid-load: after each, every key has
at most one order, every paid order is found again by retrying its key, stock is the initial
stock less the paid units, every charge kept belongs to a paid order, no order stays pending
past the reconciler's threshold, and nothing answered 500 (tests/faults/harness.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.faultstack import FaultStack
from tests.faults.harness import (
    Findings,
    Shopper,
    catalog_frozen,
    database_restart,
    orders_killed,
    provider_stalled_and_orders_killed,
    scenario,
)

SHOPPERS = 36


def _kept_everything(findings: Findings) -> None:
    assert not findings.problems, findings.summary()
    assert findings.by_status["paid"] > 0, findings.summary()


def _answers(shoppers: list[Shopper]) -> set[int | str]:
    return {answer for shopper in shoppers for answer in shopper.answers}


def test_the_database_stopped_and_started_mid_load(faults: FaultStack) -> None:
    shoppers, findings = asyncio.run(scenario(faults, database_restart, shoppers=SHOPPERS))
    _kept_everything(findings)
    assert 503 in _answers(shoppers), "the outage was answered with 503s"


def test_the_orders_service_killed_and_restarted_mid_load(faults: FaultStack) -> None:
    shoppers, findings = asyncio.run(scenario(faults, orders_killed, shoppers=SHOPPERS, seed=11))
    _kept_everything(findings)
    assert "ConnectError" in _answers(shoppers), "shoppers found the service gone"


@pytest.mark.parametrize("through_gateway", [False, True], ids=["direct", "gateway"])
def test_a_frozen_catalog_and_shoppers_who_hang_up_and_retry(
    faults: FaultStack, through_gateway: bool
) -> None:
    """The double order of issue 10: a checkout waits on a frozen peer, its client hangs up
    after 1 s and retries the same key 0.3 s later, then the peer wakes up."""
    shoppers, findings = asyncio.run(
        scenario(
            faults,
            catalog_frozen,
            shoppers=SHOPPERS,
            through_gateway=through_gateway,
            timeout=1.0,
            seed=3,
        )
    )
    _kept_everything(findings)
    assert "ReadTimeout" in _answers(shoppers), "some clients did hang up"


def test_a_stalled_payment_provider_and_a_killed_service(faults: FaultStack) -> None:
    """Checkouts stuck in the provider when their process dies: the reconciler (and the
    provider's webhooks) settle them, and money is kept only for paid orders."""
    _, findings = asyncio.run(
        scenario(faults, provider_stalled_and_orders_killed, shoppers=SHOPPERS, seed=5)
    )
    _kept_everything(findings)
