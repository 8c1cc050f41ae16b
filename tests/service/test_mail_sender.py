"""The orders service's mail sender (services/orders/sender.py) on the real PostgreSQL and the
emulator's SES, spoken to with the real SDK: every email due goes exactly once however many
senders run, one SES does not take is tried again later without holding up the others, a
stopping sender leaves its claims to others, and the due orders are found through their own
index."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from aiobotocore.session import get_session
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from devstack.processes import free_port
from petshore.contract import ORDERS
from petshore.db import apply_migrations, tortoise_config
from petshore.timestamps import utcnow
from services.orders import mail, rules, sender, store
from services.orders.mail import Mailer, send_due
from services.orders.models import Order, OrderLine
from tests.conftest import scratch_database
from tests.helpers import emails_to

SENDER = "shop@example.com"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database("mail") as url:
        asyncio.run(apply_migrations(tortoise_config(url, ORDERS.module)))
        yield url


@asynccontextmanager
async def _mailer(endpoint: str, timeout: float = 5.0) -> AsyncIterator[Mailer]:
    async with AsyncExitStack() as stack:
        ses = await stack.enter_async_context(
            get_session().create_client(
                "sesv2",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        )
        yield Mailer(ses, SENDER, "https://shop.example", timeout=timeout)


async def _paid_orders(count: int) -> list[tuple[str, str]]:
    """Paid orders whose confirmation is due: their ids and addresses."""
    placed = []
    for _ in range(count):
        order_id, address = rules.new_order_id(), f"due-{secrets.token_hex(6)}@example.com"
        await Order.create(
            id=order_id,
            status="paid",
            email=address,
            shipping_address={
                "name": "Ann",
                "line1": "1 Loop",
                "city": "Here",
                "postal_code": "1",
                "country": "US",
            },
            currency="USD",
            subtotal_cents=1299,
            total_cents=1299,
            cart_id="cart",
            paid_at=utcnow(),
        )
        await OrderLine.create(
            order_id=order_id,
            position=0,
            sku="PS-1",
            name="Rope",
            quantity=1,
            unit_price_cents=1299,
        )
        placed.append((order_id, address))
    return placed


def _run(database: str, scenario: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await Tortoise.init(config=tortoise_config(database, ORDERS.module))
        try:
            await scenario()
        finally:
            await Tortoise.close_connections()

    asyncio.run(main())


def test_three_senders_send_each_email_due_once(database: str, moto_url: str, outbox: Path) -> None:
    placed: list[tuple[str, str]] = []

    async def scenario() -> None:
        async with (
            _mailer(moto_url) as first,
            _mailer(moto_url) as second,
            _mailer(moto_url) as third,
        ):
            await first.ses.create_email_identity(EmailIdentity=SENDER)
            placed.extend(await _paid_orders(12))
            stopping = asyncio.Event()
            senders = [
                asyncio.create_task(sender.run(m, stopping, poll_seconds=0.05))
                for m in (first, second, third)
            ]
            for _ in range(200):
                sent = await Order.filter(
                    id__in=[o for o, _ in placed], confirmation_sent_at__isnull=False
                ).count()
                if sent == len(placed):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a few more rounds: none may send again
            stopping.set()
            await asyncio.gather(*senders)

    _run(database, scenario)
    for _, address in placed:
        assert len(emails_to(outbox, address, at_least=2, timeout=0)) == 1, address


def test_a_round_sends_a_group_at_once_and_records_it_in_one_statement(
    database: str, moto_url: str, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    count = 2 * mail.AT_ONCE + 3
    placed: list[tuple[str, str]] = []

    async def scenario() -> None:
        async with _mailer(moto_url) as one:
            await one.ses.create_email_identity(EmailIdentity=SENDER)
            placed.extend(await _paid_orders(count))
            with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
                assert await send_due(one) == count
        ids = [order_id for order_id, _ in placed]
        assert await Order.filter(id__in=ids, confirmation_sent_at__isnull=True).count() == 0

    _run(database, scenario)
    records = [
        r.args[0]
        for r in caplog.records
        if r.name == "tortoise.db_client" and r.msg == "%s: %s" and r.args
    ]
    sent = [s for s in records if s.startswith('UPDATE "order" SET "confirmation_sent_at"')]
    assert len(sent) == 3, records
    for _, address in placed:
        assert len(emails_to(outbox, address, timeout=0)) == 1, address


def test_an_email_ses_refused_is_tried_again_later_without_holding_up_the_rest(
    database: str, moto_url: str, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "RETRY_SECONDS", 3)
    placed: list[tuple[str, str]] = []

    async def scenario() -> None:
        placed.extend(await _paid_orders(1))
        order_id = placed[0][0]
        async with _mailer(f"http://127.0.0.1:{free_port()}", timeout=0.3) as away:
            assert await send_due(away) == 1
        assert (await store.get_order(order_id))["confirmation_sent_at"] is None
        async with _mailer(moto_url) as back:
            await back.ses.create_email_identity(EmailIdentity=SENDER)
            later = await _paid_orders(1)
            # The refused one waits its turn; the next order's email goes meanwhile.
            assert await send_due(back) == 1
            assert (await store.get_order(later[0][0]))["confirmation_sent_at"] is not None
            assert (await store.get_order(order_id))["confirmation_sent_at"] is None
            await asyncio.sleep(3.1)
            assert await send_due(back) == 1
        assert (await store.get_order(order_id))["confirmation_sent_at"] is not None

    _run(database, scenario)
    assert len(emails_to(outbox, placed[0][1])) == 1


def test_a_sender_told_to_stop_gives_its_claim_back(database: str, moto_url: str) -> None:
    async def scenario() -> None:
        [(order_id, _)] = await _paid_orders(1)
        stopping = asyncio.Event()
        stopping.set()
        async with _mailer(moto_url) as stopped:
            assert await send_due(stopped, stopping) == 1
        order = await Order.get(id=order_id).values(
            "confirmation_claimed_at", "confirmation_sent_at"
        )
        assert order == {"confirmation_claimed_at": None, "confirmation_sent_at": None}

    _run(database, scenario)


def test_the_due_orders_are_read_through_their_partial_index(database: str) -> None:
    async def scenario() -> None:
        now = utcnow()
        async with in_transaction() as connection:
            # As if the table were big enough for the planner to prefer an index.
            await connection.execute_script("SET LOCAL enable_seqscan = off")
            for notice in store.NOTICES:
                statement, values = store.claim_due_statement(
                    notice, connection.capabilities.dialect, now, now, now, 100
                )
                plan = await connection.execute_query_dict("EXPLAIN " + statement, values)
                text = " ".join(str(value) for row in plan for value in row.values())
                assert f"order_{notice.name}_due" in text, text

    _run(database, scenario)


class _RolledBack(Exception):
    pass


def test_a_round_reads_the_due_orders_once_however_the_claim_is_planned(database: str) -> None:
    """A semi-join that reads the due orders again for every row it claims (what stale
    statistics made the planner choose on a busy shop) is ruled out by the statement itself."""
    loops: dict[str, list[str]] = {}

    async def scenario() -> None:
        now = utcnow()
        with pytest.raises(_RolledBack):
            async with in_transaction() as connection:
                await _paid_orders(40)
                # Every join but a nested loop off: as if the planner expected one due order.
                await connection.execute_script(
                    "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;"
                    " SET LOCAL enable_seqscan = off"
                )
                statement, values = store.claim_due_statement(
                    store.CONFIRMATION, "postgres", now, now - mail.NOTIFY_WITHIN, now, 100
                )
                plan = await connection.execute_query_dict(
                    "EXPLAIN (ANALYZE, FORMAT TEXT) " + statement, values
                )
                lines = [str(value) for row in plan for value in row.values()]
                loops["due"] = [line for line in lines if "order_confirmation_due" in line]
                loops["claimed"] = [line for line in lines if line.lstrip().startswith("Update")]
                raise _RolledBack

    _run(database, scenario)
    assert loops["due"], loops
    assert all("loops=1)" in line for line in loops["due"]), loops["due"]
    # The 40 placed here, and any an earlier test left due.
    [update] = loops["claimed"]
    assert int(re.search(r"actual time=\S+ rows=(\d+)", update)[1]) >= 40, update
