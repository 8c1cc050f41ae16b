"""Order emails: the confirmation of a paid order, made as a plain function of the order, and
sent through Amazon SES (the emulator's locally) at least once and, but for a crash between
SES's answer and the record of it, exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from babel.numbers import format_currency, get_currency_precision

from petshore.aws import deadline
from petshore.logs import redact
from petshore.timestamps import utcnow
from services.orders import store

log = logging.getLogger("petshore.orders.mail")

SHOP_NAME = "Pet Shore"
# A claim older than this was made by a sender that stopped: another may send.
CLAIM_SECONDS = 300
# Orders older than this get no confirmation any more: it would be news of nothing.
CONFIRM_WITHIN = timedelta(days=2)


@dataclass(frozen=True)
class Mailer:
    ses: Any  # an aiobotocore SESv2 client
    sender: str
    storefront_url: str | None
    timeout: float


def money(cents: int, currency: str) -> str:
    """`cents` minor units of `currency`, as the currency writes them ("$12.99", "¥1,299")."""
    return format_currency(cents / 10 ** get_currency_precision(currency), currency, locale="en")


def confirmation(order: dict[str, Any], sender: str, storefront_url: str | None) -> EmailMessage:
    currency = order["currency"]
    lines = [
        f"{item['quantity']} x {item['name']} ({item['sku']})   "
        f"{money(item['quantity'] * item['unit_price_cents'], currency)}"
        for item in order["items"]
    ]
    address = order["shipping_address"]
    ship_to = [
        address["name"],
        address["line1"],
        *([address["line2"]] if address.get("line2") else []),
        " ".join(p for p in (address["postal_code"], address["city"]) if p),
        *([address["region"]] if address.get("region") else []),
        address["country"],
    ]
    totals = [
        f"Subtotal: {money(order['subtotal_cents'], currency)}",
        f"Shipping: {money(order['shipping_cents'], currency)}",
        f"Tax: {money(order['tax_cents'], currency)}",
        *(
            [f"Discount: -{money(order['discount_cents'], currency)}"]
            if order["discount_cents"]
            else []
        ),
        f"Total paid: {money(order['total_cents'], currency)}",
    ]
    link = (
        [f"Your order: {storefront_url.rstrip('/')}/order/{order['id']}"] if storefront_url else []
    )
    message = EmailMessage()
    message["Subject"] = f"Pet Shore order {order['id']} is confirmed"
    message["From"] = formataddr((SHOP_NAME, sender))
    message["To"] = order["email"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=order["id"], domain=sender.rpartition("@")[2])
    message.set_content(
        "\n".join(
            [
                f"Thank you for your order, {address['name']}.",
                "",
                *lines,
                "",
                *totals,
                "",
                "Ships to:",
                *ship_to,
                "",
                *link,
                f"Order {order['id']}, placed {order['created_at']:%Y-%m-%d %H:%M} UTC.",
            ]
        )
    )
    return message


async def confirm(mailer: Mailer | None, order: dict[str, Any]) -> None:
    """Send a paid order's confirmation unless it was sent, or another sender has it now. A
    failure is logged; the reconciler's rounds send what is still unsent."""
    if mailer is None or order["status"] != "paid" or order["confirmation_sent_at"]:
        return
    now = utcnow()
    if not await store.claim_confirmation(order["id"], now, now - timedelta(seconds=CLAIM_SECONDS)):
        return
    try:
        async with deadline(mailer.timeout, "email"):
            await mailer.ses.send_email(
                FromEmailAddress=mailer.sender,
                Destination={"ToAddresses": [order["email"]]},
                Content={
                    "Raw": {
                        "Data": confirmation(order, mailer.sender, mailer.storefront_url).as_bytes()
                    }
                },
            )
    except Exception as exc:
        log.warning("confirmation not sent yet: %r", exc, extra={"order_id": redact(order["id"])})
        await store.release_confirmation(order["id"], now)
        return
    await store.confirmation_sent(order["id"], utcnow())


async def confirm_unsent(mailer: Mailer | None, limit: int = 100) -> int:
    """Send the confirmations that paid orders of the last two days still lack; how many
    were tried."""
    if mailer is None:
        return 0
    now = utcnow()
    sent = 0
    for order_id in await store.unconfirmed_orders(
        paid_since=now - CONFIRM_WITHIN,
        claimed_before=now - timedelta(seconds=CLAIM_SECONDS),
        limit=limit,
    ):
        order = await store.get_order(order_id)
        await confirm(mailer, order)
        sent += 1
    return sent
