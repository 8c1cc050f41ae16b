"""Shoppers that check out under faults, and the checks of what was kept afterwards: used by
the fault tests (tests/faults/) and by the heavier runs of bench/faults.py.

A shopper holds one Idempotency-Key. It retries the same key and body after a timeout, a
dropped connection or a `503`, until it gets a definite answer or gives up; some give up at
once, as shoppers who close the tab do. After the load, the checks read the orders database
and the payment provider's ledger directly: they trust nothing the services say."""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.faults.faultstack import LEASE_SECONDS, RECONCILE_AFTER_SECONDS, FaultStack
from tests.helpers import ADMIN, checkout_body

TOKENS = ("tok_visa",) * 4 + ("tok_chargeDeclined",)
# Leases run out, then the reconciler waits its threshold and takes a round or two.
SETTLE_WITHIN = RECONCILE_AFTER_SECONDS + LEASE_SECONDS + 20


@dataclass
class Shopper:
    key: str
    cart_id: str
    lines: dict[str, int]
    token: str
    start_at: float  # seconds after the load starts
    timeout: float  # how long one attempt waits for its answer
    patience: float  # how long it keeps retrying; 0: one attempt only
    retry_delay: float = 0.3
    answers: list[int | str] = field(default_factory=list)
    order_ids: set[str] = field(default_factory=set)

    @property
    def body(self) -> dict[str, Any]:
        return checkout_body(self.cart_id, self.token)

    @property
    def definite(self) -> bool:
        return (
            bool(self.answers)
            and isinstance(self.answers[-1], int)
            and _is_definite(self.answers[-1])
        )


def _is_definite(status: int) -> bool:
    return status in (201, 400, 402, 409)


async def prepare_shoppers(
    client: httpx.AsyncClient,
    skus: list[str],
    count: int,
    *,
    spread: float,
    timeout: float,
    patience: float,
    rng: random.Random,
) -> list[Shopper]:
    """`count` shoppers, each with a cart of one or two of `skus`, starting over `spread` s."""
    shoppers = []
    for _ in range(count):
        created = await client.post("/api/cart/carts")
        assert created.status_code == 201, created.text
        cart_id = created.json()["cart_id"]
        lines = {sku: rng.randint(1, 2) for sku in rng.sample(skus, rng.randint(1, 2))}
        for sku, quantity in lines.items():
            put = await client.put(
                f"/api/cart/carts/{cart_id}/items/{sku}", json={"quantity": quantity}
            )
            assert put.status_code == 200, put.text
        shoppers.append(
            Shopper(
                key="fault-" + secrets.token_hex(8),
                cart_id=cart_id,
                lines=lines,
                token=rng.choice(TOKENS),
                start_at=rng.uniform(0, spread),
                timeout=timeout,
                # One shopper in four never retries: only the reconciler can settle theirs.
                patience=0.0 if rng.random() < 0.25 else patience,
            )
        )
    return shoppers


async def shop(client: httpx.AsyncClient, shopper: Shopper) -> None:
    await asyncio.sleep(shopper.start_at)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + shopper.patience
    while True:
        try:
            answer = await client.post(
                "/api/orders/orders",
                json=shopper.body,
                headers={"Idempotency-Key": shopper.key},
                timeout=shopper.timeout,
            )
        except httpx.HTTPError as exc:
            shopper.answers.append(type(exc).__name__)
        else:
            shopper.answers.append(answer.status_code)
            body = (
                answer.json()
                if answer.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            if answer.status_code == 201:
                shopper.order_ids.add(body["order_id"])
            if _settled(answer.status_code, body):
                return
        if loop.time() >= deadline:
            return
        await asyncio.sleep(shopper.retry_delay)


def _settled(status: int, body: dict[str, Any]) -> bool:
    if status != 409:
        return _is_definite(status)
    error = body.get("error", {})
    # "still being processed" and "taken over" are worth retrying; the rest is an answer.
    return error.get("code") != "conflict" or error.get("details", {}).get("status") is not None


@dataclass
class Findings:
    """What was kept, by the database's and the payment provider's own records."""

    orders: int
    by_status: Counter[str]
    problems: list[str]

    def summary(self) -> str:
        return f"{self.orders} orders {dict(self.by_status)}; problems: {self.problems or 'none'}"


async def wait_until_settled(database_url: str, within: float) -> int:
    """Seconds until no order is pending (the reconciler's work); raise if it takes longer."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        conn = await asyncpg.connect(database_url)
        try:
            pending = await conn.fetchval(
                """SELECT count(*) FROM "order" WHERE status = 'pending'"""
            )
        finally:
            await conn.close()
        if not pending:
            return round(loop.time() - start)
        if loop.time() - start > within:
            raise AssertionError(f"{pending} orders still pending after {within} s")
        await asyncio.sleep(0.5)


async def check(
    database_url: str,
    payments_url: str,
    initial_stock: dict[str, int],
    shoppers: list[Shopper],
    orders_client: httpx.AsyncClient,
    logs: dict[Path, int],
) -> Findings:
    problems: list[str] = []
    conn = await asyncpg.connect(database_url)
    try:
        orders = await conn.fetch(
            """SELECT id, status, idempotency_key, payment_reference, total_cents,
                      refunded_cents FROM "order" WHERE idempotency_key = ANY($1::text[])""",
            [s.key for s in shoppers],
        )
        lines = await conn.fetch(
            """SELECT l.sku, sum(l.quantity) AS units FROM order_line l JOIN "order" o
               ON o.id = l.order_id WHERE o.status = 'paid' AND l.sku = ANY($1::text[])
               GROUP BY l.sku""",
            list(initial_stock),
        )
        stock = dict(
            await conn.fetch(
                "SELECT sku, available FROM inventory WHERE sku = ANY($1::text[])",
                list(initial_stock),
            )
        )
    finally:
        await conn.close()

    per_key = Counter(o["idempotency_key"] for o in orders)
    problems += [f"key {k} has {n} orders" for k, n in per_key.items() if n > 1]
    problems += [f"order {o['id']} is still pending" for o in orders if o["status"] == "pending"]
    sold = {row["sku"]: row["units"] for row in lines}
    for sku, initial in initial_stock.items():
        if stock.get(sku) != initial - sold.get(sku, 0):
            problems.append(
                f"{sku}: {stock.get(sku)} in stock, expected {initial} - {sold.get(sku, 0)} sold"
            )

    by_order = {o["id"]: o for o in orders}
    for shopper in shoppers:
        if len(shopper.order_ids) > 1:
            problems.append(f"key {shopper.key} answered several orders {shopper.order_ids}")
        problems += [f"key {shopper.key} answered {a}" for a in shopper.answers if a == 500]

    ledger = httpx.get(f"{payments_url}/_double/payment_intents", timeout=10).json()
    charged: Counter[str] = Counter()
    for entry in ledger:
        intent = entry["payment_intent"]
        order_id = intent["metadata"].get("order_id")
        if order_id not in by_order:
            continue
        kept = sum(c["amount"] for c in entry["charges"] if c["status"] == "succeeded") - sum(
            r["amount"] for r in entry["refunds"]
        )
        if kept:
            charged[order_id] += kept
    for order in orders:
        paid = order["status"] == "paid"
        kept = charged.get(order["id"], 0)
        if paid and kept != order["total_cents"]:
            problems.append(f"paid order {order['id']} kept {kept} of {order['total_cents']}")
        if not paid and kept:
            problems.append(f"{order['status']} order {order['id']} kept {kept} charged")

    # Every paid order is reachable by retrying its key.
    for shopper in shoppers:
        order = next((o for o in orders if o["idempotency_key"] == shopper.key), None)
        if order is None or order["status"] != "paid":
            continue
        again = await orders_client.post(
            "/api/orders/orders", json=shopper.body, headers={"Idempotency-Key": shopper.key}
        )
        if again.status_code != 201 or again.json()["order_id"] != order["id"]:
            problems.append(f"retrying {shopper.key} answered {again.status_code}: {again.text}")

    for log, start in logs.items():
        with log.open("rb") as read:
            read.seek(start)
            written = read.read().decode(errors="replace")
        for line in written.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("status") == 500 or entry.get("level") == "critical":
                problems.append(f"{log.name}: {line[:300]}")

    return Findings(len(orders), Counter(o["status"] for o in orders), problems)


async def stock_products(
    client: httpx.AsyncClient, count: int, units: int, price_cents: int = 1500
) -> dict[str, int]:
    """`count` new products with `units` each in stock; their initial stock by SKU."""
    stock = {}
    for _ in range(count):
        sku = "F-" + secrets.token_hex(4).upper()
        created = await client.post(
            "/api/catalog/products",
            json={
                "sku": sku,
                "name": f"Fault toy {sku}",
                "category": "fault-toys",
                "price_cents": price_cents,
            },
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        put = await client.put(
            f"/api/orders/inventory/{sku}", json={"available": units}, headers=ADMIN
        )
        assert put.status_code == 200, put.text
        stock[sku] = units
    return stock


# The faults, each injected while shoppers shop. ----------------------------------------


async def database_restart(faults: FaultStack) -> None:
    """PostgreSQL stopped (every session ended) 1.5 s in, started again 3 s later."""
    await asyncio.sleep(1.5)
    await asyncio.to_thread(faults.cluster.stop, "fast")
    await asyncio.sleep(3)
    await asyncio.to_thread(faults.cluster.start)


async def orders_killed(faults: FaultStack) -> None:
    """The orders service killed with SIGKILL twice, with payments slowed down so that the
    kills find checkouts between taking stock and charging."""
    async with httpx.AsyncClient(base_url=faults.payments_url) as double:
        await double.post("/_double/faults", json={"delay_seconds": 0.4, "count": 40})
        await asyncio.sleep(2.0)
        await asyncio.to_thread(faults.restart, "orders")
        await asyncio.sleep(1.5)
        await asyncio.to_thread(faults.restart, "orders")
        await double.post("/_double/faults", json={})


async def catalog_frozen(faults: FaultStack) -> None:
    """The catalog frozen with SIGSTOP for 3.5 s while checkouts wait on it."""
    catalog = faults.child("catalog").process
    await asyncio.sleep(1.0)
    os.kill(catalog.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(3.5)
    finally:
        os.kill(catalog.pid, signal.SIGCONT)


async def provider_stalled_and_orders_killed(faults: FaultStack) -> None:
    """The payment provider holds every request; the orders service is killed meanwhile."""
    async with httpx.AsyncClient(base_url=faults.payments_url) as double:
        await asyncio.sleep(1.5)
        await double.post("/_double/faults", json={"hang": True})
        await asyncio.sleep(2.0)
        await asyncio.to_thread(faults.restart, "orders")
        await double.post("/_double/faults", json={})


FAULTS: dict[str, Callable[[FaultStack], Awaitable[None]]] = {
    "database restart": database_restart,
    "orders killed": orders_killed,
    "catalog frozen": catalog_frozen,
    "provider stalled, orders killed": provider_stalled_and_orders_killed,
}


async def scenario(
    faults: FaultStack,
    fault: Callable[[FaultStack], Awaitable[None]],
    *,
    shoppers: int,
    through_gateway: bool = False,
    timeout: float = 3.0,
    seed: int = 7,
) -> tuple[list[Shopper], Findings]:
    """Shoppers checking out while `fault` happens; what was kept once everything settled."""
    rng = random.Random(seed)
    stack = faults.stack
    orders_url = stack.gateway_url if through_gateway else stack.urls["orders"][0]
    # Only what this run writes is checked: the logs outlive runs (and restarted processes).
    logs = {c.log_path: c.log_path.stat().st_size for c in stack.processes.children}
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as admin,
        httpx.AsyncClient(base_url=orders_url, timeout=30) as shoppers_client,
    ):
        # Less stock than the shoppers want, so some checkouts are out of stock too.
        stock = await stock_products(admin, count=3, units=shoppers * 2 // 5)
        plans = await prepare_shoppers(
            admin,
            list(stock),
            shoppers,
            spread=max(6.0, shoppers / 6),
            timeout=timeout,
            patience=25.0,
            rng=rng,
        )
        await asyncio.gather(fault(faults), *(shop(shoppers_client, s) for s in plans))
        await wait_until_settled(faults.orders_database, SETTLE_WITHIN)
        findings = await check(
            faults.orders_database,
            faults.payments_url,
            stock,
            plans,
            shoppers_client,
            logs,
        )
    return plans, findings
