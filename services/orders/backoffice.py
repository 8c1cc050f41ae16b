"""The back office's order actions: ship, cancel, refund, export. Each is safe to repeat: the
state change is conditional on the order's state, the money goes back through refunds set
aside first and paid out under their own idempotency keys (`settlement.pay_out`), and the
customer's shipping email follows from the mail sender (services/orders/sender.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from services.orders import rules, settlement, store, views
from services.orders.settlement import Peers

Row = dict[str, Any]
# Orders read per database round trip while exporting.
EXPORT_PAGE = 500


async def staff_view(order_id: str) -> views.Order:
    order = await store.get_order(order_id)
    events, refunds = await store.history(order_id)
    return views.staff_order(order, events, refunds)


async def fulfil(order_id: str, carrier: str, tracking_number: str, actor: str) -> views.Order:
    await store.fulfil(order_id, carrier, tracking_number, actor)
    return await staff_view(order_id)


async def cancel(peers: Peers, order_id: str, reason: str | None, actor: str) -> views.Order:
    """Cancelled, its stock back, and its payment refunded; a refund the provider cannot
    take now is paid out by the reconciler (the answer shows it pending)."""
    await store.cancel(order_id, reason, actor)
    await settlement.pay_out(peers.payments, order_id)
    return await staff_view(order_id)


async def refund(
    peers: Peers, order_id: str, request_key: str, amount_cents: int | None, actor: str
) -> views.Order:
    await store.reserve_refund(order_id, request_key, amount_cents, actor)
    await settlement.pay_out(peers.payments, order_id)
    return await staff_view(order_id)


async def export(filters: rules.OrderFilter) -> AsyncIterator[str]:
    """Every order the filters find, newest first, as CSV text, a page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(rules.CSV_COLUMNS)
    before = None
    while True:
        rows, more = await store.list_orders(
            customer_id=None, filters=filters, before=before, limit=EXPORT_PAGE
        )
        for order in rows:
            writer.writerows(rules.csv_rows(order))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if not more:
            return
        before = (rows[-1]["created_at"], rows[-1]["id"])
