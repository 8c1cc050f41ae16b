"""A Stripe-compatible HTTP server for local runs and tests: PaymentIntents, refunds,
idempotency keys and signed webhooks in Stripe's documented shapes, kept in memory.

    python -m devstack.stripe_double --port 12111 [--host 127.0.0.1] [--api-key sk_test_x]
        [--webhook-url http://127.0.0.1:8080/hook --webhook-secret whsec_x]

The official SDK talks to it with `stripe.StripeClient(key, base_addresses={"api": url})`.
Requests are form-encoded with Stripe's brackets (`metadata[order_id]=x`, `a[0]=x`, `a[]=x`);
answers are JSON; with --api-key, `Authorization: Bearer <key>` must carry that key (else 401).

  POST /v1/payment_intents               amount, currency, metadata, description,
                                         payment_method_types, payment_method(_data), confirm
  GET  /v1/payment_intents/{id}
  POST /v1/payment_intents/{id}/confirm  payment_method=pm_card_visa, or
                                         payment_method_data[card][token]=tok_visa
  POST /v1/payment_intents/{id}/cancel   cancellation_reason
  POST /v1/refunds                       payment_intent (or charge), amount (default: the rest)

Test cards, as `tok_<name>` or `pm_card_<name>`: visa, visa_debit, mastercard, amex, discover
succeed; chargeDeclined, chargeDeclinedInsufficientFunds, chargeDeclinedExpiredCard and
chargeDeclinedFraudulent answer 402 card_error; threeDSecure2Required and
authenticationRequired leave the intent in requires_action (nobody can authenticate here).

Idempotency-Key (POST only, per API key) as Stripe documents it: the same key and parameters
replay the first answer with `Idempotent-Replayed: true`; other parameters or another endpoint
answer 400 idempotency_error; while the first request runs, 409 idempotency_error. Requests
that failed parameter validation or an injected fault, or whose client hung up while held,
save nothing, so a retry runs afresh.

Webhooks (--webhook-url): payment_intent.succeeded, payment_intent.payment_failed,
payment_intent.canceled and charge.refunded, signed as Stripe signs them
(`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of "t.payload">`), posted in the background and
retried with backoff (8 attempts over about 90 seconds) on errors and non-2xx answers.

Control API for tests (JSON, no API key), outside Stripe's paths:
  GET  /_double/payment_intents  every intent with its charges and refunds
  GET  /_double/events           every event with its delivery: status (pending, delivered,
                                 failed; not_sent without --webhook-url), attempts, last answer
  GET  /_double/faults           the faults in force and `held`, the API requests held now
  POST /_double/faults           replace the faults; applied after authentication and the
                                 idempotency check, before the endpoint runs:
      {"delay_seconds": 2.5, "count": 3}   the next 3 API requests sleep first
      {"fail_status": 500, "count": 1}     the next one answers a Stripe api_error (429: rate_limit)
      {"hang": true}                       hold every API request until {"hang": false} or {}
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound
from sanic.response import HTTPResponse

Obj = dict[str, Any]

SUCCEEDS = frozenset({"visa", "visa_debit", "mastercard", "amex", "discover"})
DECLINES: dict[str, tuple[str, str, str]] = {  # card: code, decline_code, message
    "chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
}
AUTHENTICATES = frozenset({"threeDSecure2Required", "authenticationRequired"})
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (*CONFIRMABLE, "requires_capture", "processing")
CANCELLATION_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer", "abandoned"})
MAX_IDEMPOTENCY_KEY = 255
WEBHOOK_ATTEMPTS = 8
WEBHOOK_TIMEOUT_SECONDS = 10.0


def sign(payload: str, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe sends with `payload`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_form(body: str) -> Obj:
    """Stripe's form encoding: `a[b][c]=x` nests; list items come as `a[0]=x` or `a[]=x`
    and stay keyed by position (see `as_list`)."""
    root: Obj = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = name.partition("[")
        path = [head, *rest.removesuffix("]").split("][")] if rest else [head]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise bad_param(f"Invalid object: {name}", name)
        node[path[-1] or str(len(node))] = value
    return root


def as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else -1)]
    return [value]


class StripeError(Exception):
    """An answer in Stripe's error shape. `saved` is False for failed parameter validation,
    which Stripe's idempotency layer does not remember."""

    def __init__(self, status: int, error: Obj, saved: bool = True) -> None:
        super().__init__(error["message"])
        self.status, self.error, self.saved = status, error, saved


def error(kind: str, message: str, **fields: Any) -> Obj:
    return {"type": kind, "message": message, **{k: v for k, v in fields.items() if v is not None}}


def bad_param(message: str, param: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, error("invalid_request_error", message, param=param, code=code), False)


def missing(kind: str, object_id: str, param: str | None = None) -> StripeError:
    message = f"No such {kind}: '{object_id}'"
    return StripeError(
        404, error("invalid_request_error", message, code="resource_missing", param=param)
    )


def unexpected_state(intent: Obj, message: str) -> StripeError:
    return StripeError(
        400,
        error(
            "invalid_request_error",
            message,
            code="payment_intent_unexpected_state",
            payment_intent=intent,
        ),
    )


def only(params: Obj, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise bad_param(f"Received unknown parameter: {name}", name, "parameter_unknown")


def positive_int(params: Obj, name: str) -> int:
    if name not in params:
        raise bad_param(f"Missing required param: {name}.", name, "parameter_missing")
    value = params[name]
    if not isinstance(value, str) or not value.isdigit() or int(value) < 1:
        raise bad_param(f"Invalid positive integer: {value!r}", name, "parameter_invalid_integer")
    return int(value)


@dataclass
class Call:
    """One API request as the endpoints see it."""

    params: Obj
    request_id: str
    idempotency_key: str | None
    api_version: str | None


@dataclass
class Saved:
    fingerprint: tuple[Any, ...]
    request_id: str
    response: tuple[int, bytes] | None = None  # None while the first request runs


@dataclass
class Faults:
    delay_seconds: float = 0.0
    fail_status: int | None = None
    count: int = 0
    hang: bool = False
    held: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def describe(self) -> Obj:
        keys = ("delay_seconds", "fail_status", "count", "hang", "held")
        return {k: getattr(self, k) for k in keys}

    async def hold(self) -> int | None:
        """Apply the faults to one API request; the status it must fail with, if any."""
        delay, fail = (self.delay_seconds, self.fail_status) if self.count > 0 else (0.0, None)
        self.count = max(self.count - 1, 0)
        self.held += 1
        try:
            await asyncio.sleep(delay)
            while self.hang:
                await self.released.wait()
        finally:
            self.held -= 1
        return fail


class Double:
    def __init__(self, api_key: str | None, webhook_url: str | None, secret: str | None) -> None:
        self.api_key, self.webhook_url, self.webhook_secret = api_key, webhook_url, secret
        self.intents: dict[str, Obj] = {}
        self.charges: dict[str, Obj] = {}
        self.refunds: dict[str, Obj] = {}
        self.cards: dict[str, str] = {}  # payment method id -> test card name
        self.events: list[Obj] = []
        self.saved: dict[tuple[str, str], Saved] = {}
        self.faults = Faults()
        self.deliveries: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS)

    # The request pipeline: authentication, idempotency, faults, then the endpoint.

    async def serve(self, request: Request, endpoint: Callable[[Call], Obj]) -> HTTPResponse:
        request_id = new_id("req")
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key is not None and key != self.api_key:
            message = f"Invalid API Key provided: {key[:8]}****" if key else "No API key provided."
            return respond(401, {"error": error("invalid_request_error", message)}, request_id)
        body = request.body.decode() if request.method == "POST" else request.query_string
        idempotency_key = (
            request.headers.get("idempotency-key") if request.method == "POST" else None
        )
        slot = (key, idempotency_key) if idempotency_key else None
        if slot is not None:
            answer = self.reserve(slot, request, body, request_id)
            if answer is not None:
                return answer
        try:
            failure = await self.faults.hold()
            if failure is not None:
                kind, code = (
                    ("api_error", None)
                    if failure >= 500
                    else ("invalid_request_error", "rate_limit")
                )
                fault = error(kind, "An injected fault of the Stripe double.", code=code)
                return respond(failure, {"error": fault}, request_id)
            status, saved = 200, True
            try:
                call = Call(
                    parse_form(body),
                    request_id,
                    idempotency_key,
                    request.headers.get("stripe-version"),
                )
                answer_body: Obj = endpoint(call)
            except StripeError as exc:
                status, answer_body, saved = exc.status, {"error": exc.error}, exc.saved
            payload = json.dumps(answer_body).encode()
            if slot is not None and saved:
                self.saved[slot].response = (status, payload)
            return respond(status, payload, request_id)
        finally:
            if slot is not None and self.saved[slot].response is None:
                del self.saved[slot]

    def reserve(
        self, slot: tuple[str, str], request: Request, body: str, request_id: str
    ) -> HTTPResponse | None:
        """Claim an idempotency key for this request, or the answer it gets instead."""
        if len(slot[1]) > MAX_IDEMPOTENCY_KEY:
            message = f"Idempotency keys can be at most {MAX_IDEMPOTENCY_KEY} characters long."
            return respond(400, {"error": error("invalid_request_error", message)}, request_id)
        fingerprint = (
            request.method,
            request.path,
            sorted(parse_qsl(body, keep_blank_values=True)),
        )
        saved = self.saved.get(slot)
        if saved is None:
            self.saved[slot] = Saved(fingerprint, request_id)
            return None
        if saved.fingerprint != fingerprint:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they were "
                f"first used with. Try using a key other than '{slot[1]}' if you meant to execute "
                "a different request."
            )
            return respond(400, {"error": error("idempotency_error", message)}, request_id)
        if saved.response is None:
            message = (
                "There is currently another in-progress request using this Idempotent Key (that "
                "probably means you submitted twice, and the other request is still going "
                f"through): {slot[1]}. Please try again later."
            )
            return respond(409, {"error": error("idempotency_error", message)}, request_id)
        status, payload = saved.response
        replayed = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return respond(status, payload, request_id, replayed)

    # Endpoints: synchronous, so a request cancelled while held never half-runs one.

    def intent(self, intent_id: str, param: str | None = None) -> Obj:
        if intent_id not in self.intents:
            raise missing("payment_intent", intent_id, param)
        return self.intents[intent_id]

    def create_intent(self, call: Call) -> Obj:
        p = call.params
        allowed = {"amount", "currency", "metadata", "description", "payment_method_types"}
        only(p, allowed | {"payment_method", "payment_method_data", "confirm"})
        amount = positive_int(p, "amount")
        currency = p.get("currency")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise bad_param(f"Invalid currency: {currency!r}", "currency")
        metadata = p.get("metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise bad_param("Invalid metadata: must be a hash of strings", "metadata")
        intent_id = new_id("pi")
        intent: Obj = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency.lower(),
            "customer": None,
            "description": p.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": self.payment_method(p),
            "payment_method_types": as_list(p.get("payment_method_types", {"0": "card"})),
            "status": "requires_payment_method",
        }
        if intent["payment_method"] is not None:
            intent["status"] = "requires_confirmation"
        self.intents[intent_id] = intent
        return self.confirm(intent, call) if p.get("confirm") == "true" else intent

    def confirm_intent(self, intent_id: str, call: Call) -> Obj:
        only(call.params, {"payment_method", "payment_method_data"})
        intent = self.intent(intent_id)
        if intent["status"] == "succeeded":
            message = (
                "You cannot confirm this PaymentIntent because it has already succeeded after "
                "being previously confirmed."
            )
            raise unexpected_state(intent, message)
        if intent["status"] not in CONFIRMABLE:
            message = (
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be confirmed: {', '.join(CONFIRMABLE)}."
            )
            raise unexpected_state(intent, message)
        intent["payment_method"] = self.payment_method(call.params) or intent["payment_method"]
        return self.confirm(intent, call)

    def payment_method(self, params: Obj) -> str | None:
        """A new payment method for the test card the parameters name, if they name one."""
        if "payment_method" in params:
            name, param, kind = params["payment_method"], "payment_method", "PaymentMethod"
            if not isinstance(name, str):
                raise bad_param("Invalid payment_method: must be an id", param)
            if name in self.cards:
                return name
            card = name.removeprefix("pm_card_") if name.startswith("pm_card_") else None
        elif "payment_method_data" in params:
            data = params["payment_method_data"]
            if not isinstance(data, dict) or data.get("type", "card") != "card":
                raise bad_param("Only card payment methods are supported.", "payment_method_data")
            name = data.get("card", {}).get("token") if isinstance(data.get("card"), dict) else None
            param, kind = "payment_method_data[card][token]", "token"
            card = name.removeprefix("tok_") if isinstance(name, str) else None
        else:
            return None
        if card not in SUCCEEDS | DECLINES.keys() | AUTHENTICATES:
            raise missing(kind, str(name), param)
        method_id = new_id("pm")
        self.cards[method_id] = str(card)
        return method_id

    def confirm(self, intent: Obj, call: Call) -> Obj:
        method_id = intent["payment_method"]
        if method_id is None:
            message = (
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "Update the PaymentIntent with a payment method and then confirm it again."
            )
            raise unexpected_state(intent, message)
        card = self.cards[method_id]
        intent.update(last_payment_error=None, next_action=None)
        if card in AUTHENTICATES:
            next_action = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect"},
            }
            intent.update(status="requires_action", next_action=next_action)
            return intent
        decline = DECLINES.get(card)
        charge_id = new_id("ch")
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0 if decline else intent["amount"],
            "amount_refunded": 0,
            "captured": decline is None,
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": decline[0] if decline else None,
            "failure_message": decline[2] if decline else None,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": decline is None,
            "payment_intent": intent["id"],
            "payment_method": method_id,
            "refunded": False,
            "status": "failed" if decline else "succeeded",
        }
        intent["latest_charge"] = charge_id
        if decline is None:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self.emit("payment_intent.succeeded", intent, call)
            return intent
        code, decline_code, message = decline
        failure = error(
            "card_error",
            message,
            code=code,
            decline_code=decline_code,
            charge=charge_id,
            doc_url=f"https://stripe.com/docs/error-codes/{code}",
            payment_method={"id": method_id, "object": "payment_method", "type": "card"},
        )
        intent.update(
            status="requires_payment_method", payment_method=None, last_payment_error=failure
        )
        self.emit("payment_intent.payment_failed", intent, call)
        raise StripeError(402, {**failure, "payment_intent": intent})

    def cancel_intent(self, intent_id: str, call: Call) -> Obj:
        only(call.params, {"cancellation_reason"})
        intent = self.intent(intent_id)
        reason = call.params.get("cancellation_reason")
        if reason is not None and reason not in CANCELLATION_REASONS:
            raise bad_param(f"Invalid cancellation_reason: {reason!r}", "cancellation_reason")
        if intent["status"] not in CANCELABLE:
            message = (
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(CANCELABLE)}."
            )
            raise unexpected_state(intent, message)
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        intent["next_action"] = None
        self.emit("payment_intent.canceled", intent, call)
        return intent

    def create_refund(self, call: Call) -> Obj:
        p = call.params
        only(p, {"payment_intent", "charge", "amount", "reason", "metadata"})
        if "payment_intent" in p:
            intent = self.intent(p["payment_intent"], "payment_intent")
            charge = self.charges.get(intent["latest_charge"] or "")
            if charge is None or charge["status"] != "succeeded":
                message = (
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge "
                    "to refund."
                )
                raise StripeError(
                    400, error("invalid_request_error", message, param="payment_intent")
                )
        elif "charge" in p:
            charge = self.charges.get(p["charge"])
            if charge is None:
                raise missing("charge", p["charge"], "charge")
            if charge["status"] != "succeeded":
                message = f"Charge {charge['id']} has failed and cannot be refunded."
                raise StripeError(400, error("invalid_request_error", message, param="charge"))
        else:
            raise bad_param(
                "One of payment_intent or charge is required.",
                "payment_intent",
                "parameter_missing",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            message = f"Charge {charge['id']} has already been refunded."
            raise StripeError(
                400, error("invalid_request_error", message, code="charge_already_refunded")
            )
        amount = positive_int(p, "amount") if "amount" in p else left
        if amount > left:
            message = (
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            )
            fields = {"code": "amount_too_large", "param": "amount"}
            raise StripeError(400, error("invalid_request_error", message, **fields))
        refund_id = new_id("re")
        self.refunds[refund_id] = refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": p.get("metadata", {}),
            "payment_intent": charge["payment_intent"],
            "reason": p.get("reason"),
            "status": "succeeded",
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("charge.refunded", charge, call)
        return refund

    def ledger(self) -> list[Obj]:
        def of(objects: dict[str, Obj], intent_id: str) -> list[Obj]:
            return [o for o in objects.values() if o["payment_intent"] == intent_id]

        return [
            {
                "payment_intent": i,
                "charges": of(self.charges, i["id"]),
                "refunds": of(self.refunds, i["id"]),
            }
            for i in self.intents.values()
        ]

    # Webhooks

    def emit(self, kind: str, obj: Obj, call: Call) -> None:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": call.api_version,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1 if self.webhook_url else 0,
            "request": {"id": call.request_id, "idempotency_key": call.idempotency_key},
            "type": kind,
        }
        status = "pending" if self.webhook_url else "not_sent"
        delivery = {
            "event": event,
            "status": status,
            "attempts": 0,
            "last_status": None,
            "last_error": None,
        }
        self.events.append(delivery)
        if self.webhook_url and self.webhook_secret:
            sending = self.deliver(delivery, self.webhook_url, self.webhook_secret)
            task = asyncio.get_running_loop().create_task(sending)
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)

    async def deliver(self, delivery: Obj, url: str, secret: str) -> None:
        payload = json.dumps(delivery["event"])
        for attempt in range(WEBHOOK_ATTEMPTS):
            await asyncio.sleep(min(0.5 * 2**attempt, 30.0) if attempt else 0)
            delivery["attempts"] += 1
            # Stripe signs every attempt afresh, so a retry is never outside the tolerance.
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, secret, int(time.time())),
            }
            try:
                answer = await self.http.post(url, content=payload, headers=headers)
            except httpx.HTTPError as exc:
                delivery["last_error"] = repr(exc)
                continue
            delivery["last_status"] = answer.status_code
            if answer.is_success:
                delivery["status"] = "delivered"
                return
        delivery["status"] = "failed"


def respond(
    status: int, body: Obj | bytes, request_id: str, headers: dict[str, str] | None = None
) -> HTTPResponse:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTPResponse(
        payload,
        status=status,
        headers={"Request-Id": request_id, **(headers or {})},
        content_type="application/json",
    )


def create_app(double: Double) -> Sanic:
    app = Sanic("stripe_double", configure_logging=False)

    @app.after_server_stop
    async def stop_deliveries(app: Sanic) -> None:
        for task in double.deliveries:
            task.cancel()
        await asyncio.gather(*double.deliveries, return_exceptions=True)
        await double.http.aclose()

    @app.post("/v1/payment_intents")
    async def create(request: Request) -> HTTPResponse:
        return await double.serve(request, double.create_intent)

    @app.get("/v1/payment_intents/<intent_id:str>")
    async def retrieve(request: Request, intent_id: str) -> HTTPResponse:
        return await double.serve(request, lambda call: double.intent(intent_id))

    @app.post("/v1/payment_intents/<intent_id:str>/confirm")
    async def confirm(request: Request, intent_id: str) -> HTTPResponse:
        return await double.serve(request, lambda call: double.confirm_intent(intent_id, call))

    @app.post("/v1/payment_intents/<intent_id:str>/cancel")
    async def cancel(request: Request, intent_id: str) -> HTTPResponse:
        return await double.serve(request, lambda call: double.cancel_intent(intent_id, call))

    @app.post("/v1/refunds")
    async def refund(request: Request) -> HTTPResponse:
        return await double.serve(request, double.create_refund)

    @app.get("/_double/payment_intents")
    async def ledger(request: Request) -> HTTPResponse:
        return respond(200, json.dumps(double.ledger()).encode(), new_id("req"))

    @app.get("/_double/events")
    async def events(request: Request) -> HTTPResponse:
        return respond(200, json.dumps(double.events).encode(), new_id("req"))

    @app.route("/_double/faults", methods=["GET", "POST"])
    async def faults(request: Request) -> HTTPResponse:
        if request.method == "POST":
            wanted = request.json or {}
            faults = double.faults
            faults.delay_seconds = float(wanted.get("delay_seconds", 0.0))
            faults.fail_status = int(wanted["fail_status"]) if "fail_status" in wanted else None
            has_fault = faults.delay_seconds > 0 or faults.fail_status is not None
            faults.count = int(wanted.get("count", 1)) if has_fault else 0
            faults.hang = bool(wanted.get("hang", False))
            if faults.hang:
                faults.released.clear()
            else:
                faults.released.set()
        return respond(200, double.faults.describe(), new_id("req"))

    async def stripe_error(request: Request, exc: Exception) -> HTTPResponse:
        if isinstance(exc, (NotFound, MethodNotAllowed)):
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            return respond(404, {"error": error("invalid_request_error", message)}, new_id("req"))
        logging.getLogger("devstack.stripe_double").exception(
            "%s %s failed", request.method, request.path
        )
        return respond(
            500, {"error": error("api_error", "The Stripe double failed.")}, new_id("req")
        )

    app.error_handler.add(Exception, stripe_error)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.stripe_double", description="A Stripe-compatible HTTP server."
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", help="the only secret key accepted (default: any)")
    parser.add_argument("--webhook-url", help="where to post events")
    parser.add_argument("--webhook-secret", help="whsec_... that signs the events")
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(Double(args.api_key, args.webhook_url, args.webhook_secret))
    app.prepare(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
