"""All of the orders service's database access."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from petshore.db import (
    Change,
    Statement,
    columns,
    insert,
    insert_clauses,
    insert_new,
    json_value,
    moment,
    update,
    update_sql,
    update_together,
)
from petshore.errors import Conflict, IdempotencyKeyReused, NotFound, OutOfStock, field_error
from petshore.timestamps import utcnow
from services.orders import pricing
from services.orders.models import (
    DiscountCode,
    IdempotencyRecord,
    Inventory,
    Order,
    OrderEvent,
    OrderLine,
    Refund,
    ShippingMethod,
    StockMovement,
    TaxRate,
)
from services.orders.rules import OrderFilter, PricedLine

Row = dict[str, Any]

ORDER_FIELDS = (
    "id",
    "status",
    "email",
    "shipping_address",
    "currency",
    "subtotal_cents",
    "shipping_cents",
    "tax_cents",
    "discount_cents",
    "total_cents",
    "refunded_cents",
    "shipping_method",
    "shipping_method_name",
    "discount_code",
    "cart_id",
    "customer_id",
    "idempotency_key",
    "payment_reference",
    "paid_at",
    "confirmation_sent_at",
    "carrier",
    "tracking_number",
    "fulfilled_at",
    "shipping_sent_at",
    "created_at",
)
LINE_FIELDS = ("sku", "name", "quantity", "unit_price_cents")
MOMENTS = tuple(f for f in ORDER_FIELDS if f.endswith("_at"))
# Orders whose money can still be given back in part or in full.
REFUNDABLE = ("paid", "fulfilled")


def _db() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


class LostKey(Exception):
    """This checkout no longer holds its Idempotency-Key: another one took it over."""


class ClaimFirst(Exception):
    """A key that could not be claimed with its order (`place_order`'s `new_key`): it is
    held already (`key_held`), or the price list changed since the order was priced with it
    (`stale_prices`). Nothing changed."""


@dataclass(frozen=True)
class NewKey:
    """A key to claim in the statement that places its order: the request it stands for, how
    long its first lease runs, and the revision of the price list the order was priced with."""

    request_hash: str
    lease: float
    revision: str

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease)


# Inventory ------------------------------------------------------------------------------


async def available(skus: list[str]) -> dict[str, int]:
    rows = await Inventory.filter(sku__in=skus).values_list("sku", "available")
    found = dict(rows)
    return {sku: found.get(sku, 0) for sku in skus}


async def low_stock(
    at_most: int, after: tuple[int, str] | None, limit: int
) -> tuple[list[Row], bool]:
    """One page of the SKUs with at most `at_most` units, fewest first (then by SKU), and
    whether more follow. Only SKUs the inventory has counted: one never stocked has no row."""
    rows = Inventory.filter(available__lte=at_most)
    if after is not None:
        available, sku = after
        rows = rows.filter(Q(available__gt=available) | Q(available=available, sku__gt=sku))
    page = await rows.order_by("available", "sku").limit(limit + 1).values("sku", "available")
    return page[:limit], len(page) > limit


async def set_available(sku: str, count: int, reason: str, actor: str) -> None:
    async with in_transaction() as conn:
        row = await Inventory.filter(sku=sku).using_db(conn).select_for_update().first()
        before = row.available if row else 0
        await Inventory.update_or_create(sku=sku, defaults={"available": count}, using_db=conn)
        await StockMovement.create(
            sku=sku,
            delta=count - before,
            available=count,
            reason=reason,
            actor=actor,
            using_db=conn,
        )


async def adjust_available(sku: str, delta: int, reason: str, actor: str) -> int:
    """Add `delta` (negative: take away) and answer the new count; never below zero."""
    async with in_transaction() as conn:
        if delta >= 0:
            await Inventory.get_or_create(sku=sku, defaults={"available": 0}, using_db=conn)
            changed = (
                await Inventory.filter(sku=sku)
                .using_db(conn)
                .update(available=F("available") + delta)
            )
        else:
            changed = (
                await Inventory.filter(sku=sku, available__gte=-delta)
                .using_db(conn)
                .update(available=F("available") + delta)
            )
        if not changed:
            raise Conflict(
                f"{sku} has fewer than {-delta} units to take away", {"fields": ["delta"]}
            )
        row = await Inventory.get(sku=sku).using_db(conn)
        await StockMovement.create(
            sku=sku,
            delta=delta,
            available=row.available,
            reason=reason,
            actor=actor,
            using_db=conn,
        )
        return row.available


async def movements(sku: str, limit: int) -> list[Row]:
    return list(
        await StockMovement.filter(sku=sku)
        .order_by("-created_at", "-id")
        .limit(limit)
        .values("delta", "available", "reason", "actor", "created_at")
    )


async def add_available_if_missing(sku: str, count: int) -> bool:
    """Stock a SKU the store has never seen; never overwrite counts already there."""
    _, created = await Inventory.get_or_create(sku=sku, defaults={"available": count})
    return created


# Orders ---------------------------------------------------------------------------------


async def place_order(
    *,
    order_id: str,
    key: str,
    owner: str,
    quote: pricing.Quote,
    email: str,
    shipping_address: dict[str, Any],
    cart_id: str,
    customer_id: str | None,
    payment_reference: str,
    new_key: NewKey | None = None,
) -> Row:
    """Take stock for every line and record the order with its payment (created, not yet
    confirmed), atomically: either every line is reserved or nothing changes. Only the
    checkout holding the key may place its order (a takeover waits until this ends); with
    `new_key`, the key is claimed for it here instead, and `ClaimFirst` says when it cannot
    be. Each decrement is conditional on enough stock, so two checkouts can never both take
    the last unit, and a discount code's last use goes to one order only. The order, as
    `find_order` would read it."""
    lines = quote.lines
    now = utcnow()
    totals = quote.totals
    discount = quote.discount.code if quote.discount else None
    order: Row = {
        **dict.fromkeys(ORDER_FIELDS),
        "id": order_id,
        "status": "pending",
        "email": email,
        "shipping_address": shipping_address,
        "currency": quote.currency,
        "subtotal_cents": totals.subtotal,
        "shipping_cents": totals.shipping,
        "tax_cents": totals.tax,
        "discount_cents": totals.discount,
        "total_cents": totals.total,
        "refunded_cents": 0,
        "shipping_method": quote.method.code,
        "shipping_method_name": quote.method.name,
        "discount_code": discount,
        "cart_id": cart_id,
        "customer_id": customer_id,
        "idempotency_key": key,
        "payment_reference": payment_reference,
        "created_at": now,
    }
    row = {
        **order,
        "shipping_address": json.dumps(shipping_address),
        "ship_to_name": shipping_address["name"],
        "updated_at": now,
    }
    items = [
        {
            "sku": ln.sku,
            "name": ln.name,
            "quantity": ln.quantity,
            "unit_price_cents": ln.unit_price_cents,
        }
        for ln in lines
    ]
    positioned = [{"order_id": order_id, "position": i, **item} for i, item in enumerate(items)]
    rows = [
        ("order", [row]),
        ("order_line", positioned),
        ("order_event", [_event(order_id, "placed", "checkout", {}, now)]),
    ]
    # A fixed lock order (by SKU) keeps concurrent checkouts from deadlocking.
    taking = sorted(lines, key=lambda ln: ln.sku)
    connection = _db()
    taker = (key, owner, order_id, now)
    if connection.capabilities.dialect == "postgres":
        await _place_at_once(connection, taker, taking, discount, rows, new_key)
    else:
        await _place_in_turn(taker, taking, discount, rows, new_key)
    return {**order, "items": items}


def _out_of_stock(lines: list[PricedLine], short: list[str]) -> OutOfStock:
    names = {line.sku: line.name for line in lines}
    return OutOfStock(
        "not enough left of " + ", ".join(names[s] or s for s in short), {"skus": short}
    )


# What a placed order's take is for: its key, the key's owner, the order's id, and when.
Taker = tuple[str, str, str, datetime]
Rows = list[tuple[str, list[Row]]]
USED_UP = "this code has been used up"


async def _place_at_once(
    connection: BaseDBAsyncClient,
    taker: Taker,
    lines: list[PricedLine],
    discount: str | None,
    rows: Rows,
    new_key: NewKey | None,
) -> None:
    """On PostgreSQL, one statement: the take (migration 0010's `take_for_order`, or with
    `new_key` migration 0011's `claim_and_take_for_order`), then the rows. A refusal raised
    by the take undoes the statement."""
    sql = Statement("postgres")
    key, owner, order_id, now = taker
    taken = ([ln.sku for ln in lines], [ln.quantity for ln in lines], discount)
    if new_key is None:
        function, arguments = "take_for_order", (*taker, *taken)
    else:
        claim = (new_key.request_hash, owner, order_id, now, new_key.lease_until(now))
        function, arguments = "claim_and_take_for_order", (key, *claim, new_key.revision, *taken)
    take = f"SELECT {function}({', '.join(sql.param(value) for value in arguments)})"
    query = f"WITH taken AS ({take}), {insert_clauses(sql, rows)} SELECT FROM taken"
    try:
        await connection.execute_query(query, sql.values)
    except asyncpg.RaiseError as exc:
        if exc.hint == "lost_key":
            raise LostKey(key) from exc
        if exc.hint in ("key_held", "stale_prices"):
            raise ClaimFirst(exc.hint) from exc
        if exc.hint == "out_of_stock":
            raise _out_of_stock(lines, json.loads(exc.detail)) from exc
        if exc.hint == "used_up":
            raise field_error("discount_code", USED_UP) from exc
        raise


async def _place_in_turn(
    taker: Taker, lines: list[PricedLine], discount: str | None, rows: Rows, new_key: NewKey | None
) -> None:
    """Elsewhere (SQLite), a transaction of one statement each."""
    key, owner, order_id, now = taker
    async with in_transaction() as conn:
        if new_key is not None:
            await _claim_with_order(conn, taker, new_key)
        elif not await update(
            conn,
            "idempotency_key",
            {"order_id": order_id, "updated_at": now},
            {"key": key, "owner": owner, "state": "in_progress"},
        ):
            raise LostKey(key)
        short = [ln.sku for ln in lines if not await _take(conn, ln.sku, ln.quantity, now)]
        if short:
            raise _out_of_stock(lines, short)
        if discount is not None:
            await _redeem(conn, discount)
        for table, table_rows in rows:
            await insert(conn, table, table_rows)


async def _claim_with_order(conn: BaseDBAsyncClient, taker: Taker, new_key: NewKey) -> None:
    """What migration 0011's function does before the take, on SQLite."""
    key, owner, order_id, now = taker
    record = _key_record(key, new_key.request_hash, order_id, owner, new_key.lease_until(now), now)
    claimed = await insert_new(conn, "idempotency_key", [record], "key", _REVISION)
    if not claimed:
        raise ClaimFirst("key_held")
    if claimed[0]["revision"] != new_key.revision:
        raise ClaimFirst("stale_prices")


async def _take(conn: BaseDBAsyncClient, sku: str, quantity: int, now: datetime) -> bool:
    """Take `quantity` units of `sku` if that many are left."""
    sql = Statement(conn.capabilities.dialect)
    count = sql.param(quantity)
    changed, _ = await conn.execute_query(
        f"UPDATE inventory SET available = available - {count}, updated_at = {sql.param(now)}"
        f" WHERE sku = {sql.param(sku)} AND available >= {count}",
        sql.values,
    )
    return bool(changed)


def _event(order_id: str, kind: str, actor: str, detail: dict[str, Any], now: datetime) -> Row:
    return {
        "order_id": order_id,
        "kind": kind,
        "actor": actor,
        "detail": json.dumps(detail),
        "created_at": now,
    }


async def _record(
    conn: BaseDBAsyncClient,
    order_id: str,
    kind: str,
    actor: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """What happened to the order, in its history."""
    await insert(conn, "order_event", [_event(order_id, kind, actor, detail, now)])


async def _redeem(conn: Any, code: str) -> None:
    room = Q(max_redemptions__isnull=True) | Q(redemptions__lt=F("max_redemptions"))
    used = (
        await DiscountCode.filter(room, code=code, active=True)
        .using_db(conn)
        .update(redemptions=F("redemptions") + 1)
    )
    if not used:
        raise field_error("discount_code", USED_UP)


async def record_payment(
    order_id: str, reference: str, lease: tuple[str, str, datetime] | None = None
) -> tuple[bool, bool]:
    """Record the provider's payment for a pending order and, with `lease` (a key, its
    owner, until when), renew the checkout's hold on its key, in one round trip on
    PostgreSQL: whether the payment is the order's (False when the order has moved on: the
    reconciler cancelled it, and the payment must not be confirmed), and whether the key is
    still held."""
    pending = {"id": order_id, "status": "pending"}
    now = utcnow()
    changes: list[Change] = [
        (
            "order",
            {"payment_reference": reference, "updated_at": now},
            {**pending, "payment_reference": None},
        )
    ]
    if lease is not None:
        changes.append(_renewal(*lease, now))
    recorded, *renewed = await update_together(_db(), changes)
    if not recorded:
        recorded = await Order.filter(**pending, payment_reference=reference).exists()
    return bool(recorded), bool(renewed and renewed[0])


async def settle(
    order_id: str,
    status: str,
    actor: str,
    detail: dict[str, Any],
    *,
    reference: str | None,
    outcome: tuple[str, int] | None = None,
) -> datetime | None:
    """Move a pending order to `status` (paid, payment_failed or cancelled); stock (and the
    use of its discount code) comes back unless it was paid. `reference`: the payment that
    settles it, which must be the one recorded on the order (a payment of another attempt at
    the order, cancelled, settles nothing); None settles only an order that has no payment
    yet (nothing can then be charged for it). `outcome`: an Idempotency-Key and the answer it
    keeps for retries, recorded with the change (see `finish_key`). When it was settled; None
    when the order was not pending (the key then stays as it was)."""
    now = utcnow()
    pending = {"id": order_id, "status": "pending", "payment_reference": reference}
    changes: dict[str, Any] = {"status": status, "updated_at": now}
    finish = _finished(*outcome, now) if outcome else None
    if status == "paid":
        changes["paid_at"] = now
        connection = _db()
        if connection.capabilities.dialect == "postgres":
            # Nothing to give back: the order's change, its history and its key's outcome in
            # one statement.
            event = _event(order_id, status, actor, detail, now)
            settled = await _settle_paid(connection, changes, pending, event, finish)
            return now if settled else None
    async with in_transaction() as conn:
        if not await update(conn, "order", changes, pending):
            return None
        if status != "paid":
            await _release_stock(conn, order_id)
            await _unredeem(conn, order_id)
        await _record(conn, order_id, status, actor, detail, now)
        if finish is not None:
            await update(conn, *finish)
        return now


async def _settle_paid(
    connection: BaseDBAsyncClient, changes: Row, pending: Row, event: Row, finish: Change | None
) -> bool:
    """On PostgreSQL, one round trip instead of a transaction's four (or five)."""
    sql = Statement("postgres")
    clauses = [f'settled AS ({update_sql(sql, ("order", changes, pending))} RETURNING "id")']
    if finish is not None:
        clauses.append(f"finished AS ({update_sql(sql, finish)} AND EXISTS (SELECT FROM settled))")
    values = ", ".join(
        '"id"' if column == "order_id" else sql.param(value) for column, value in event.items()
    )
    query = (
        f"WITH {', '.join(clauses)} INSERT INTO order_event ({columns(event)})"
        f' SELECT {values} FROM settled RETURNING "order_id"'
    )
    return bool(await connection.execute_query_dict(query, sql.values))


async def _unredeem(conn: Any, order_id: str) -> None:
    """An order never paid for gives its discount code's use back."""
    order = await Order.filter(id=order_id).using_db(conn).first().values("discount_code")
    if order and order["discount_code"]:
        await (
            DiscountCode.filter(code=order["discount_code"], redemptions__gt=0)
            .using_db(conn)
            .update(redemptions=F("redemptions") - 1)
        )


async def _release_stock(conn: Any, order_id: str) -> None:
    lines = await OrderLine.filter(order_id=order_id).using_db(conn).values("sku", "quantity")
    for line in sorted(lines, key=lambda ln: ln["sku"]):
        await (
            Inventory.filter(sku=line["sku"])
            .using_db(conn)
            .update(available=F("available") + line["quantity"])
        )


async def reserve_refund(
    order_id: str,
    request_key: str,
    amount_cents: int | None,
    actor: str,
    *,
    refundable: Sequence[str] = REFUNDABLE,
) -> None:
    """Set aside `amount_cents` (None: all that is left) of the order's payment to give back,
    as a pending refund the provider pays out next (`pending_refunds`). The same request
    key again changes nothing; more than is left, or an order in another state, is 409."""
    async with in_transaction() as conn:
        order = await Order.filter(id=order_id).using_db(conn).select_for_update().first()
        if order is None:
            raise NotFound("no such order")
        earlier = (
            await Refund.filter(order_id=order_id, request_key=request_key).using_db(conn).first()
        )
        if earlier is not None:
            if amount_cents is not None and amount_cents != earlier.amount_cents:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used for a refund of another amount",
                    {"amount_cents": earlier.amount_cents},
                )
            return
        left = order.total_cents - order.refunded_cents
        if amount_cents is None and left == 0:
            return  # "the rest" of an order already given back in full
        if order.status not in refundable:
            raise Conflict(
                f"an order that is {order.status} cannot be refunded", {"status": order.status}
            )
        amount = left if amount_cents is None else amount_cents
        if amount > left:
            raise Conflict(
                f"only {left} of the payment is left to refund", {"refundable_cents": left}
            )
        refund = await Refund.create(
            order_id=order_id,
            request_key=request_key,
            amount_cents=amount,
            actor=actor,
            using_db=conn,
        )
        changes: dict[str, Any] = {"refunded_cents": order.refunded_cents + amount}
        if amount == left and order.status in REFUNDABLE:
            changes["status"] = "refunded"
        await Order.filter(id=order_id).using_db(conn).update(**changes)
        await OrderEvent.create(
            order_id=order_id,
            kind="refund",
            actor=actor,
            detail={"amount_cents": amount, "refund_id": refund.id},
            using_db=conn,
        )


@dataclass(frozen=True)
class DueRefund:
    refund_id: int
    order_id: str
    amount_cents: int
    payment_reference: str


async def pending_refunds(order_id: str | None = None, limit: int = 100) -> list[DueRefund]:
    """Refunds set aside and not paid out yet, oldest first: one order's, or everyone's."""
    rows = Refund.filter(state="pending")
    if order_id is not None:
        rows = rows.filter(order_id=order_id)
    found = (
        await rows.order_by("created_at", "id")
        .limit(limit)
        .values("id", "order_id", "amount_cents", "order__payment_reference")
    )
    return [
        DueRefund(r["id"], r["order_id"], r["amount_cents"], r["order__payment_reference"])
        for r in found
    ]


async def refund_paid_out(refund_id: int, reference: str) -> None:
    await Refund.filter(id=refund_id, state="pending").update(
        state="done", reference=reference, paid_out_at=utcnow()
    )


async def refund_refused(refund_id: int, reason: str) -> None:
    """The provider will not pay this refund out (more than is left there, a disputed
    charge): it is no longer set aside, and the order says why."""
    async with in_transaction() as conn:
        refund = await Refund.filter(id=refund_id, state="pending").using_db(conn).first()
        if refund is None:
            return
        await Refund.filter(id=refund_id).using_db(conn).update(state="refused")
        order = await Order.filter(id=refund.order_id).using_db(conn).select_for_update().get()
        changes: dict[str, Any] = {"refunded_cents": order.refunded_cents - refund.amount_cents}
        if order.status == "refunded":
            changes["status"] = "fulfilled" if order.fulfilled_at else "paid"
        await Order.filter(id=order.id).using_db(conn).update(**changes)
        await OrderEvent.create(
            order_id=order.id,
            kind="refund_refused",
            actor="payments",
            detail={"refund_id": refund_id, "reason": reason},
            using_db=conn,
        )


async def fulfil(order_id: str, carrier: str, tracking_number: str, actor: str) -> None:
    """Mark a paid order shipped; the same shipment again changes nothing, anything else
    that is not a paid order is 409."""
    async with in_transaction() as conn:
        shipped = (
            await Order.filter(id=order_id, status="paid")
            .using_db(conn)
            .update(
                status="fulfilled",
                carrier=carrier,
                tracking_number=tracking_number,
                fulfilled_at=utcnow(),
            )
        )
        if shipped:
            await OrderEvent.create(
                order_id=order_id,
                kind="fulfilled",
                actor=actor,
                detail={"carrier": carrier, "tracking_number": tracking_number},
                using_db=conn,
            )
            return
    order = await Order.get_or_none(id=order_id)
    if order is None:
        raise NotFound("no such order")
    if order.fulfilled_at is not None and (order.carrier, order.tracking_number) == (
        carrier,
        tracking_number,
    ):
        return
    raise Conflict(
        f"an order that is {order.status} cannot be fulfilled"
        + (f" (it shipped with {order.carrier} {order.tracking_number})" if order.carrier else ""),
        {"status": order.status},
    )


async def cancel(order_id: str, reason: str | None, actor: str) -> None:
    """Cancel a paid order that has not shipped: its stock comes back and what is left of its
    payment is set aside to refund. A cancelled order stays as it is."""
    async with in_transaction() as conn:
        order = await Order.filter(id=order_id).using_db(conn).select_for_update().first()
        if order is None:
            raise NotFound("no such order")
        if order.status == "cancelled":
            return
        if order.status != "paid":
            raise Conflict(
                f"an order that is {order.status} cannot be cancelled", {"status": order.status}
            )
        left = order.total_cents - order.refunded_cents
        await (
            Order.filter(id=order_id)
            .using_db(conn)
            .update(status="cancelled", refunded_cents=order.total_cents)
        )
        await _release_stock(conn, order_id)
        detail: dict[str, Any] = {"refund_cents": left}
        if reason:
            detail["reason"] = reason
        if left:
            refund = await Refund.create(
                order_id=order_id,
                request_key="cancellation",
                amount_cents=left,
                actor=actor,
                using_db=conn,
            )
            detail["refund_id"] = refund.id
        await OrderEvent.create(
            order_id=order_id, kind="cancelled", actor=actor, detail=detail, using_db=conn
        )


async def history(order_id: str) -> tuple[list[Row], list[Row]]:
    """The order's events and refunds, oldest first."""
    events = await (
        OrderEvent.filter(order_id=order_id)
        .order_by("created_at", "id")
        .values("kind", "actor", "detail", "created_at")
    )
    refunds = await (
        Refund.filter(order_id=order_id)
        .order_by("created_at", "id")
        .values("id", "amount_cents", "state", "reference", "actor", "created_at")
    )
    return list(events), list(refunds)


async def find_order(order_id: str) -> Row | None:
    """The order and its lines, in one statement."""
    found = await find_orders([order_id])
    return found[0] if found else None


async def find_orders(order_ids: Sequence[str]) -> list[Row]:
    """Those of these orders that exist, each with its lines, in one statement."""
    if not order_ids:
        return []
    connection = _db()
    sql = Statement(connection.capabilities.dialect)
    rows = await connection.execute_query_dict(
        _with_lines('"order" o', f"WHERE o.id IN ({', '.join(sql.param(i) for i in order_ids)})"),
        sql.values,
    )
    return _orders(rows)


_WITH_LINES = ", ".join(
    [*(f'o."{f}"' for f in ORDER_FIELDS), *(f'l."{f}" AS "line_{f}"' for f in LINE_FIELDS)]
)


def _with_lines(orders: str, where: str = "") -> str:
    """The `orders` (a table or a query, named `o`) that `where` keeps, with their lines: one
    row per line, ordered as `_orders` reads them."""
    return (
        f"SELECT {_WITH_LINES} FROM {orders} LEFT JOIN order_line l ON l.order_id = o.id"
        f" {where} ORDER BY o.id, l.position"
    )


def _orders(rows: list[Row]) -> list[Row]:
    """Orders with their lines, from the rows of `_with_lines`."""
    orders: dict[str, Row] = {}
    for row in rows:
        order = orders.get(row["id"])
        if order is None:
            order = orders[row["id"]] = {field: row[field] for field in ORDER_FIELDS}
            order["shipping_address"] = json_value(order["shipping_address"])
            for field in MOMENTS:
                order[field] = moment(order[field])
            order["items"] = []
        if row["line_sku"] is not None:
            order["items"].append({field: row[f"line_{field}"] for field in LINE_FIELDS})
    return list(orders.values())


async def list_orders(
    *,
    customer_id: str | None,
    filters: OrderFilter,
    before: tuple[datetime, str] | None,
    limit: int,
) -> tuple[list[Row], bool]:
    """One page of orders, newest first, and whether more follow: a customer's own when
    `customer_id` is given, else everyone's."""
    rows = Order.all()
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if filters.status is not None:
        rows = rows.filter(status=filters.status)
    if filters.query is not None:
        q = filters.query
        rows = rows.filter(Q(id=q) | Q(email__icontains=q) | Q(ship_to_name__icontains=q))
    if filters.created_from is not None:
        rows = rows.filter(created_at__gte=filters.created_from)
    if filters.created_to is not None:
        rows = rows.filter(created_at__lt=filters.created_to)
    if before is not None:
        at, order_id = before
        rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=order_id))
    page = await rows.order_by("-created_at", "-id").limit(limit + 1).values(*ORDER_FIELDS)
    page, more = page[:limit], len(page) > limit
    lines = await (
        OrderLine.filter(order_id__in=[o["id"] for o in page])
        .order_by("position")
        .values("order_id", *LINE_FIELDS)
    )
    for order in page:
        order["items"] = [
            {k: line[k] for k in LINE_FIELDS} for line in lines if line["order_id"] == order["id"]
        ]
    return page, more


@dataclass(frozen=True)
class Notice:
    """An email an order gets once: while the order is in `status`, claimed by one sender at
    a time (`claimed`), and when it went (`sent`); `since` is when it became due."""

    name: str
    status: str
    claimed: str
    sent: str
    since: str


CONFIRMATION = Notice(
    "confirmation", "paid", "confirmation_claimed_at", "confirmation_sent_at", "paid_at"
)
SHIPPING = Notice(
    "shipping", "fulfilled", "shipping_claimed_at", "shipping_sent_at", "fulfilled_at"
)
NOTICES = (CONFIRMATION, SHIPPING)


async def claim_due(
    notice: Notice, *, now: datetime, due_since: datetime, stale_before: datetime, limit: int
) -> list[Row]:
    """Claim for this sender, as of `now`, up to `limit` orders whose `notice` is due: became
    due since `due_since`, unsent, and not claimed by another sender since `stale_before`;
    longest due first. The orders claimed, with their lines. Several senders may run this at
    once: each order goes to one of them (the update checks again, row by row, what it
    found)."""
    connection = _db()
    statement, values = claim_due_statement(
        notice, connection.capabilities.dialect, now, due_since, stale_before, limit
    )
    if connection.capabilities.dialect != "postgres":
        claimed = await connection.execute_query_dict(statement, values)
        return await find_orders([str(row["id"]) for row in claimed])
    # The claimed orders read with their lines in the same statement: a round is one round
    # trip however many it claims.
    return _orders(
        await connection.execute_query_dict(f"WITH o AS ({statement}) {_with_lines('o')}", values)
    )


def claim_due_statement(
    notice: Notice,
    dialect: str,
    now: datetime,
    due_since: datetime,
    stale_before: datetime,
    limit: int,
) -> tuple[str, list[Any]]:
    """`claim_due`'s statement; it returns the claimed orders' columns. It reads the partial
    index migration 0008 made of just the orders whose `notice` is unsent, so a round costs
    the same however many were ever sent."""
    sql = Statement(dialect)
    since, claimed = f'"{notice.since}"', f'"{notice.claimed}"'

    def due() -> str:
        # The status written out, not a parameter: the planner must see the index's condition.
        return (
            f"status = '{notice.status}' AND \"{notice.sent}\" IS NULL"
            f" AND {since} >= {sql.param(due_since)}"
            f" AND ({claimed} IS NULL OR {claimed} < {sql.param(stale_before)})"
        )

    longest_due = f'SELECT id FROM "order" WHERE {due()} ORDER BY {since} LIMIT {sql.param(limit)}'
    if dialect == "postgres":
        # The due orders picked once, before the update: an `IN` of the same query may be
        # planned as a semi-join that reads them again for every row (statistics gone stale
        # as orders pour in made each round eight times dearer in bench/http_load.py, and
        # dearer still as a backlog grows). Those another sender is claiming right now are
        # left to it rather than waited for.
        picked = f"= ANY(ARRAY({longest_due} FOR UPDATE SKIP LOCKED))"
    else:
        picked = f"IN ({longest_due})"
    statement = (
        f'UPDATE "order" SET {claimed} = {sql.param(now)} WHERE id {picked} AND {due()}'
        f" RETURNING {columns(ORDER_FIELDS)}"
    )
    return statement, sql.values


async def reclaim_notices(
    notice: Notice, order_ids: list[str], claimed_at: datetime, claimed_as: datetime | None
) -> None:
    """Change this sender's claims (made at `claimed_at`) on the orders' `notice` to ones made
    at `claimed_as`: None lets any sender have them now, an earlier time once a claim made
    then goes stale."""
    await Order.filter(id__in=order_ids, **{notice.claimed: claimed_at}).update(
        **{notice.claimed: claimed_as}
    )


async def notices_sent(notice: Notice, order_ids: list[str], now: datetime) -> None:
    await Order.filter(id__in=order_ids).update(**{notice.sent: now})


async def get_order(order_id: str) -> Row:
    order = await find_order(order_id)
    if order is None:
        raise NotFound("no such order")
    return order


# Idempotency keys ---------------------------------------------------------------------


async def claim_key(
    key: str, request_hash: str, order_id: str, owner: str, lease_until: datetime
) -> tuple[IdempotencyRecord | None, str | None]:
    """Claim `key` for this request: None when it is ours now, else the record that holds it;
    and, when it is ours, the price list's revision (`price_list`), read in the same
    statement."""
    connection = _db()
    while True:
        record = _key_record(key, request_hash, order_id, owner, lease_until, utcnow())
        claimed = await insert_new(connection, "idempotency_key", [record], "key", _REVISION)
        if claimed:
            return None, claimed[0]["revision"]
        held = await IdempotencyRecord.get_or_none(key=key)
        if held is not None:
            return held, None
        # Its holder released it between our insert and our read: try again.


def _key_record(
    key: str, request_hash: str, order_id: str, owner: str, lease_until: datetime, now: datetime
) -> Row:
    return {
        "key": key,
        "request_hash": request_hash,
        "state": "in_progress",
        "order_id": order_id,
        "owner": owner,
        "lease_expires_at": lease_until,
        "created_at": now,
        "updated_at": now,
    }


async def key_held_or_prices_changed(key: str, revision: str) -> bool:
    """Whether `key` is claimed, or the price list is no longer as of `revision`: in one
    round trip."""
    connection = _db()
    sql = Statement(connection.capabilities.dialect)
    [row] = await connection.execute_query_dict(
        f'SELECT EXISTS (SELECT 1 FROM "idempotency_key" WHERE "key" = {sql.param(key)})'
        f" AS held, {_REVISION}",
        sql.values,
    )
    return bool(row["held"]) or row["revision"] != revision


async def take_over_key(
    key: str, previous_owner: str, owner: str, now: datetime, lease_until: datetime
) -> bool:
    """Take an in-progress key whose lease ran out; only one of several contenders wins."""
    return bool(
        await IdempotencyRecord.filter(
            key=key, owner=previous_owner, state="in_progress", lease_expires_at__lt=now
        ).update(owner=owner, lease_expires_at=lease_until)
    )


async def renew_lease(key: str, owner: str, lease_until: datetime) -> bool:
    return bool(await update(_db(), *_renewal(key, owner, lease_until, utcnow())))


def _renewal(key: str, owner: str, lease_until: datetime, now: datetime) -> Change:
    changes = {"lease_expires_at": lease_until, "updated_at": now}
    return "idempotency_key", changes, {"key": key, "owner": owner, "state": "in_progress"}


async def drop_lease(key: str, owner: str, now: datetime) -> None:
    """Stop holding a key whose outcome is not known yet, so a retry can resume it at once."""
    await IdempotencyRecord.filter(key=key, owner=owner, state="in_progress").update(
        lease_expires_at=now
    )


async def finish_key(key: str, status: int) -> None:
    """The key's outcome is definite: every retry gets it from now on."""
    await update(_db(), *_finished(key, status, utcnow()))


def _finished(key: str, status: int, now: datetime) -> Change:
    return (
        "idempotency_key",
        {"state": "done", "response_status": status, "updated_at": now},
        {"key": key},
    )


async def release_key(key: str, owner: str, now: datetime) -> None:
    """Forget a key whose request changed nothing, so a retry runs afresh. If its order
    exists after all (a commit whose answer was lost), keep the key and only drop its lease."""
    async with in_transaction() as conn:
        # Locked first: a statement placing its order may hold the key's row, and its order is
        # seen only once it committed. A delete that waited for the row instead would still
        # find the key held by `owner`, and remove it from the order it was placed for.
        record = await (
            IdempotencyRecord.filter(key=key, owner=owner)
            .select_for_update()
            .using_db(conn)
            .first()
        )
        if record is None or record.state != "in_progress":
            return
        if await Order.filter(id=record.order_id).using_db(conn).exists():
            await (
                IdempotencyRecord.filter(key=key, owner=owner)
                .using_db(conn)
                .update(lease_expires_at=now)
            )
        else:
            await IdempotencyRecord.filter(key=key, owner=owner).using_db(conn).delete()


async def stale_keys(
    now: datetime, created_before: datetime, limit: int
) -> list[IdempotencyRecord]:
    """Keys whose checkout stopped half-way: in progress, nobody holding them, and old."""
    return list(
        await IdempotencyRecord.filter(
            state="in_progress", lease_expires_at__lt=now, created_at__lt=created_before
        )
        .order_by("created_at")
        .limit(limit)
    )


# The owner's prices ---------------------------------------------------------------------


METHOD_FIELDS = tuple(f.name for f in dataclass_fields(pricing.ShippingMethod))
RATE_FIELDS = tuple(f.name for f in dataclass_fields(pricing.TaxRate))


@dataclass(frozen=True)
class PriceList:
    """The shipping methods and tax rates, as of `revision`."""

    revision: str
    methods: tuple[pricing.ShippingMethod, ...]
    rates: tuple[pricing.TaxRate, ...]


# What changes with every change to the price list (migration 0009's triggers), as a column
# `revision` of a statement that may read other things too.
_REVISION = '(SELECT "revision" FROM "price_list") AS revision'
# The price list as this process last read it: every checkout needs it, the owner seldom
# changes it.
_price_list: PriceList | None = None


def kept_price_list() -> PriceList | None:
    """The price list this process keeps; None until it read one."""
    return _price_list


async def price_list(revision: str | None = None) -> PriceList:
    """The price list as of `revision` (read with a key's claim; None: read now), or as of a
    later one: read again only when it changed since this process last read it."""
    global _price_list
    if revision is None:
        [row] = await _db().execute_query_dict(f"SELECT {_REVISION}")
        revision = str(row["revision"])
    kept = _price_list
    if kept is not None and kept.revision == revision:
        return kept
    # Read after `revision` was: as new as it, or newer (then the revision changed too, and the
    # next checkout's differs from this copy's).
    methods, rates = await asyncio.gather(shipping_methods(), tax_rates())
    _price_list = PriceList(revision, tuple(methods), tuple(rates))
    return _price_list


async def shipping_methods() -> list[pricing.ShippingMethod]:
    """Every method, in the order checkout offers them."""
    rows = await _db().execute_query_dict(
        f"SELECT {columns(METHOD_FIELDS)} FROM shipping_method ORDER BY position, code"
    )
    methods = []
    for row in rows:
        countries = json_value(row["countries"])
        row["countries"] = tuple(countries) if countries is not None else None
        methods.append(pricing.ShippingMethod(**row))
    return methods


async def put_shipping_method(method: pricing.ShippingMethod) -> None:
    fields = {k: v for k, v in asdict(method).items() if k != "code"}
    fields["countries"] = list(method.countries) if method.countries is not None else None
    await ShippingMethod.update_or_create(defaults=fields, code=method.code)


async def delete_shipping_method(code: str) -> None:
    if not await ShippingMethod.filter(code=code).delete():
        raise NotFound(f"no shipping method {code}")


async def tax_rates() -> list[pricing.TaxRate]:
    rows = await _db().execute_query_dict(
        f"SELECT {columns(RATE_FIELDS)} FROM tax_rate ORDER BY country, region"
    )
    return [pricing.TaxRate(**{**row, "on_shipping": bool(row["on_shipping"])}) for row in rows]


async def put_tax_rate(rate: pricing.TaxRate) -> None:
    fields = {"name": rate.name, "rate_bp": rate.rate_bp, "on_shipping": rate.on_shipping}
    await TaxRate.update_or_create(defaults=fields, country=rate.country, region=rate.region)


async def delete_tax_rate(country: str, region: str) -> None:
    if not await TaxRate.filter(country=country, region=region).delete():
        raise NotFound(f"no tax rate for {country}{'-' + region if region else ''}")


def _discount(row: DiscountCode) -> pricing.Discount:
    return pricing.Discount(
        **{f.name: getattr(row, f.name) for f in dataclass_fields(pricing.Discount)}
    )


async def discount(code: str) -> pricing.Discount | None:
    row = await DiscountCode.get_or_none(code=code)
    return _discount(row) if row is not None else None


async def discounts() -> list[pricing.Discount]:
    return [_discount(r) for r in await DiscountCode.all().order_by("code")]


async def put_discount(discount: pricing.Discount) -> None:
    """Create or change a code; how often it was used stays as counted."""
    fields = {k: v for k, v in asdict(discount).items() if k not in ("code", "redemptions")}
    await DiscountCode.update_or_create(defaults=fields, code=discount.code)


async def delete_discount(code: str) -> None:
    if not await DiscountCode.filter(code=code).delete():
        raise NotFound(f"no discount code {code}")
