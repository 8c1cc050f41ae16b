"""The reconciler: finishes or undoes checkouts that stopped half-way and were never retried
(a process killed, a database lost, a client that gave up), and pays out the refunds the
provider could not take at once. Every
instance of the orders service runs it; taking a key over is a conditional update, so only
one instance acts on each checkout, and one that crashes mid-way leaves it to the next
round."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from petshore.logs import redact
from petshore.timestamps import utcnow
from services.orders import settlement, store
from services.orders.checkout import new_owner
from services.orders.settlement import Peers

log = logging.getLogger("petshore.orders.reconciler")

BATCH = 100


async def reconcile_once(peers: Peers, *, older_than: float, lease: float) -> int:
    """Settle the stuck checkouts older than `older_than` seconds; how many were settled."""
    now = utcnow()
    settled = 0
    for record in await store.stale_keys(now, now - timedelta(seconds=older_than), BATCH):
        owner = new_owner()
        until = now + timedelta(seconds=lease)
        if not await store.take_over_key(record.key, record.owner, owner, now, until):
            continue  # another instance, or a retry, has it
        try:
            assert record.order_id is not None
            order = await store.find_order(record.order_id)
            if order is None:
                # It stopped before placing its order: nothing was kept, nothing to undo.
                await store.release_key(record.key, owner, utcnow())
                continue
            order = await settlement.resolve(peers.payments, order, "reconciler")
            status, _ = await settlement.conclude(peers, order)
        except Exception as exc:
            # The provider or a peer is away: the key's lease runs out and the next round
            # tries again.
            log.warning(
                "could not settle a stuck checkout: %r",
                exc,
                extra={"order_id": redact(record.order_id or "")},
            )
            await store.drop_lease(record.key, owner, utcnow())
            continue
        settled += 1
        log.info(
            "settled a stuck checkout",
            extra={"order_id": redact(order["id"]), "status": order["status"], "answer": status},
        )
    return settled


async def run(peers: Peers, *, interval: float, older_than: float, lease: float) -> None:
    """Reconcile every `interval` seconds until cancelled."""
    while True:
        try:
            await reconcile_once(peers, older_than=older_than, lease=lease)
            await settlement.pay_out(peers.payments)
        except Exception as exc:  # the database is away: try again next round
            log.warning("reconciler round failed: %r", exc)
        await asyncio.sleep(interval)
