"""Order emails: the confirmation of a paid order and the shipping notice of a fulfilled one,
each made as a plain function of the order, and sent through Amazon SES (the emulator's
locally) by the mail sender (services/orders/sender.py) at least once and, but for a crash
between SES's answer and the record of it, exactly once."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any, Protocol

from petshore.aws import deadline, open_client
from petshore.logs import redact
from petshore.timestamps import utcnow
from services.orders import store
from services.orders.pricing import money
from services.orders.settings import Settings

log = logging.getLogger("petshore.orders.mail")

SHOP_NAME = "Pet Shore"
# A claim older than this was made by a sender that stopped: another may send.
CLAIM_SECONDS = 300
# How long an email SES did not take waits before it is tried again.
RETRY_SECONDS = 30
# An email due longer ago than this is not sent any more: it would be news of nothing.
NOTIFY_WITHIN = timedelta(days=2)
# Orders a round looks at, for each kind of email.
BATCH = 100
# Emails sent at once: their SES round trips overlap, and those SES took are recorded in one
# statement (a crash before that record sends at most this many a second time).
AT_ONCE = 16


@dataclass(frozen=True)
class Email:
    """An email as SES's simple content: SES makes the MIME message. (Making it here, for
    SES's raw content, was a fifth of the mail sender's CPU (bench/README.md "session 18"),
    and the Date and Message-ID headers it set are the ones SES replaces with its own.)"""

    to: str
    subject: str
    text: str

    def content(self) -> dict[str, Any]:
        """SES v2's `Content`."""
        return {
            "Simple": {
                "Subject": {"Data": self.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": self.text, "Charset": "UTF-8"}},
            }
        }


@dataclass(frozen=True)
class Mailer:
    ses: Any  # an aiobotocore SESv2 client
    sender: str
    storefront_url: str | None
    timeout: float


async def open_mailer(stack: AsyncExitStack, settings: Settings) -> Mailer | None:
    """SES, as the settings say; None without a sender address (no emails then)."""
    if settings.mail_sender is None:
        return None
    ses = await open_client(stack, "sesv2", settings.common)
    return Mailer(ses, settings.mail_sender, settings.storefront_url, settings.common.aws_timeout)


def _ship_to(address: dict[str, Any]) -> list[str]:
    return [
        address["name"],
        address["line1"],
        *([address["line2"]] if address.get("line2") else []),
        " ".join(p for p in (address["postal_code"], address["city"]) if p),
        *([address["region"]] if address.get("region") else []),
        address["country"],
    ]


def _lines(order: dict[str, Any]) -> list[str]:
    return [
        f"{item['quantity']} x {item['name']} ({item['sku']})   "
        f"{money(item['quantity'] * item['unit_price_cents'], order['currency'])}"
        for item in order["items"]
    ]


def _email(
    order: dict[str, Any], subject: str, body: list[str], storefront_url: str | None
) -> Email:
    link = (
        [f"Your order: {storefront_url.rstrip('/')}/order/{order['id']}"] if storefront_url else []
    )
    text = "\n".join(
        [
            *body,
            "",
            *link,
            f"Order {order['id']}, placed {order['created_at']:%Y-%m-%d %H:%M} UTC.",
        ]
    )
    return Email(order["email"], subject, text)


def _how(order: dict[str, Any]) -> str:
    return f" ({order['shipping_method_name']})" if order.get("shipping_method_name") else ""


def _code(order: dict[str, Any]) -> str:
    return f" ({order['discount_code']})" if order.get("discount_code") else ""


def confirmation(order: dict[str, Any], storefront_url: str | None) -> Email:
    currency = order["currency"]
    totals = [
        f"Subtotal: {money(order['subtotal_cents'], currency)}",
        f"Shipping{_how(order)}: {money(order['shipping_cents'], currency)}",
        *(
            [f"Discount{_code(order)}: -{money(order['discount_cents'], currency)}"]
            if order["discount_cents"]
            else []
        ),
        f"Tax: {money(order['tax_cents'], currency)}",
        f"Total paid: {money(order['total_cents'], currency)}",
    ]
    body = [
        f"Thank you for your order, {order['shipping_address']['name']}.",
        "",
        *_lines(order),
        "",
        *totals,
        "",
        "Ships to:",
        *_ship_to(order["shipping_address"]),
    ]
    subject = f"Pet Shore order {order['id']} is confirmed"
    return _email(order, subject, body, storefront_url)


def shipping_notice(order: dict[str, Any], storefront_url: str | None) -> Email:
    body = [
        f"Good news, {order['shipping_address']['name']}: your order is on its way.",
        "",
        f"Carrier: {order['carrier']}",
        f"Tracking number: {order['tracking_number']}",
        "",
        *_lines(order),
        "",
        "Ships to:",
        *_ship_to(order["shipping_address"]),
    ]
    subject = f"Pet Shore order {order['id']} has shipped"
    return _email(order, subject, body, storefront_url)


class Compose(Protocol):
    def __call__(self, order: dict[str, Any], storefront_url: str | None) -> Email: ...


COMPOSERS: dict[store.Notice, Compose] = {
    store.CONFIRMATION: confirmation,
    store.SHIPPING: shipping_notice,
}


async def send_due(
    mailer: Mailer, stopping: asyncio.Event | None = None, limit: int = BATCH
) -> int:
    """Claim and send the emails orders of the last two days are due, up to `limit` of each
    kind; how many were claimed. Once `stopping` is set, what is left of the claim is given
    back for another sender."""
    claimed = 0
    for notice in store.NOTICES:
        now = utcnow()
        due = await store.claim_due(
            notice,
            now=now,
            due_since=now - NOTIFY_WITHIN,
            stale_before=now - timedelta(seconds=CLAIM_SECONDS),
            limit=limit,
        )
        claimed += len(due)
        for start in range(0, len(due), AT_ONCE):
            if stopping is not None and stopping.is_set():
                await store.reclaim_notices(notice, [o["id"] for o in due[start:]], now, None)
                break
            await _send_group(mailer, due[start : start + AT_ONCE], notice, now)
    return claimed


async def _send_group(
    mailer: Mailer, orders: list[dict[str, Any]], notice: store.Notice, claimed_at: datetime
) -> None:
    """Send the `notice` of each order this sender claimed, at once, and record those SES
    took in one statement; what it did not take is tried again after RETRY_SECONDS, so it
    never holds up the emails behind it."""
    took = await asyncio.gather(*(_send(mailer, order, notice) for order in orders))
    sent = [order["id"] for order, ok in zip(orders, took, strict=True) if ok]
    refused = [order["id"] for order, ok in zip(orders, took, strict=True) if not ok]
    if sent:
        await store.notices_sent(notice, sent, utcnow())
    if refused:
        # A claim as if made that long ago goes stale RETRY_SECONDS from now.
        retry = claimed_at - timedelta(seconds=CLAIM_SECONDS - RETRY_SECONDS)
        await store.reclaim_notices(notice, refused, claimed_at, retry)


async def _send(mailer: Mailer, order: dict[str, Any], notice: store.Notice) -> bool:
    """Whether SES took the order's `notice`."""
    message = COMPOSERS[notice](order, mailer.storefront_url)
    try:
        async with deadline(mailer.timeout, "email"):
            await mailer.ses.send_email(
                FromEmailAddress=formataddr((SHOP_NAME, mailer.sender)),
                Destination={"ToAddresses": [message.to]},
                Content=message.content(),
            )
    except Exception as exc:
        log.warning(
            "%s email not sent yet: %r",
            notice.name,
            exc,
            extra={"order_id": redact(order["id"])},
        )
        return False
    return True
