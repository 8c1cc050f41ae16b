"""StripeProvider through the official SDK against the Stripe double, a real process on a real
port: charges, declines, idempotency, cancels, refunds, signed webhooks and Stripe failing."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from devstack.processes import ROOT, free_port, wait_or_kill
from devstack.stripe_double import sign
from petshore.errors import Conflict, InvalidRequest, Unavailable
from services.orders.payments import Payment, PaymentState
from services.orders.stripe_payments import StripeProvider

API_KEY = "sk_test_petshore"
WEBHOOK_SECRET = "whsec_petshore"
AMOUNT = 1250
T = TypeVar("T")


@dataclass
class Receiver:
    """The shop's webhook endpoint: keeps every delivery; refuses the next `refusals[type]`
    deliveries of an event type."""

    url: str = ""
    deliveries: list[tuple[int, bytes, str]] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, kind: str, reference: str, timeout: float = 10.0) -> tuple[bytes, str]:
        """The body and Stripe-Signature of the accepted `kind` event about `reference`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for status, body, signature in self.deliveries:
                    event = json.loads(body)
                    obj = event["data"]["object"]
                    about = obj["payment_intent"] if obj["object"] == "charge" else obj["id"]
                    if (status, event["type"], about) == (200, kind, reference):
                        return body, signature
            time.sleep(0.05)
        raise AssertionError(f"no {kind} event about {reference} arrived")


def _serve_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            kind = json.loads(body)["type"]
            with receiver.lock:
                status = 503 if receiver.refusals.get(kind, 0) > 0 else 200
                receiver.refusals[kind] = max(receiver.refusals.get(kind, 0) - 1, 0)
                receiver.deliveries.append((status, body, self.headers["Stripe-Signature"]))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None  # the test output stays quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class StripeDouble:
    url: str
    receiver: Receiver

    def faults(self, **faults: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/_double/faults", json=faults, timeout=5)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def ledger(self, reference: str) -> dict[str, Any]:
        entries = httpx.get(f"{self.url}/_double/payment_intents", timeout=5).json()
        return next(e for e in entries if e["payment_intent"]["id"] == reference)

    def intents_of(self, order_id: str) -> list[dict[str, Any]]:
        entries = httpx.get(f"{self.url}/_double/payment_intents", timeout=5).json()
        return [e for e in entries if e["payment_intent"]["metadata"].get("order_id") == order_id]

    def charged(self, reference: str) -> int:
        charges = self.ledger(reference)["charges"]
        return sum(c["amount"] for c in charges if c["status"] == "succeeded")


@pytest.fixture(scope="module")
def double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripeDouble]:
    receiver = Receiver()
    server = _serve_receiver(receiver)
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("stripe") / "double.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "devstack.stripe_double", "--port", str(port)),
                *("--api-key", API_KEY, "--webhook-url", receiver.url),
                *("--webhook-secret", WEBHOOK_SECRET),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = StripeDouble(f"http://127.0.0.1:{port}", receiver)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                running.faults()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Stripe double did not start: {log_path.read_text()}"
                    ) from None
                time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        wait_or_kill(process, 20)
        server.shutdown()
    assert log_path.read_text() == "", "the double should run quietly"


@pytest.fixture(autouse=True)
def no_faults_left(double: StripeDouble) -> Iterator[None]:
    yield
    double.faults()


def run(
    double: StripeDouble,
    scenario: Callable[[StripeProvider], Awaitable[T]],
    *,
    timeout: float = 10.0,
    api_key: str = API_KEY,
    webhook_secret: str = WEBHOOK_SECRET,
) -> T:
    async def main() -> T:
        provider = StripeProvider(api_key, webhook_secret, api_base=double.url, timeout=timeout)
        try:
            return await scenario(provider)
        finally:
            await provider.close()

    return asyncio.run(main())


def key() -> str:
    return secrets.token_hex(8)


async def created(provider: StripeProvider, order_id: str | None = None) -> Payment:
    return await provider.create(
        order_id=order_id or f"ord-{key()}",
        amount_cents=AMOUNT,
        currency="USD",
        idempotency_key=key(),
    )


def test_accepts_card_tokens_and_payment_methods_only(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> list[bool]:
        tokens = ["tok_visa", "pm_card_visa", "tok_chargeDeclinedExpiredCard", "pm_1Abc"]
        tokens += ["visa", "tok_", "ch_123", "tok_a b", "tok_" + "a" * 251, "tok_visa\n"]
        return [provider.accepts(t) for t in tokens]

    assert run(double, scenario) == [True] * 4 + [False] * 6


@pytest.mark.parametrize("token", ["tok_visa", "tok_mastercard", "tok_amex", "pm_card_visa"])
def test_a_good_card_is_charged(double: StripeDouble, token: str) -> None:
    async def scenario(provider: StripeProvider) -> tuple[Payment, Payment, Payment]:
        payment = await created(provider, "ord-good")
        charged = await provider.confirm(payment.reference, token=token, idempotency_key=key())
        return payment, charged, await provider.retrieve(payment.reference)

    payment, charged, retrieved = run(double, scenario)
    assert payment.state is PaymentState.UNCONFIRMED
    assert (payment.amount_cents, payment.order_id) == (AMOUNT, "ord-good")
    assert payment.reference.startswith("pi_")
    assert (
        charged
        == retrieved
        == Payment(payment.reference, PaymentState.SUCCEEDED, AMOUNT, "ord-good")
    )
    intent = double.ledger(payment.reference)["payment_intent"]
    assert (intent["currency"], intent["payment_method_types"]) == ("usd", ["card"])
    assert double.charged(payment.reference) == AMOUNT


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("tok_chargeDeclined", "generic_decline"),
        ("tok_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("tok_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_chargeDeclined", "generic_decline"),
    ],
)
def test_a_declined_card_is_declined_with_its_reason(
    double: StripeDouble, token: str, reason: str
) -> None:
    async def scenario(provider: StripeProvider) -> tuple[Payment, Payment]:
        payment = await created(provider)
        declined = await provider.confirm(payment.reference, token=token, idempotency_key=key())
        return declined, await provider.retrieve(payment.reference)

    declined, retrieved = run(double, scenario)
    assert (declined.state, declined.decline_reason) == (PaymentState.DECLINED, reason)
    assert retrieved == declined
    assert double.charged(declined.reference) == 0
    assert [c["status"] for c in double.ledger(declined.reference)["charges"]] == ["failed"]


def test_a_card_that_needs_authentication_is_declined_and_can_never_be_charged(
    double: StripeDouble,
) -> None:
    async def scenario(provider: StripeProvider) -> tuple[Payment, Payment]:
        payment = await created(provider)
        token = "pm_card_threeDSecure2Required"
        declined = await provider.confirm(payment.reference, token=token, idempotency_key=key())
        return declined, await provider.retrieve(payment.reference)

    declined, retrieved = run(double, scenario)
    assert (declined.state, declined.decline_reason) == (
        PaymentState.DECLINED,
        "authentication_required",
    )
    assert retrieved.state is PaymentState.CANCELED
    assert double.ledger(declined.reference)["charges"] == []


def test_a_token_stripe_does_not_know_is_declined(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> tuple[Payment, Payment]:
        payment = await created(provider)
        token = "tok_madeUp"
        declined = await provider.confirm(payment.reference, token=token, idempotency_key=key())
        return declined, await provider.retrieve(payment.reference)

    declined, retrieved = run(double, scenario)
    assert (declined.state, declined.decline_reason) == (
        PaymentState.DECLINED,
        "invalid_payment_method",
    )
    assert retrieved.state is PaymentState.UNCONFIRMED
    assert double.ledger(declined.reference)["charges"] == []


def test_the_same_key_gives_the_same_payment_and_charges_once(
    double: StripeDouble, caplog: pytest.LogCaptureFixture
) -> None:
    order_id, create_key, confirm_key = f"ord-{key()}", key(), key()

    async def scenario(provider: StripeProvider) -> list[Payment]:
        first, again = [
            await provider.create(
                order_id=order_id, amount_cents=AMOUNT, currency="usd", idempotency_key=create_key
            )
            for _ in range(2)
        ]
        assert again == first
        ref = first.reference
        confirmed = [
            await provider.confirm(ref, token="tok_visa", idempotency_key=k)
            for k in (confirm_key, confirm_key, key())
        ]
        with pytest.raises(Unavailable):  # the same key for another amount is a bug, not a sale
            await provider.create(
                order_id=order_id, amount_cents=1, currency="usd", idempotency_key=create_key
            )
        return confirmed

    with caplog.at_level(logging.ERROR, "petshore.payments.stripe"):
        confirmed = run(double, scenario)
    assert {p.state for p in confirmed} == {PaymentState.SUCCEEDED}
    [entry] = double.intents_of(order_id)
    assert [c["status"] for c in entry["charges"]] == ["succeeded"]
    assert any("idempotent" in r.getMessage() for r in caplog.records)


def test_a_cancelled_payment_is_never_charged(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> list[Payment]:
        payment = await created(provider)
        cancelled = await provider.cancel(payment.reference)
        confirmed = await provider.confirm(
            payment.reference, token="tok_visa", idempotency_key=key()
        )
        return [cancelled, confirmed, await provider.cancel(payment.reference)]

    answers = run(double, scenario)
    assert [p.state for p in answers] == [PaymentState.CANCELED] * 3
    assert double.ledger(answers[0].reference)["charges"] == []


def test_cancelling_a_charged_payment_answers_that_it_succeeded(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> Payment:
        payment = await created(provider)
        await provider.confirm(payment.reference, token="tok_visa", idempotency_key=key())
        return await provider.cancel(payment.reference)

    answer = run(double, scenario)
    assert answer.state is PaymentState.SUCCEEDED
    assert double.ledger(answer.reference)["payment_intent"]["status"] == "succeeded"
    assert double.charged(answer.reference) == AMOUNT


def test_refunds_give_back_at_most_what_was_charged(double: StripeDouble) -> None:
    first_key = key()

    async def scenario(provider: StripeProvider) -> tuple[str, list[str]]:
        payment = await created(provider)
        with pytest.raises(Conflict):  # nothing charged yet
            await provider.refund(payment.reference, amount_cents=100, idempotency_key=key())
        ref = payment.reference
        await provider.confirm(ref, token="tok_visa", idempotency_key=key())
        refunds = [
            await provider.refund(ref, amount_cents=500, idempotency_key=first_key),
            await provider.refund(ref, amount_cents=500, idempotency_key=first_key),
            await provider.refund(ref, amount_cents=AMOUNT - 500, idempotency_key=key()),
        ]
        with pytest.raises(Conflict):
            await provider.refund(ref, amount_cents=1, idempotency_key=key())
        return ref, refunds

    reference, refunds = run(double, scenario)
    assert refunds[0] == refunds[1] != refunds[2]
    assert all(r.startswith("re_") for r in refunds)
    entry = double.ledger(reference)
    assert sorted(r["amount"] for r in entry["refunds"]) == [500, AMOUNT - 500]
    [charge] = entry["charges"]
    assert (charge["amount_refunded"], charge["refunded"]) == (AMOUNT, True)


def test_a_refund_of_more_than_was_charged_is_refused(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> str:
        payment = await created(provider)
        await provider.confirm(payment.reference, token="tok_visa", idempotency_key=key())
        with pytest.raises(Conflict) as refused:
            await provider.refund(payment.reference, amount_cents=AMOUNT + 1, idempotency_key=key())
        assert refused.value.details == {"reason": "amount_too_large"}
        return payment.reference

    assert double.ledger(run(double, scenario))["refunds"] == []


def test_webhooks_the_double_sends_verify_and_report_the_payment(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> tuple[str, str]:
        good, bad = await created(provider, "ord-hook"), await created(provider, "ord-hook")
        await provider.confirm(good.reference, token="tok_visa", idempotency_key=key())
        await provider.refund(good.reference, amount_cents=1, idempotency_key=key())
        token = "tok_chargeDeclinedInsufficientFunds"
        await provider.confirm(bad.reference, token=token, idempotency_key=key())
        return good.reference, bad.reference

    good, bad = run(double, scenario)
    body, signature = double.receiver.received("payment_intent.succeeded", good)
    declined_body, declined_signature = double.receiver.received(
        "payment_intent.payment_failed", bad
    )
    refunded_body, refunded_signature = double.receiver.received("charge.refunded", good)

    async def verify(provider: StripeProvider) -> list[Payment | None]:
        return [
            provider.event(body, signature),
            provider.event(declined_body, declined_signature),
            provider.event(refunded_body, refunded_signature),
        ]

    succeeded, declined, refunded = run(double, verify)
    assert succeeded == Payment(good, PaymentState.SUCCEEDED, AMOUNT, "ord-hook")
    assert declined == Payment(bad, PaymentState.DECLINED, AMOUNT, "ord-hook", "insufficient_funds")
    assert refunded is None


def test_a_webhook_that_does_not_verify_is_an_invalid_request(double: StripeDouble) -> None:
    async def scenario(provider: StripeProvider) -> str:
        payment = await created(provider)
        await provider.confirm(payment.reference, token="tok_visa", idempotency_key=key())
        return payment.reference

    reference = run(double, scenario)
    body, signature = double.receiver.received("payment_intent.succeeded", reference)
    tampered = body.replace(f'"amount": {AMOUNT}'.encode(), b'"amount": 1')
    assert tampered != body
    stale = sign(body.decode(), WEBHOOK_SECRET, int(time.time()) - 3600)

    def refused(payload: bytes, header: str, secret: str = WEBHOOK_SECRET) -> InvalidRequest:
        async def scenario(provider: StripeProvider) -> Payment | None:
            return provider.event(payload, header)

        with pytest.raises(InvalidRequest) as raised:
            run(double, scenario, webhook_secret=secret)
        return raised.value

    errors = [
        refused(tampered, signature),
        refused(body, signature, "whsec_another"),
        refused(body, ""),
        refused(body, stale),
        refused(b"\xff" + body, signature),
    ]
    assert {e.details["fields"][0] for e in errors} == {"Stripe-Signature"}


def test_the_double_retries_a_webhook_the_shop_refused(double: StripeDouble) -> None:
    with double.receiver.lock:
        double.receiver.refusals["payment_intent.canceled"] = 1

    async def scenario(provider: StripeProvider) -> str:
        payment = await created(provider)
        await provider.cancel(payment.reference)
        return payment.reference

    reference = run(double, scenario)
    double.receiver.received("payment_intent.canceled", reference)
    events = httpx.get(f"{double.url}/_double/events", timeout=5).json()
    [delivery] = [
        d
        for d in events
        if d["event"]["type"] == "payment_intent.canceled"
        and d["event"]["data"]["object"]["id"] == reference
    ]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)


# The SDK retries 5xx twice (each fault spent), and never a 429, which Stripe asks to slow down.
@pytest.mark.parametrize(("status", "faults_left"), [(500, 0), (503, 0), (429, 2)])
def test_stripe_failing_is_unavailable(double: StripeDouble, status: int, faults_left: int) -> None:
    order_id = f"ord-{key()}"
    double.faults(fail_status=status, count=3)

    async def scenario(provider: StripeProvider) -> None:
        await provider.create(
            order_id=order_id, amount_cents=AMOUNT, currency="usd", idempotency_key=key()
        )

    with pytest.raises(Unavailable):
        run(double, scenario)
    assert double.intents_of(order_id) == []
    assert httpx.get(f"{double.url}/_double/faults").json()["count"] == faults_left


def test_one_stripe_failure_is_retried_under_the_same_key(double: StripeDouble) -> None:
    order_id = f"ord-{key()}"
    double.faults(fail_status=500, count=1)

    async def scenario(provider: StripeProvider) -> Payment:
        return await created(provider, order_id)

    payment = run(double, scenario)
    assert payment.state is PaymentState.UNCONFIRMED
    assert len(double.intents_of(order_id)) == 1


def test_a_hanging_stripe_times_out_as_unavailable(double: StripeDouble) -> None:
    async def create(provider: StripeProvider) -> Payment:
        return await created(provider)

    payment = run(double, create)
    double.faults(hang=True)

    async def scenario(provider: StripeProvider) -> Payment:
        return await provider.retrieve(payment.reference)

    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer"):
        run(double, scenario, timeout=0.3)
    assert time.monotonic() - started < 6
    double.faults(hang=False)
    assert run(double, scenario).state is PaymentState.UNCONFIRMED


def test_a_confirm_while_the_same_confirm_runs_is_unavailable(double: StripeDouble) -> None:
    confirm_key = key()

    async def scenario(provider: StripeProvider) -> tuple[Payment, Payment]:
        payment = await created(provider)
        double.faults(hang=True)
        first = asyncio.create_task(
            provider.confirm(payment.reference, token="tok_visa", idempotency_key=confirm_key)
        )
        async with httpx.AsyncClient(base_url=double.url) as control:
            while (await control.get("/_double/faults")).json()["held"] == 0:
                await asyncio.sleep(0.05)
        with pytest.raises(Unavailable, match="still in progress"):
            await provider.confirm(payment.reference, token="tok_visa", idempotency_key=confirm_key)
        double.faults(hang=False)
        again = await provider.confirm(
            payment.reference, token="tok_visa", idempotency_key=confirm_key
        )
        return await first, again

    first, again = run(double, scenario)
    assert first.state is again.state is PaymentState.SUCCEEDED
    assert [c["status"] for c in double.ledger(first.reference)["charges"]] == ["succeeded"]


def test_a_wrong_api_key_is_unavailable_and_logged(
    double: StripeDouble, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(provider: StripeProvider) -> Payment:
        return await created(provider)

    with caplog.at_level(logging.ERROR, "petshore.payments.stripe"), pytest.raises(Unavailable):
        run(double, scenario, api_key="sk_test_wrong")
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "API key" in caplog.records[0].getMessage()


def test_a_slow_confirm_is_retried_under_the_same_key_and_charges_once(
    double: StripeDouble,
) -> None:
    async def scenario(provider: StripeProvider) -> Payment:
        payment = await created(provider)
        double.faults(delay_seconds=1.0, count=1)
        return await provider.confirm(payment.reference, token="tok_visa", idempotency_key=key())

    payment = run(double, scenario, timeout=0.3)
    assert payment.state is PaymentState.SUCCEEDED
    assert [c["status"] for c in double.ledger(payment.reference)["charges"]] == ["succeeded"]
