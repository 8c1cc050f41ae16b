"""`python -m services.orders send-mail`: sends the emails orders are due (a paid order's
confirmation, a fulfilled one's shipping notice), beside the service on each of its
instances and in `make run`.

A checkout, or a fulfilment, answers once the order is recorded: the email follows within
about POLL_SECONDS, and never holds a shopper's request open on SES (its round trip, its
throttling on launch day, the CPU of a signed SDK call). What SES does not take now waits
for a later round; the claim each email takes in the database (`store.claim_due`) keeps
several senders from sending one twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import AsyncExitStack

from tortoise import Tortoise

from petshore.contract import ORDERS
from petshore.db import tortoise_config
from petshore.logs import configure_logging
from services.orders.mail import BATCH, Mailer, open_mailer, send_due
from services.orders.settings import Settings

log = logging.getLogger("petshore.orders.sender")

POLL_SECONDS = 0.5


async def run(mailer: Mailer, stopping: asyncio.Event, poll_seconds: float = POLL_SECONDS) -> None:
    """Send what is due, round after round, until `stopping` is set; a round that found a
    full batch is followed by the next at once."""
    while not stopping.is_set():
        try:
            tried = await send_due(mailer, stopping)
        except Exception as exc:  # the database is away: the next round tries again
            log.warning("mail round failed: %r", exc)
            tried = 0
        if tried < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), poll_seconds)


async def send_mail() -> None:
    """Until SIGTERM or Ctrl-C, which let the emails being sent finish first and give the
    rest of the round's claim back."""
    settings = Settings.from_env()
    configure_logging(ORDERS.name, settings.common.log_level)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    async with AsyncExitStack() as stack:
        mailer = await open_mailer(stack, settings)
        if mailer is None:
            log.info("no sender address (PETSHORE_MAIL_SENDER): no emails to send")
            await stopping.wait()
            return
        await Tortoise.init(config=tortoise_config(settings.database_url, ORDERS.module))
        stack.push_async_callback(Tortoise.close_connections)
        log.info("sending order emails", extra={"sender": mailer.sender})
        await run(mailer, stopping)
