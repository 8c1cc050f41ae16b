"""All of the orders service's database access."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from petshore.errors import NotFound, OutOfStock
from services.orders.models import IdempotencyRecord, Inventory, Order, OrderLine
from services.orders.rules import PricedLine

Row = dict[str, Any]


# Inventory ------------------------------------------------------------------------------


async def available(skus: list[str]) -> dict[str, int]:
    rows = await Inventory.filter(sku__in=skus).values_list("sku", "available")
    found = dict(rows)
    return {sku: found.get(sku, 0) for sku in skus}


async def set_available(sku: str, count: int) -> None:
    await Inventory.update_or_create(sku=sku, defaults={"available": count})


async def add_available_if_missing(sku: str, count: int) -> bool:
    """Stock a SKU the store has never seen; never overwrite counts already there."""
    _, created = await Inventory.get_or_create(sku=sku, defaults={"available": count})
    return created


# Orders ---------------------------------------------------------------------------------


async def place_order(
    *,
    order_id: str,
    lines: list[PricedLine],
    currency: str,
    total: int,
    email: str,
    shipping_address: dict[str, Any],
    cart_id: str,
) -> None:
    """Take stock for every line and record the order, in one transaction: either every line
    is reserved or nothing changes. Each decrement is conditional on enough stock, so two
    checkouts can never both take the last unit."""
    async with in_transaction() as conn:
        short = []
        # A fixed lock order (by SKU) keeps concurrent checkouts from deadlocking.
        for line in sorted(lines, key=lambda ln: ln.sku):
            taken = (
                await Inventory.filter(sku=line.sku, available__gte=line.quantity)
                .using_db(conn)
                .update(available=F("available") - line.quantity)
            )
            if not taken:
                short.append(line.sku)
        if short:
            raise OutOfStock("not enough stock for " + ", ".join(short), {"skus": short})
        order = await Order.create(
            id=order_id,
            status="pending",
            email=email,
            shipping_address=shipping_address,
            currency=currency,
            total_cents=total,
            cart_id=cart_id,
            using_db=conn,
        )
        await OrderLine.bulk_create(
            [
                OrderLine(
                    order=order,
                    position=i,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price_cents=ln.unit_price_cents,
                )
                for i, ln in enumerate(lines)
            ],
            using_db=conn,
        )


async def mark_paid(order_id: str, payment_reference: str) -> None:
    await Order.filter(id=order_id).update(status="paid", payment_reference=payment_reference)


async def mark_payment_failed(order_id: str, payment_reference: str) -> None:
    """Give back the stock the order took, in the same transaction as the status change."""
    async with in_transaction() as conn:
        changed = (
            await Order.filter(id=order_id, status="pending")
            .using_db(conn)
            .update(status="payment_failed", payment_reference=payment_reference)
        )
        if not changed:
            return
        lines = await OrderLine.filter(order_id=order_id).using_db(conn).values("sku", "quantity")
        for line in sorted(lines, key=lambda ln: ln["sku"]):
            await (
                Inventory.filter(sku=line["sku"])
                .using_db(conn)
                .update(available=F("available") + line["quantity"])
            )


async def get_order(order_id: str) -> Row:
    order = (
        await Order.filter(id=order_id)
        .first()
        .values(
            "id", "status", "email", "shipping_address", "currency", "total_cents", "created_at"
        )
    )
    if order is None:
        raise NotFound("no such order")
    order["items"] = list(
        await OrderLine.filter(order_id=order_id)
        .order_by("position")
        .values("sku", "quantity", "unit_price_cents")
    )
    return order


# Idempotency keys ---------------------------------------------------------------------


async def claim_key(key: str, request_hash: str) -> IdempotencyRecord | None:
    """Claim `key` for this request: None when it is ours now, else the record that holds it."""
    try:
        await IdempotencyRecord.create(key=key, request_hash=request_hash, state="in_progress")
    except IntegrityError:
        return await IdempotencyRecord.get_or_none(key=key)
    return None


async def read_key(key: str) -> IdempotencyRecord | None:
    return await IdempotencyRecord.get_or_none(key=key)


async def finish_key(key: str, status: int, order_id: str) -> None:
    await IdempotencyRecord.filter(key=key).update(
        state="done", response_status=status, order_id=order_id
    )


async def release_key(key: str) -> None:
    """Forget a key whose request changed nothing, so a retry runs afresh."""
    await IdempotencyRecord.filter(key=key, state="in_progress").delete()
