"""Order confirmations through SES (the emulator's, which writes each email it accepts to the
outbox folder), sent by the orders service's mail sender once the checkout has answered, and
the order saying whether one was sent."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from devstack.stack import LOCAL_MAIL_SENDER
from tests.helpers import (
    checkout_body,
    create_product,
    emails_to,
    new_cart,
    polled,
    set_stock,
)


def _checkout(gateway: httpx.Client, address: str, token: str) -> httpx.Response:
    product = create_product(gateway, name="Rope toy", price_cents=1299)
    set_stock(gateway, product["sku"], 3)
    body = {**checkout_body(new_cart(gateway, {product["sku"]: 2}), token), "email": address}
    return gateway.post(
        "/api/orders/orders", json=body, headers={"Idempotency-Key": f"mail-{time.time_ns()}"}
    )


def test_a_paid_order_is_confirmed_by_email_once(gateway: httpx.Client, outbox: Path) -> None:
    address = f"buyer-{time.time_ns()}@example.com"
    placed = _checkout(gateway, address, "tok_visa")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    [message] = emails_to(outbox, address)
    assert order["order_id"] in message["Subject"]
    assert message["From"] == f"Pet Shore <{LOCAL_MAIL_SENDER}>"
    body = message.get_content()
    assert "2 x Rope toy" in body and "$25.98" in body
    assert f"/order/{order['order_id']}" in body
    sent_at = _confirmed(gateway, order["order_id"])
    assert sent_at is not None
    # Later rounds of the sender, and reading the order again, send nothing more.
    time.sleep(1.5)
    assert _confirmed(gateway, order["order_id"]) == sent_at
    assert len(emails_to(outbox, address, at_least=2, timeout=0)) == 1


def _confirmed(gateway: httpx.Client, order_id: str) -> str | None:
    """When the order's confirmation was sent, once the sender has recorded it."""
    sent = polled(
        lambda: gateway.get(f"/api/orders/orders/{order_id}").json()["confirmation_sent_at"],
        lambda sent: sent is not None,
        10,
        0.1,
    )
    return str(sent) if sent else None


def test_a_declined_order_gets_no_confirmation(gateway: httpx.Client, outbox: Path) -> None:
    address = f"declined-{time.time_ns()}@example.com"
    declined = _checkout(gateway, address, "tok_chargeDeclined")
    assert declined.status_code == 402
    order = gateway.get(f"/api/orders/orders/{declined.json()['error']['details']['order_id']}")
    assert order.json()["confirmation_sent_at"] is None
    assert emails_to(outbox, address, timeout=1.5) == []
