"""Order confirmations through SES (the emulator's, which writes each email it accepts to the
outbox folder), and the order saying whether one was sent."""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.helpers import checkout_body, create_product, new_cart, set_stock


def _emails_to(outbox: Path, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found  # type: ignore[return-value]


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
    assert order["confirmation_sent_at"] is not None
    [message] = _emails_to(outbox, address)
    assert order["order_id"] in message["Subject"]
    body = message.get_content()
    assert "2 x Rope toy" in body and "$25.98" in body
    assert f"/order/{order['order_id']}" in body
    # Reading the order again, or the reconciler's rounds, send nothing more.
    again = gateway.get(f"/api/orders/orders/{order['order_id']}").json()
    assert again["confirmation_sent_at"] == order["confirmation_sent_at"]
    assert len(_emails_to(outbox, address)) == 1


def test_a_declined_order_gets_no_confirmation(gateway: httpx.Client, outbox: Path) -> None:
    address = f"declined-{time.time_ns()}@example.com"
    declined = _checkout(gateway, address, "tok_chargeDeclined")
    assert declined.status_code == 402
    order = gateway.get(f"/api/orders/orders/{declined.json()['error']['details']['order_id']}")
    assert order.json()["confirmation_sent_at"] is None
    assert _emails_to(outbox, address) == []
