"""All of the orders service's database access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

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
from services.orders.rules import OrderFilter

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
# Orders whose money can still be given back in part or in full.
REFUNDABLE = ("paid", "fulfilled")


class LostKey(Exception):
    """This checkout no longer holds its Idempotency-Key: another one took it over."""


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
) -> None:
    """Take stock for every line and record the order, in one transaction: either every line
    is reserved or nothing changes. Each decrement is conditional on enough stock, so two
    checkouts can never both take the last unit, and a discount code's last use goes to one
    order only."""
    lines, totals = quote.lines, quote.totals
    async with in_transaction() as conn:
        # The fence: only the checkout that holds the key may place its order. The update
        # also locks the key's row, so a takeover waits until this transaction ends.
        held = (
            await IdempotencyRecord.filter(key=key, owner=owner, state="in_progress")
            .using_db(conn)
            .update(order_id=order_id)
        )
        if not held:
            raise LostKey(key)
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
            names = {line.sku: line.name for line in lines}
            raise OutOfStock(
                "not enough left of " + ", ".join(names[s] or s for s in short),
                {"skus": short},
            )
        if quote.discount is not None:
            await _redeem(conn, quote.discount.code)
        order = await Order.create(
            id=order_id,
            status="pending",
            email=email,
            shipping_address=shipping_address,
            ship_to_name=shipping_address["name"],
            currency=quote.currency,
            subtotal_cents=totals.subtotal,
            shipping_cents=totals.shipping,
            tax_cents=totals.tax,
            discount_cents=totals.discount,
            total_cents=totals.total,
            shipping_method=quote.method.code,
            shipping_method_name=quote.method.name,
            discount_code=quote.discount.code if quote.discount else None,
            cart_id=cart_id,
            customer_id=customer_id,
            idempotency_key=key,
            using_db=conn,
        )
        await OrderLine.bulk_create(
            [
                OrderLine(
                    order=order,
                    position=i,
                    sku=ln.sku,
                    name=ln.name,
                    quantity=ln.quantity,
                    unit_price_cents=ln.unit_price_cents,
                )
                for i, ln in enumerate(lines)
            ],
            using_db=conn,
        )
        await OrderEvent.create(
            order=order, kind="placed", actor="checkout", detail={}, using_db=conn
        )


async def _redeem(conn: Any, code: str) -> None:
    room = Q(max_redemptions__isnull=True) | Q(redemptions__lt=F("max_redemptions"))
    used = (
        await DiscountCode.filter(room, code=code, active=True)
        .using_db(conn)
        .update(redemptions=F("redemptions") + 1)
    )
    if not used:
        raise field_error("discount_code", "this code has been used up")


async def set_payment_reference(order_id: str, reference: str) -> bool:
    """Record the provider's payment for a pending order; False when the order has moved on
    (the reconciler cancelled it) and the payment must not be confirmed."""
    async with in_transaction() as conn:
        changed = (
            await Order.filter(id=order_id, status="pending", payment_reference=None)
            .using_db(conn)
            .update(payment_reference=reference)
        )
        if changed:
            return True
        return bool(
            await Order.filter(id=order_id, status="pending", payment_reference=reference)
            .using_db(conn)
            .exists()
        )


async def settle(
    order_id: str, status: str, actor: str, detail: dict[str, Any], *, require_reference: bool
) -> bool:
    """Move a pending order to `status` (paid, payment_failed or cancelled); stock (and the
    use of its discount code) comes back unless it was paid. `require_reference=False` only
    settles an order that has no payment yet (nothing can then be charged for it). False
    when the order was not pending."""
    async with in_transaction() as conn:
        pending = Order.filter(id=order_id, status="pending")
        if not require_reference:
            pending = pending.filter(payment_reference=None)
        changes: dict[str, Any] = {"status": status}
        if status == "paid":
            changes["paid_at"] = utcnow()
        changed = await pending.using_db(conn).update(**changes)
        if not changed:
            return False
        if status != "paid":
            await _release_stock(conn, order_id)
            await _unredeem(conn, order_id)
        await OrderEvent.create(
            order_id=order_id, kind=status, actor=actor, detail=detail, using_db=conn
        )
        return True


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
    order = await Order.filter(id=order_id).first().values(*ORDER_FIELDS)
    if order is None:
        return None
    order["items"] = list(
        await OrderLine.filter(order_id=order_id).order_by("position").values(*LINE_FIELDS)
    )
    return order


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


def _unclaimed(notice: Notice, stale_before: datetime) -> Q:
    return Q(**{notice.claimed: None}) | Q(**{f"{notice.claimed}__lt": stale_before})


async def claim_notice(
    notice: Notice, order_id: str, now: datetime, stale_before: datetime
) -> bool:
    """Whether this sender may send the order's `notice` now: it is due, unsent, and no
    other sender claimed it since `stale_before`."""
    claimed = (
        await Order.filter(id=order_id, status=notice.status, **{notice.sent: None})
        .filter(_unclaimed(notice, stale_before))
        .update(**{notice.claimed: now})
    )
    return claimed == 1


async def release_notice(notice: Notice, order_id: str, claimed_at: datetime) -> None:
    await Order.filter(id=order_id, **{notice.claimed: claimed_at}).update(**{notice.claimed: None})


async def notice_sent(notice: Notice, order_id: str, now: datetime) -> None:
    await Order.filter(id=order_id).update(**{notice.sent: now})


async def unsent_notices(
    notice: Notice, *, due_since: datetime, claimed_before: datetime, limit: int
) -> list[str]:
    """Orders whose `notice` was never sent and is not being sent now."""
    rows = (
        Order.filter(status=notice.status, **{notice.sent: None, f"{notice.since}__gte": due_since})
        .filter(_unclaimed(notice, claimed_before))
        .order_by(notice.since)
        .limit(limit)
    )
    return [str(order_id) for order_id in await rows.values_list("id", flat=True)]


async def get_order(order_id: str) -> Row:
    order = await find_order(order_id)
    if order is None:
        raise NotFound("no such order")
    return order


# Idempotency keys ---------------------------------------------------------------------


async def claim_key(
    key: str, request_hash: str, order_id: str, owner: str, lease_until: datetime
) -> IdempotencyRecord | None:
    """Claim `key` for this request: None when it is ours now, else the record that holds it."""
    while True:
        try:
            await IdempotencyRecord.create(
                key=key,
                request_hash=request_hash,
                state="in_progress",
                order_id=order_id,
                owner=owner,
                lease_expires_at=lease_until,
            )
        except IntegrityError:
            record = await IdempotencyRecord.get_or_none(key=key)
            if record is not None:
                return record
            continue  # its holder released it between our insert and our read
        return None


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
    return bool(
        await IdempotencyRecord.filter(key=key, owner=owner, state="in_progress").update(
            lease_expires_at=lease_until
        )
    )


async def drop_lease(key: str, owner: str, now: datetime) -> None:
    """Stop holding a key whose outcome is not known yet, so a retry can resume it at once."""
    await IdempotencyRecord.filter(key=key, owner=owner, state="in_progress").update(
        lease_expires_at=now
    )


async def finish_key(key: str, status: int) -> None:
    """The key's outcome is definite: every retry gets it from now on."""
    await IdempotencyRecord.filter(key=key).update(state="done", response_status=status)


async def release_key(key: str, owner: str, now: datetime) -> None:
    """Forget a key whose request changed nothing, so a retry runs afresh. If its order
    exists after all (a commit whose answer was lost), keep the key and only drop its lease."""
    async with in_transaction() as conn:
        record = await IdempotencyRecord.filter(key=key, owner=owner).using_db(conn).first()
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


def _method(row: ShippingMethod) -> pricing.ShippingMethod:
    return pricing.ShippingMethod(
        code=row.code,
        name=row.name,
        price_cents=row.price_cents,
        currency=row.currency,
        free_over_cents=row.free_over_cents,
        min_days=row.min_days,
        max_days=row.max_days,
        countries=tuple(row.countries) if row.countries is not None else None,
        position=row.position,
    )


async def shipping_methods() -> list[pricing.ShippingMethod]:
    rows = await ShippingMethod.all().order_by("position", "code")
    return [_method(r) for r in rows]


async def put_shipping_method(method: pricing.ShippingMethod) -> None:
    fields = {k: v for k, v in asdict(method).items() if k != "code"}
    fields["countries"] = list(method.countries) if method.countries is not None else None
    await ShippingMethod.update_or_create(defaults=fields, code=method.code)


async def delete_shipping_method(code: str) -> None:
    if not await ShippingMethod.filter(code=code).delete():
        raise NotFound(f"no shipping method {code}")


def _rate(row: TaxRate) -> pricing.TaxRate:
    return pricing.TaxRate(row.country, row.region, row.name, row.rate_bp, row.on_shipping)


async def tax_rates(country: str | None = None) -> list[pricing.TaxRate]:
    rows = TaxRate.all() if country is None else TaxRate.filter(country=country)
    return [_rate(r) for r in await rows.order_by("country", "region")]


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
