"""Money given back under faults, counted at the payment provider (the Stripe double's own
ledger): a cancellation whose service was killed while the provider held its refund, and a
refund whose client hung up and retried, each pay the shopper back exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.faults.faultstack import FaultStack
from tests.helpers import ADMIN, checkout_body, create_product, new_cart, set_stock

# The reconciler runs every second in the fault stack; this is many rounds.
SETTLE_SECONDS = 30


@pytest.fixture
def clients(faults: FaultStack) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        httpx.Client(base_url=faults.stack.gateway_url, timeout=30) as gateway,
        httpx.Client(base_url=faults.payments_url, timeout=30) as double,
    ):
        yield gateway, double
        double.post("/_double/faults", json={})


def _paid_order(gateway: httpx.Client) -> tuple[dict[str, Any], str]:
    product = create_product(gateway, price_cents=2500)
    set_stock(gateway, product["sku"], 5)
    placed = gateway.post(
        "/api/orders/orders",
        json=checkout_body(new_cart(gateway, {product["sku"]: 2})),
        headers={"Idempotency-Key": f"refund-fault-{time.time_ns()}"},
    )
    assert placed.status_code == 201, placed.text
    return placed.json(), product["sku"]


def _refunds_at_provider(double: httpx.Client, reference: str) -> list[int]:
    ledger = double.get("/_double/payment_intents").json()
    intent = next(e for e in ledger if e["payment_intent"]["id"] == reference)
    return [r["amount"] for r in intent["refunds"] if r["status"] == "succeeded"]


def _wait_until_held(double: httpx.Client) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not double.get("/_double/faults").json()["held"]:
        assert time.monotonic() < deadline, "the provider never held a request"
        time.sleep(0.1)


def _paid_out(gateway: httpx.Client, order_id: str) -> dict[str, Any]:
    """The order once no refund of it is pending any more."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        order = gateway.get(f"/api/orders/orders/{order_id}", headers=ADMIN).json()
        if order["refunds"] and all(r["state"] != "pending" for r in order["refunds"]):
            return dict(order)
        assert time.monotonic() < deadline, order
        time.sleep(0.5)


def test_a_cancellation_killed_mid_refund_pays_back_once(
    faults: FaultStack, clients: tuple[httpx.Client, httpx.Client]
) -> None:
    gateway, double = clients
    order, sku = _paid_order(gateway)
    path = f"/api/orders/orders/{order['order_id']}/cancellation"
    double.post("/_double/faults", json={"hang": True})
    # Below the gateway's own upstream timeout (2 s), so it is this client that gives up.
    with pytest.raises(httpx.ReadTimeout):
        gateway.post(path, headers=ADMIN, timeout=1)
    _wait_until_held(double)
    faults.restart("orders")  # SIGKILL while the provider holds the refund
    double.post("/_double/faults", json={})
    settled = _paid_out(gateway, order["order_id"])
    assert settled["status"] == "cancelled"
    assert [(r["amount_cents"], r["state"]) for r in settled["refunds"]] == [(5000, "done")]
    reference = settled["payment_reference"]
    assert _refunds_at_provider(double, reference) == [5000]
    # Stock came back once, and asking again moves neither stock nor money.
    stock = gateway.get("/api/orders/inventory", params={"skus": sku}).json()["items"]
    assert stock == [{"sku": sku, "available": 5}]
    assert gateway.post(path, headers=ADMIN).status_code == 200
    assert _refunds_at_provider(double, reference) == [5000]
    assert gateway.get("/api/orders/inventory", params={"skus": sku}).json()["items"] == stock


def test_a_refund_retried_after_the_client_hung_up_pays_once(
    faults: FaultStack, clients: tuple[httpx.Client, httpx.Client]
) -> None:
    gateway, double = clients
    order, _ = _paid_order(gateway)
    path = f"/api/orders/orders/{order['order_id']}/refunds"
    double.post("/_double/faults", json={"delay_seconds": 3, "count": 1})
    with pytest.raises(httpx.ReadTimeout):
        gateway.post(path, json={"amount_cents": 700}, headers=ADMIN, timeout=1)
    retried = gateway.post(path, json={"amount_cents": 700}, headers=ADMIN)
    assert retried.status_code == 200, retried.text
    settled = _paid_out(gateway, order["order_id"])
    assert settled["status"] == "paid" and settled["refunded_cents"] == 700
    assert [(r["amount_cents"], r["state"]) for r in settled["refunds"]] == [(700, "done")]
    assert _refunds_at_provider(double, settled["payment_reference"]) == [700]
