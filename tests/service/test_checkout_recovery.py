"""Checkouts that stop half-way, proven in-process against the real PostgreSQL and against
SQLite (the local run's database): the orders service's own code (checkout, settlement,
reconciler, store) with the test payment provider, so each state a crash can leave behind is
built exactly and its recovery checked."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from aiohttp import web
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from devstack.processes import free_port
from petshore.contract import ORDERS
from petshore.db import apply_migrations, tortoise_config
from petshore.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidRequest,
    OutOfStock,
    PaymentDeclined,
)
from petshore.timestamps import utcnow
from petshore.upstream import ServiceClient
from services.orders import checkout, pricing, reconciler, rules, settlement, store
from services.orders.models import (
    DiscountCode,
    IdempotencyRecord,
    Inventory,
    Order,
    OrderEvent,
)
from services.orders.payments import Payment, PaymentState, TestProvider
from services.orders.schemas import Checkout
from services.orders.settlement import Peers
from tests.conftest import scratch_database

T = TypeVar("T")
LEASE = 0.3


# Both databases the service runs on: its hot statements are raw SQL (store.py).
@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('recovery') / 'orders.sqlite3'}"
        asyncio.run(apply_migrations(tortoise_config(url, ORDERS.module)))
        yield url
        return
    with scratch_database("recovery") as url:
        asyncio.run(apply_migrations(tortoise_config(url, ORDERS.module)))
        yield url


def run(database: str, scenario: Callable[[Peers], Awaitable[T]]) -> T:
    """`scenario` with the orders models on `database` and peers that are not there (the
    cart and the catalog are only needed before an order exists)."""

    async def main() -> T:
        await Tortoise.init(config=tortoise_config(database, ORDERS.module))
        try:
            async with _peers_at(f"http://127.0.0.1:{free_port()}", 1.0) as peers:
                return await scenario(peers)
        finally:
            await Tortoise.close_connections()

    return asyncio.run(main())


class _Ledger(TestProvider):
    """The test payment provider, keeping the reference of every payment it created."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    async def create(
        self, *, order_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> Payment:
        payment = await super().create(
            order_id=order_id,
            amount_cents=amount_cents,
            currency=currency,
            idempotency_key=idempotency_key,
        )
        self.created.append(payment.reference)
        return payment


@asynccontextmanager
async def _peers_at(url: str, timeout: float) -> AsyncIterator[Peers]:
    """A cart and a catalog at `url`, and the test payment provider."""
    peers = Peers(
        cart=ServiceClient("cart", url, timeout),
        catalog=ServiceClient("catalog", url, timeout),
        payments=_Ledger(),
    )
    try:
        yield peers
    finally:
        await peers.cart.close()
        await peers.catalog.close()


def body(token: str = "tok_visa") -> Checkout:
    return Checkout.model_validate(
        {
            "cart_id": "c" * 22,
            "email": "shopper@example.com",
            "shipping_address": {
                "name": "Sam",
                "line1": "1 Kennel Lane",
                "city": "Portland",
                "postal_code": "97201",
                "country": "US",
            },
            "payment": {"token": token},
        }
    )


async def _stocked(units: int) -> str:
    sku = "R-" + secrets.token_hex(4).upper()
    await store.set_available(sku, units, "set", "test")
    return sku


def _quote(*lines: rules.PricedLine) -> pricing.Quote:
    standard = pricing.ShippingMethod("standard", "Standard shipping", 0, "USD", None, 3, 7, None)
    totals = pricing.price(list(lines), standard, None, None)
    return pricing.Quote(list(lines), "USD", totals, standard, [(standard, 0)], None, None)


async def _half_done(peers: Peers, key: str, sku: str, paying: bool = True) -> checkout.Claim:
    """What a checkout killed right after taking stock leaves: a held key and a pending order
    with its payment, created and never confirmed (unless not `paying`: `_without_payment`)."""
    claimed = await checkout._claim(key, rules.request_hash(body().identity()), LEASE)
    assert isinstance(claimed, checkout.Claim)
    payment = await peers.payments.create(
        order_id=claimed.order_id, amount_cents=1000, currency="USD", idempotency_key=key
    )
    line = rules.PricedLine(sku, "Rope toy", 2, 500)
    await _place(claimed, _quote(line), reference=payment.reference)
    if not paying:
        await _without_payment(claimed.order_id)
    return claimed


async def _without_payment(order_id: str) -> None:
    """The order as the version before this one left it when it stopped between placing an
    order and creating its payment (it created the payment second)."""
    await Order.filter(id=order_id).update(payment_reference=None)


async def _place(
    claim: checkout.Claim,
    quote: pricing.Quote,
    new_key: store.NewKey | None = None,
    reference: str = "pi_never_created",
) -> None:
    """`quote` placed as an order on `claim`'s key, for the shopper of `body()`."""
    await store.place_order(
        order_id=claim.order_id,
        key=claim.key,
        owner=claim.owner,
        quote=quote,
        email="shopper@example.com",
        shipping_address={"name": "Sam"},
        cart_id="c" * 22,
        customer_id=None,
        payment_reference=reference,
        new_key=new_key,
    )


async def _confirmed(peers: Peers, claimed: checkout.Claim, token: str) -> None:
    """The half-done checkout got as far as confirming its payment before it died."""
    reference = (await store.get_order(claimed.order_id))["payment_reference"]
    await peers.payments.confirm(reference, token=token, idempotency_key=claimed.key)


async def _reconciled_after_the_lease(peers: Peers) -> None:
    await asyncio.sleep(LEASE * 1.5)
    await reconciler.reconcile_once(peers, older_than=LEASE, lease=LEASE)


async def _stock(sku: str) -> int:
    return (await Inventory.get(sku=sku)).available


def test_a_retry_after_the_lease_resumes_the_order_the_key_started(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        first = await _half_done(peers, key, sku)
        await asyncio.sleep(LEASE * 1.5)
        order = await checkout.place(peers, key, body(), LEASE)
        assert order["id"] == first.order_id and order["status"] == "paid"
        assert await Order.filter(idempotency_key=key).count() == 1
        assert await _stock(sku) == 3
        again = await checkout.place(peers, key, body(), LEASE)
        assert again["id"] == first.order_id
        record = await IdempotencyRecord.get(key=key)
        assert (record.state, record.response_status) == ("done", 201)

    run(database, scenario)


def test_a_retry_pays_for_an_order_placed_before_its_payment_was_created(database: str) -> None:
    """An order the version before this one placed and left without a payment (an upgrade
    while it ran): a retry creates the payment, records it on the order, then charges it."""

    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        first = await _half_done(peers, key, sku, paying=False)
        await asyncio.sleep(LEASE * 1.5)
        order = await checkout.place(peers, key, body(), LEASE)
        assert order["id"] == first.order_id and order["status"] == "paid"
        reference = order["payment_reference"]
        assert reference is not None and reference == peers.payments.created[-1]
        assert (await peers.payments.retrieve(reference)).state is PaymentState.SUCCEEDED
        assert await _stock(sku) == 3

    run(database, scenario)


def test_a_checkout_that_lost_its_key_can_place_no_order(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        digest = rules.request_hash(body().identity())
        slow = await checkout._claim(key, digest, LEASE)
        assert isinstance(slow, checkout.Claim)
        await asyncio.sleep(LEASE * 1.5)
        retry = await checkout._claim(key, digest, LEASE)
        assert isinstance(retry, checkout.Claim)
        assert (retry.order_id, retry.owner) != (slow.order_id, "") and retry.owner != slow.owner
        assert retry.order_id == slow.order_id, "a key places only the order it was claimed for"
        line = rules.PricedLine(sku, "Rope toy", 1, 500)
        with pytest.raises(store.LostKey):
            await _place(slow, _quote(line))
        assert await _stock(sku) == 5, "the fenced transaction took no stock"
        assert not await Order.filter(idempotency_key=key).exists()

    run(database, scenario)


def test_a_checkout_that_lost_its_key_before_the_charge_charges_nothing(database: str) -> None:
    """The fence before money moves: a checkout whose lease may have run out (set longer ago
    than its renewal's period) checks it still holds its key before it confirms; one that
    was taken over meanwhile leaves the payment alone, for the checkout holding the key now,
    which charges it once."""

    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        slow = await _half_done(peers, key, sku)
        await asyncio.sleep(LEASE * 1.5)
        retry = await checkout._claim(key, rules.request_hash(body().identity()), LEASE)
        assert isinstance(retry, checkout.Claim) and retry.resumed
        order = await store.get_order(slow.order_id)
        with pytest.raises(Conflict):
            await checkout._pay(peers, slow, order, "tok_visa", LEASE)
        payment = await peers.payments.retrieve(order["payment_reference"])
        assert payment.state is PaymentState.UNCONFIRMED
        paid = await checkout._pay(peers, retry, order, "tok_visa", LEASE)
        assert paid.order["status"] == "paid" and await _stock(sku) == 3

    run(database, scenario)


def test_releasing_a_key_keeps_it_when_its_order_was_placed_after_all(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        # The commit went through but its answer was lost: the checkout believes it failed.
        await store.release_key(key, claimed.owner, utcnow())
        record = await IdempotencyRecord.get(key=key)
        assert record.state == "in_progress" and record.order_id == claimed.order_id

        nothing = "k-" + secrets.token_hex(6)
        lost = await checkout._claim(nothing, "h", LEASE)
        assert isinstance(lost, checkout.Claim)
        await store.release_key(nothing, lost.owner, utcnow())
        assert not await IdempotencyRecord.filter(key=nothing).exists()

    run(database, scenario)


def test_the_reconciler_undoes_a_checkout_that_stopped_before_payment(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku, paying=False)
        await asyncio.sleep(LEASE * 1.5)
        assert await reconciler.reconcile_once(peers, older_than=LEASE, lease=LEASE) >= 1
        order = await store.get_order(claimed.order_id)
        assert order["status"] == "cancelled" and order["paid_at"] is None
        assert await _stock(sku) == 5, "its stock is for sale again"
        kinds = await OrderEvent.filter(order_id=claimed.order_id).values_list("kind", "actor")
        assert ("cancelled", "reconciler") in kinds
        with pytest.raises(Conflict) as retried:
            await checkout.place(peers, key, body(), LEASE)
        assert retried.value.details["order_id"] == claimed.order_id

    run(database, scenario)


def test_the_reconciler_cancels_a_payment_never_confirmed_so_nobody_can_charge_it(
    database: str,
) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        reference = (await store.get_order(claimed.order_id))["payment_reference"]
        await _reconciled_after_the_lease(peers)
        assert (await store.get_order(claimed.order_id))["status"] == "cancelled"
        assert await _stock(sku) == 5
        # The checkout was only frozen, not dead: when it wakes, its charge is refused.
        late = await peers.payments.confirm(reference, token="tok_visa", idempotency_key=key)
        assert late.state is PaymentState.CANCELED

    run(database, scenario)


def test_the_reconciler_finishes_a_checkout_whose_card_was_charged(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        await _confirmed(peers, claimed, token="tok_visa")
        await _reconciled_after_the_lease(peers)
        order = await store.get_order(claimed.order_id)
        assert order["status"] == "paid" and order["paid_at"] is not None
        assert await _stock(sku) == 3
        replay = await checkout.place(peers, key, body(), LEASE)
        assert replay["id"] == claimed.order_id

    run(database, scenario)


def test_a_payment_not_recorded_on_its_order_settles_nothing(database: str) -> None:
    """Another attempt at the same order (one that stalled while a retry took its key over)
    made a payment of its own and, refused, cancelled it: what the provider says of that
    payment (its webhook) leaves the order to the payment recorded on it."""

    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        stray = await peers.payments.create(
            order_id=claimed.order_id, amount_cents=1000, currency="USD", idempotency_key="x"
        )
        cancelled = await peers.payments.cancel(stray.reference)
        order, settled = await settlement.apply_payment(
            peers.payments, cancelled, "webhook", key=key
        )
        assert not settled and order["status"] == "pending" and await _stock(sku) == 3
        await _confirmed(peers, claimed, token="tok_visa")
        await _reconciled_after_the_lease(peers)
        assert (await store.get_order(claimed.order_id))["status"] == "paid"

    run(database, scenario)


def test_a_declined_card_found_by_the_reconciler_gives_the_stock_back(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        await _confirmed(peers, claimed, token="tok_chargeDeclined")
        await _reconciled_after_the_lease(peers)
        assert (await store.get_order(claimed.order_id))["status"] == "payment_failed"
        assert await _stock(sku) == 5
        with pytest.raises(PaymentDeclined):
            await checkout.place(peers, key, body(), LEASE)

    run(database, scenario)


def test_a_key_that_placed_nothing_is_let_go_by_the_reconciler(database: str) -> None:
    async def scenario(peers: Peers) -> None:
        key = "k-" + secrets.token_hex(6)
        claimed = await checkout._claim(key, "h", LEASE)
        assert isinstance(claimed, checkout.Claim)
        await _reconciled_after_the_lease(peers)
        assert not await IdempotencyRecord.filter(key=key).exists()

    run(database, scenario)


def test_a_live_checkout_is_left_alone(database: str) -> None:
    async def scenario(peers: Peers) -> Any:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await _half_done(peers, key, sku)
        await store.renew_lease(key, claimed.owner, utcnow().replace(year=utcnow().year + 1))
        await reconciler.reconcile_once(peers, older_than=0.001, lease=LEASE)
        assert (await store.get_order(claimed.order_id))["status"] == "pending"

    run(database, scenario)


def _statements(caplog: pytest.LogCaptureFixture) -> int:
    """The SQL statements run since the log was cleared (Tortoise logs each one)."""
    return sum(1 for r in caplog.records if r.name == "tortoise.db_client" and r.msg == "%s: %s")


def test_an_order_is_placed_in_one_statement_on_postgresql(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL an order is placed in one statement whatever its lines, its payment's
    reference with it (or, for an order placed before its payment was created, the payment's
    record goes with the renewal of the key's lease), and a paid order settles in one
    statement, its key's outcome with it. On SQLite, no statement per line but the
    conditional take of its stock, and one statement per table."""

    async def placed(lines: int) -> tuple[checkout.Claim, int]:
        skus = [await _stocked(5) for _ in range(lines)]
        claimed = await checkout._claim("k-" + secrets.token_hex(6), "h", LEASE)
        assert isinstance(claimed, checkout.Claim)
        caplog.clear()
        await _place(claimed, _quote(*(rules.PricedLine(sku, "Rope toy", 1, 500) for sku in skus)))
        return claimed, _statements(caplog)

    postgres = database.startswith("postgres")

    async def scenario(peers: Peers) -> None:
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            _, one = await placed(1)
            claimed, three = await placed(3)
            # The key's fence, the take of each line's stock, then the order, its lines and its
            # history: all in one statement on PostgreSQL, a statement each on SQLite.
            assert (one, three) == ((1, 1) if postgres else (5, 7))
            order_id, until = claimed.order_id, utcnow() + timedelta(seconds=LEASE)
            await _without_payment(order_id)
            caplog.clear()
            held = (claimed.key, claimed.owner, until)
            assert await store.record_payment(order_id, "pi_1", held) == (True, True)
            recording = _statements(caplog)
            # A payment of its own, and a lease another checkout holds now: neither is taken.
            assert await store.record_payment(order_id, "pi_2", (claimed.key, "other", until)) == (
                False,
                False,
            )
            caplog.clear()
            outcome = (claimed.key, 201)
            settled = await store.settle(
                order_id, "paid", "test", {}, reference="pi_1", outcome=outcome
            )
            settling = _statements(caplog)
        assert settled is not None
        assert (recording, settling) == ((1, 1) if postgres else (2, 3))
        order = await store.get_order(order_id)
        assert order["status"] == "paid" and order["paid_at"] is not None
        assert order["payment_reference"] == "pi_1"
        assert len(order["items"]) == 3
        kinds = await OrderEvent.filter(order_id=order_id).order_by("id").values_list("kind")
        assert kinds == [("placed",), ("paid",)]
        key = await IdempotencyRecord.get(key=claimed.key)
        assert (key.state, key.response_status, key.lease_expires_at) == ("done", 201, until)
        # Settled already: the order and its key stay as they are.
        again = await store.settle(order_id, "cancelled", "test", {}, reference="pi_1")
        assert again is None

    run(database, scenario)


def test_the_price_list_is_read_again_only_once_it_changed(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A key's claim reads the price list's revision in its own statement; the list itself
    is read again only after a shipping method or a tax rate changed (the migration's
    triggers change the revision, whoever writes)."""

    async def claimed() -> str | None:
        record, revision = await store.claim_key(
            "k-" + secrets.token_hex(6), "h", rules.new_order_id(), "o", utcnow()
        )
        assert record is None
        return revision

    async def priced(revision: str | None) -> tuple[store.PriceList, int]:
        caplog.clear()
        prices = await store.price_list(revision)
        return prices, _statements(caplog)

    async def scenario(peers: Peers) -> None:
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            caplog.clear()
            first = await claimed()
            assert first is not None and _statements(caplog) == 1
            read, _ = await priced(first)
            again, statements = await priced(await claimed())
            assert (again, statements) == (read, 0)
            changes = [
                lambda: store.put_tax_rate(pricing.TaxRate("US", "NV", "Nevada", 825, True)),
                lambda: store.put_tax_rate(pricing.TaxRate("US", "NV", "Nevada", 900, True)),
                lambda: store.delete_tax_rate("US", "NV"),
                lambda: store.put_shipping_method(
                    pricing.ShippingMethod("pony", "Pony", 700, "USD", None, 1, 2, ("US",))
                ),
                lambda: store.delete_shipping_method("pony"),
            ]
            for change in changes:
                before = await claimed()
                await change()
                revision = await claimed()
                assert revision != before
                fresh, statements = await priced(revision)
                assert statements == 2 and fresh.revision == revision
                assert fresh.rates == tuple(await store.tax_rates())
                assert fresh.methods == tuple(await store.shipping_methods())
            # Without a claim (a quote), the revision is read on its own.
            assert (await priced(None))[1] == 1

    run(database, scenario)


def test_simultaneous_orders_share_stock_and_a_code_without_deadlock(database: str) -> None:
    """Orders placed at once, their lines listed in opposite orders, all using one code:
    the code's uses and the stock are each given out exactly, and no order deadlocks."""

    async def place(code: str | None, *skus: str) -> str:
        claimed = await checkout._claim("k-" + secrets.token_hex(6), "h", 30)
        assert isinstance(claimed, checkout.Claim)
        quote = _quote(*(rules.PricedLine(sku, "Rope toy", 1, 500) for sku in skus))
        if code is not None:
            quote = replace(quote, discount=await store.discount(code))
        try:
            await _place(claimed, quote)
        except OutOfStock:
            return "short"
        except InvalidRequest as exc:
            assert exc.details["fields"] == ["discount_code"]
            return "used up"
        return "placed"

    async def scenario(peers: Peers) -> None:
        a, b = await _stocked(4), await _stocked(4)
        code = "THREE-" + secrets.token_hex(3).upper()
        await DiscountCode.create(code=code, kind="free_shipping", max_redemptions=3)
        outcomes = await asyncio.gather(
            *(place(code, *((a, b) if i % 2 else (b, a))) for i in range(6))
        )
        assert sorted(outcomes) == ["placed"] * 3 + ["used up"] * 3
        assert (await DiscountCode.get(code=code)).redemptions == 3
        # One unit of each left: one order of three gets it, and nothing else is taken.
        outcomes = await asyncio.gather(
            *(place(None, *((a, b) if i % 2 else (b, a))) for i in range(3))
        )
        assert sorted(outcomes) == ["placed", "short", "short"]
        assert await store.available([a, b]) == {a: 0, b: 0}
        assert await Order.filter(discount_code=code).count() == 3

    run(database, scenario)


def test_a_first_request_claims_its_key_in_the_statement_placing_its_order(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With `new_key`, the key is claimed where the order is placed (one statement on
    PostgreSQL); a key held already, a price list changed since the order was priced, or
    stock too short each change nothing at all, the key's claim included."""

    async def place(key: str, sku: str, quantity: int, revision: str) -> str:
        claim = checkout.Claim(key, rules.new_order_id(), checkout.new_owner())
        line = rules.PricedLine(sku, "Rope toy", quantity, 500)
        await _place(claim, _quote(line), new_key=store.NewKey("h", 30, revision))
        return claim.order_id

    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        revision = (await store.price_list()).revision
        key = "k-" + secrets.token_hex(6)
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            caplog.clear()
            order_id = await place(key, sku, 2, revision)
            statements = _statements(caplog)
        assert statements == (1 if database.startswith("postgres") else 5)
        record = await IdempotencyRecord.get(key=key)
        assert (record.state, record.order_id, record.request_hash) == (
            "in_progress",
            order_id,
            "h",
        )
        assert record.lease_expires_at is not None and record.lease_expires_at > utcnow()
        assert (await store.get_order(order_id))["status"] == "pending"
        assert await _stock(sku) == 3

        refusals: list[tuple[str, type[Exception]]] = [
            (key, store.ClaimFirst),  # held already: by the order above
            ("k-" + secrets.token_hex(6), store.ClaimFirst),  # priced with an older list
            ("k-" + secrets.token_hex(6), OutOfStock),
        ]
        for (refused, error), (quantity, priced) in zip(
            refusals, [(1, revision), (1, "older"), (4, revision)], strict=True
        ):
            with pytest.raises(error) as raised:
                await place(refused, sku, quantity, priced)
            if error is store.ClaimFirst:
                assert str(raised.value) == ("key_held" if refused == key else "stale_prices")
            assert await _stock(sku) == 3
        assert await IdempotencyRecord.filter(key__in=[k for k, _ in refusals]).count() == 1
        assert (await IdempotencyRecord.get(key=key)).owner == record.owner
        assert await Order.filter(idempotency_key__in=[k for k, _ in refusals]).count() == 1

        # Sent twice at once: the second waits for the first's statement, then finds it held.
        twice = "k-" + secrets.token_hex(6)
        outcomes = await asyncio.gather(
            *(place(twice, sku, 1, revision) for _ in range(2)), return_exceptions=True
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["ClaimFirst", "str"]
        assert await _stock(sku) == 2

    run(database, scenario)


@asynccontextmanager
async def _shop(
    sku: str, carts: dict[str, list[dict[str, Any]]], lines_stay: bool = False
) -> AsyncIterator[Peers]:
    """Peers for whole checkouts: a cart and a catalog answering over HTTP from memory, the
    carts as `carts` holds them (a paid order empties its lines, unless `lines_stay`: the
    cart fails to take them out), one product, `sku`."""
    product = {"sku": sku, "name": "Rope toy", "price_cents": 500, "currency": "USD"}

    async def cart(request: web.Request) -> web.Response:
        items = carts.get(request.match_info["cart_id"])
        if items is None:
            return web.json_response({"error": {"code": "not_found"}}, status=404)
        return web.json_response({"cart_id": request.match_info["cart_id"], "items": items})

    async def remove_line(request: web.Request) -> web.Response:
        if lines_stay:
            return web.json_response({"error": {"code": "unavailable"}}, status=503)
        carts[request.match_info["cart_id"]] = [
            item
            for item in carts[request.match_info["cart_id"]]
            if item["sku"] != request.match_info["sku"]
        ]
        return await cart(request)

    async def catalog_page(request: web.Request) -> web.Response:
        wanted = request.query["skus"].split(",")
        items = [{**product, "status": "active"}] if sku in wanted else []
        return web.json_response({"items": items, "next_cursor": None})

    app = web.Application()
    app.router.add_get("/api/cart/carts/{cart_id}", cart)
    app.router.add_get("/api/catalog/products", catalog_page)
    app.router.add_delete("/api/cart/carts/{cart_id}/items/{sku}", remove_line)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with _peers_at(f"http://127.0.0.1:{port}", 5.0) as peers:
            yield peers
    finally:
        await runner.cleanup()


def test_whole_checkouts_with_the_key_claimed_where_the_order_is_placed(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Once its process keeps the price list, a checkout runs two statements on PostgreSQL:
    the order placed with its key's claim and its payment's reference, the order settled. A
    retry, whose cart is empty by then, gets the order; the same key sent at once from several
    requests makes one order; a changed price list, a key used for another request and stock
    too short are answered as before, and a refused order keeps no key. Every payment made
    was either charged for a paid order or cancelled: none is left to be charged."""
    cart_id = "c" * 22

    async def scenario(_: Peers) -> None:
        sku = await _stocked(20)
        carts = {cart_id: [{"sku": sku, "quantity": 2}]}
        async with _shop(sku, carts) as peers:
            await store.price_list()
            key = "k-" + secrets.token_hex(6)
            with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
                caplog.clear()
                order = await checkout.place(peers, key, body(), LEASE)
                statements = _statements(caplog)
            if database.startswith("postgres"):
                assert statements == 2
            assert order["status"] == "paid" and order["total_cents"] == 1000
            assert carts[cart_id] == [] and await _stock(sku) == 18
            record = await IdempotencyRecord.get(key=key)
            assert (record.state, record.response_status, record.order_id) == (
                "done",
                201,
                order["id"],
            )
            assert (await checkout.place(peers, key, body(), LEASE))["id"] == order["id"]

            carts[cart_id] = [{"sku": sku, "quantity": 1}]
            at_once = "k-" + secrets.token_hex(6)
            orders = await asyncio.gather(
                *(checkout.place(peers, at_once, body(), LEASE) for _ in range(5))
            )
            assert {o["id"] for o in orders} == {orders[0]["id"]}
            assert await _stock(sku) == 17
            assert await Order.filter(idempotency_key=at_once).count() == 1

            with pytest.raises(IdempotencyKeyReused):
                await checkout.place(peers, at_once, body("tok_mastercard"), LEASE)

            carts[cart_id] = [{"sku": sku, "quantity": 1}]
            await store.put_tax_rate(pricing.TaxRate("US", "OR", "Oregon", 0, True))
            changed = await checkout.place(peers, "k-" + secrets.token_hex(6), body(), LEASE)
            assert changed["status"] == "paid" and await _stock(sku) == 16
            kept = store.kept_price_list()
            assert kept is not None and kept == await store.price_list()

            # A method the kept list does not have yet: refused as priced from that list,
            # the request is priced again from the list as it is now.
            pony = pricing.ShippingMethod("pony", "Pony", 700, "USD", None, 1, 2, ("US",))
            await store.put_shipping_method(pony)
            carts[cart_id] = [{"sku": sku, "quantity": 1}]
            by_pony = body().model_copy(update={"shipping_method": "pony"})
            ponied = await checkout.place(peers, "k-" + secrets.token_hex(6), by_pony, LEASE)
            assert ponied["shipping_method"] == "pony" and ponied["shipping_cents"] == 700
            assert await _stock(sku) == 15
            await store.delete_shipping_method("pony")

            carts[cart_id] = [{"sku": sku, "quantity": 17}]
            short = "k-" + secrets.token_hex(6)
            with pytest.raises(OutOfStock):
                await checkout.place(peers, short, body(), LEASE)
            assert not await IdempotencyRecord.filter(key=short).exists()
            assert await _stock(sku) == 15

            made = peers.payments.created
            states = {r: (await peers.payments.retrieve(r)).state for r in made}
            charged = {r for r, state in states.items() if state is PaymentState.SUCCEEDED}
            paying = Order.filter(payment_reference__in=made, status="paid")
            paid = set(await paying.values_list("payment_reference", flat=True))
            # The first order, the one sent at once, the one repriced, the one sent by pony.
            assert charged == paid and len(paid) == 4
            left = {state for r, state in states.items() if r not in charged}
            assert left == {PaymentState.CANCELED}, "a refused attempt cancels its payment"

    run(database, scenario)


def test_a_paid_order_stands_when_its_cart_cannot_be_emptied(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The card was charged: the order is paid and answered as placed, its key bound to it,
    although the cart failed to take its lines out while the order was settled (they stay,
    and are logged); a retry answers the same order."""
    cart_id = "c" * 22

    async def scenario(_: Peers) -> None:
        sku = await _stocked(5)
        carts = {cart_id: [{"sku": sku, "quantity": 2}]}
        async with _shop(sku, carts, lines_stay=True) as peers:
            key = "k-" + secrets.token_hex(6)
            with caplog.at_level(logging.WARNING, logger="petshore.orders.settlement"):
                order = await checkout.place(peers, key, body(), LEASE)
            assert order["status"] == "paid" and order["paid_at"] is not None
            assert await _stock(sku) == 3
            assert carts[cart_id] == [{"sku": sku, "quantity": 2}]
            assert "the cart could not be emptied" in caplog.text
            record = await IdempotencyRecord.get(key=key)
            assert (record.state, record.response_status) == ("done", 201)
            assert (await checkout.place(peers, key, body(), LEASE))["id"] == order["id"]
            assert await Order.filter(idempotency_key=key).count() == 1

    run(database, scenario)


# On PostgreSQL only: SQLite writes one transaction at a time, so nothing waits on a row.
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_a_key_being_released_waits_for_the_order_being_placed_with_it(database: str) -> None:
    """A checkout that gave up on its placing statement (its answer lost, or a timeout)
    releases its key while that statement may still commit. The release waits for it, and
    keeps the key bound to the order it placed: deleted, a retry would place a second one."""

    async def scenario(peers: Peers) -> None:
        sku = await _stocked(5)
        key = "k-" + secrets.token_hex(6)
        claimed = await checkout._claim(key, "h", 30)
        assert isinstance(claimed, checkout.Claim)
        placed, commit = asyncio.Event(), asyncio.Event()

        async def placing() -> None:
            async with in_transaction():
                await _place(claimed, _quote(rules.PricedLine(sku, "Rope toy", 1, 500)))
                placed.set()
                await commit.wait()

        placer = asyncio.create_task(placing())
        await placed.wait()
        # Made outside the placing transaction's context: a connection of its own.
        releasing = asyncio.create_task(store.release_key(key, claimed.owner, utcnow()))
        await asyncio.sleep(0.3)
        assert not releasing.done(), "the release waits for the statement holding the key"
        commit.set()
        await asyncio.gather(placer, releasing)
        record = await IdempotencyRecord.get(key=key)
        assert (record.state, record.order_id) == ("in_progress", claimed.order_id)
        assert record.lease_expires_at is not None and record.lease_expires_at <= utcnow()
        assert await Order.filter(idempotency_key=key).count() == 1

    run(database, scenario)
