"""The gateway as the ALB and CloudFront: routing, request ids, model files, static files,
balancing across healthy instances, clear errors when a service is down or a client is slow,
header bytes passed on as they came, security headers, and logs that keep ids to themselves."""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.processes import free_port
from devstack.stack import Stack
from petshore.contract import (
    API_CSP,
    CART,
    CATALOG,
    MODEL_CACHE_CONTROL,
    ORDERS,
    SERVICES,
    Env,
)
from petshore.logs import redact
from tests.helpers import ADMIN, assert_error, log_text, storefront_policy

SHORT_TIMEOUT = 1.0


@dataclass
class Exchange:
    status: int
    head: bytes
    body: bytes
    seconds: float

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def _exchange(base_url: str, request: bytes, timeout: float = 30) -> Exchange:
    """`request` sent exactly as given (clients normalise `..` away and refuse odd bytes), and
    the answer read until the server closes the connection."""
    address = urlsplit(base_url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return Exchange(int(head.split()[1]), head, body, time.monotonic() - started)


def _raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    sent = _exchange(
        base_url, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    return sent.status, sent.body


def _logged(text: str, request_id: str) -> bool:
    """Whether a whole JSON line of a service's log carries `request_id`."""
    for line in text.splitlines():
        if request_id not in line:
            continue
        try:
            if json.loads(line).get("request_id") == request_id:
                return True
        except ValueError:  # a line being written as the log was read
            continue
    return False


def _fox(gateway: httpx.Client) -> tuple[str, int]:
    model = gateway.get("/api/catalog/products/PS-TOY-0001").json()["model"]
    return str(model["glb_url"]), int(model["bytes"])


def test_request_id_is_kept_or_made_and_passed_on(gateway: httpx.Client, stack: Stack) -> None:
    given = gateway.get("/api/catalog/categories", headers={"X-Request-ID": "trace-abc-123"})
    assert given.headers["X-Request-ID"] == "trace-abc-123"
    made = gateway.get("/api/catalog/categories")
    assert len(made.headers["X-Request-ID"]) >= 16
    error = gateway.get("/api/nothing-here")
    assert error.headers["X-Request-ID"]
    unsafe = gateway.get("/api/catalog/categories", headers={"X-Request-ID": "a b\tc"})
    assert unsafe.headers["X-Request-ID"] != "a b\tc"
    logs = log_text(
        stack.config.log_dir.glob("catalog-*.log"), lambda text: _logged(text, "trace-abc-123")
    )
    assert _logged(logs, "trace-abc-123")


def test_streamed_answers_log_no_errors(gateway: httpx.Client, stack: Stack) -> None:
    """A proxied answer and a model file are streamed; nothing about them is an error."""
    url, _ = _fox(gateway)
    for path, request_id in ((url, "stream-model-1"), ("/api/catalog/categories", "stream-api-1")):
        assert gateway.get(path, headers={"X-Request-ID": request_id}).status_code == 200
    # The gateway logs one request at a time: once a later request is logged, so is all
    # that the earlier ones caused.
    gateway.get("/api/catalog/health", headers={"X-Request-ID": "stream-last"})
    log = stack.config.log_dir / "gateway.log"
    deadline = time.monotonic() + 10
    while '"request_id": "stream-last"' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    errors = [
        line
        for line in log.read_text().splitlines()
        if '"level": "error"' in line and '"request_id": "stream-' in line
    ]
    assert not errors, errors


def test_services_learn_the_callers_address_from_the_gateway_only(
    gateway: httpx.Client, stack: Stack
) -> None:
    request_id = "xff-" + str(time.time_ns())
    gateway.get(
        "/api/cart/health",
        headers={"X-Request-ID": request_id, "X-Forwarded-For": "6.6.6.6", "Connection": "close"},
    )
    logs = log_text([stack.config.log_dir / "cart-0.log"], lambda text: request_id in text)
    lines = [json.loads(line) for line in logs.splitlines() if request_id in line]
    assert [line["client"] for line in lines] == ["127.0.0.1"]


def test_every_service_publishes_its_openapi_document(gateway: httpx.Client) -> None:
    for service in SERVICES:
        doc = gateway.get(service.docs_path).json()
        assert doc["openapi"].startswith("3.")
        assert service.health_path in doc["paths"]
        assert len(doc["paths"]) >= 3


def test_orders_passes_the_request_id_to_the_services_it_calls(
    gateway: httpx.Client, stack: Stack
) -> None:
    cart_id = gateway.post("/api/cart/carts").json()["cart_id"]
    gateway.put(f"/api/cart/carts/{cart_id}/items/PS-TOY-0002", json={"quantity": 1})
    gateway.post(
        "/api/orders/orders",
        json={
            "cart_id": cart_id,
            "email": "a@b.co",
            "payment": {"token": "tok_visa"},
            "shipping_address": {
                "name": "A",
                "line1": "B",
                "city": "C",
                "postal_code": "1",
                "country": "US",
            },
        },
        headers={
            "Idempotency-Key": "rid-propagation-" + cart_id,
            "X-Request-ID": "checkout-" + cart_id,
        },
    )
    wanted = f"checkout-{cart_id}"
    cart_log = log_text([stack.config.log_dir / "cart-0.log"], lambda text: _logged(text, wanted))
    catalog_logs = log_text(
        stack.config.log_dir.glob("catalog-*.log"), lambda text: _logged(text, wanted)
    )
    assert _logged(cart_log, wanted)
    assert _logged(catalog_logs, wanted)


def test_routes_by_the_table_and_answers_unknown_paths_in_json(gateway: httpx.Client) -> None:
    assert gateway.get("/api/catalog/health").json() == {"status": "ok"}
    assert gateway.get("/api/cart/health").json() == {"status": "ok"}
    assert gateway.get("/api/orders/health").json() == {"status": "ok"}
    assert_error(gateway.get("/api/catalog"), 404, "not_found")
    assert_error(gateway.get("/api/unknown/thing"), 404, "not_found")
    refused = gateway.post("/index.html")
    assert_error(refused, 405, "method_not_allowed")
    assert refused.headers["Allow"] == "GET, HEAD"
    # nginx refuses TRACE before it routes: still the contract's error, naming what is allowed.
    traced = gateway.request("TRACE", "/api/cart/carts")
    assert_error(traced, 405, "method_not_allowed")
    assert "POST" in traced.headers["Allow"]
    for own_error in (refused, traced, gateway.get("/api/unknown/thing")):
        assert own_error.headers["Cache-Control"] == "no-store"
    # What nginx would answer in HTML: a folder, a path or a head too long to read.
    assert_error(gateway.get("/assets/"), 404, "not_found")
    assert_error(gateway.get("/" + "a" * 9000), 414, "invalid_request")
    assert_error(gateway.get("/", headers={"X-Big": "b" * 70_000}), 400, "invalid_request")


def test_model_files_are_served_like_cloudfront(gateway: httpx.Client) -> None:
    url, size = _fox(gateway)
    full = gateway.get(url)
    assert full.status_code == 200
    assert full.headers["Cache-Control"] == MODEL_CACHE_CONTROL
    assert full.headers["Content-Type"] == "model/gltf-binary"
    assert full.headers["Accept-Ranges"] == "bytes"
    assert int(full.headers["Content-Length"]) == len(full.content) == size
    etag = full.headers["ETag"]
    assert etag
    cached = gateway.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    part = gateway.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == full.content[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    head = gateway.head(url)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(size)


def test_model_file_errors(gateway: httpx.Client) -> None:
    url, _ = _fox(gateway)
    assert_error(gateway.get(url, headers={"Range": "bytes=999999-"}), 416, "range_not_satisfiable")
    assert_error(gateway.get("/models/" + "0" * 64 + ".glb"), 404, "not_found")
    # nginx refuses a path that climbs above the root as unreadable (400).
    for target, status in (
        ("/models/../etc/passwd", 404),
        ("/models/%2e%2e/%2e%2e/etc/passwd", 400),
        # A page reached through the files' path would carry no security headers.
        ("/models/..%2Fcheckout", 404),
        ("/models/%2e%2e%2Fx.txt", 404),
    ):
        answer = _raw_get(str(gateway.base_url), target)
        assert answer[0] == status, target
        assert json.loads(answer[1])["error"]["code"] in ("not_found", "invalid_request")
    assert_error(gateway.get("/models/"), 404, "not_found")


def test_static_files_and_single_page_routes(gateway: httpx.Client) -> None:
    page = gateway.get("/", headers={"Accept-Encoding": "identity"})
    assert page.status_code == 200
    assert "<title>Pet Shore 3D</title>" in page.text
    assert page.headers["Cache-Control"] == "no-cache"
    deep = gateway.get("/product/PS-TOY-0001", headers={"Accept-Encoding": "identity"})
    assert deep.status_code == 200
    assert deep.text == page.text
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, page.text
    asset = gateway.get(script.group(1), headers={"Accept-Encoding": "identity"})
    assert asset.status_code == 200
    assert "immutable" in asset.headers["Cache-Control"]
    assert asset.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert "Content-Encoding" not in asset.headers
    for encoding in ("br", "gzip"):
        compressed = gateway.get(script.group(1), headers={"Accept-Encoding": encoding})
        assert compressed.headers["Content-Encoding"] == encoding
        assert compressed.headers["Vary"] == "Accept-Encoding"
        assert compressed.content == asset.content  # httpx decodes: the same file
        assert int(compressed.headers["Content-Length"]) < len(asset.content)
    assert_error(gateway.get("/assets/missing.js"), 404, "not_found")
    for target in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"):
        status, body = _raw_get(str(gateway.base_url), target)
        assert status in (400, 404), target
        assert json.loads(body)["error"]["code"] in ("not_found", "invalid_request")


def test_decoders_are_served_by_the_storefront_itself(gateway: httpx.Client) -> None:
    for path in (
        "/decoders/draco/draco_decoder.wasm",
        "/decoders/draco/draco_wasm_wrapper.js",
        "/decoders/basis/basis_transcoder.wasm",
        "/decoders/meshopt/meshopt_decoder.js",
    ):
        assert gateway.get(path).status_code == 200, path


def test_large_api_bodies_are_refused_with_413(gateway: httpx.Client) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = gateway.post(
        "/api/catalog/products", content=big, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "too_large")


def test_a_request_line_over_8_kib_is_refused_with_414_as_every_operation_declares(
    gateway: httpx.Client,
) -> None:
    path = "/api/accounts/customers"
    # Under the line's limit, the service itself names what is wrong with the query.
    shorter = gateway.get(path, params={"q": "x" * 7000}, headers=ADMIN)
    assert assert_error(shorter, 400, "invalid_request")["details"]
    response = gateway.get(path, params={"q": "x" * 9000}, headers=ADMIN)
    assert_error(response, 414, "invalid_request")
    documented = gateway.get("/api/accounts/docs/openapi.json").json()
    assert "414" in documented["paths"][path]["get"]["responses"]


def test_balances_across_instances_and_drops_an_unhealthy_one(
    gateway: httpx.Client, stack: Stack
) -> None:
    logs = sorted(stack.config.log_dir.glob("catalog-*.log"))
    assert len(logs) == 2
    path = "/api/catalog/categories"
    before = [p.read_text().count(path) for p in logs]
    for _ in range(10):
        assert gateway.get(path).status_code == 200
    log_text(logs, lambda text: text.count(path) >= sum(before) + 10)
    after = [p.read_text().count(path) for p in logs]
    assert all(a - b >= 3 for a, b in zip(after, before, strict=True)), (before, after)

    second = next(c for c in stack.processes.children if c.name == "catalog-1")
    stack.processes.stop(second)
    try:
        # Health checks run every 0.5 s here and need 2 failures: within a few seconds every
        # request goes to the instance that is left.
        deadline = time.monotonic() + 20
        streak = 0
        while streak < 20 and time.monotonic() < deadline:
            ok = gateway.get("/api/catalog/categories").status_code == 200
            streak = streak + 1 if ok else 0
        assert streak >= 20
    finally:
        port = int(second.url.rsplit(":", 1)[1])
        stack.processes.start("catalog-1", CATALOG.module, port, stack.env(), CATALOG.health_path)
        stack.processes.wait_healthy()


def test_a_service_that_is_down_is_a_503(stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    upstreams = f"{CART.name}={dead};{CATALOG.name}={stack.urls[CATALOG.name][0]}"
    env = {**stack.env(), Env.GATEWAY_UPSTREAMS: upstreams}
    port = free_port()
    child = stack.processes.start("gateway-dead-cart", "gateway", port, env, "/api/catalog/health")
    try:
        stack.processes.wait_healthy()
        response = httpx.post(f"http://127.0.0.1:{port}/api/cart/carts", timeout=10)
        assert_error(response, 503, "unavailable")
    finally:
        stack.processes.stop(child)


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for the orders service: answers everything, keeping each request's headers
    as the bytes that arrived, and answers with a header that is not ASCII."""

    seen: list[dict[str, bytes]]

    def do_GET(self) -> None:
        # http.server decodes header bytes as Latin-1: encoding gives back the bytes.
        self.seen.append({k.lower(): v.encode("latin-1") for k, v in self.headers.raw_items()})
        self.send_response(200)
        self.send_header("X-Reply", "d\xe9j\xe0 vu")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads what it recorded, not a log


@dataclass
class Slow:
    """A cart instance and a gateway that wait SHORT_TIMEOUT for a silent client, the
    gateway's orders being a recorder of the headers it receives; and a patient gateway (the
    usual timeout) in front of the same cart."""

    gateway: str
    cart: str
    seen: list[dict[str, bytes]]
    patient_gateway: str


@pytest.fixture(scope="module")
def slow(stack: Stack) -> Iterator[Slow]:
    env = {**stack.env(), "PETSHORE_REQUEST_TIMEOUT_SECONDS": str(SHORT_TIMEOUT)}
    handler = type("Recorder", (_Recorder,), {"seen": []})
    recorder = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    cart_port, gateway_port = free_port(), free_port()
    cart = stack.processes.start("cart-slow", CART.module, cart_port, env, CART.health_path)
    upstreams = ";".join(
        (
            f"{CATALOG.name}={stack.urls[CATALOG.name][0]}",
            f"{CART.name}=http://127.0.0.1:{cart_port}",
            f"{ORDERS.name}=http://127.0.0.1:{recorder.server_address[1]}",
        )
    )
    gateway = stack.processes.start(
        "gateway-slow",
        "gateway",
        gateway_port,
        {**env, Env.GATEWAY_UPSTREAMS: upstreams},
        CATALOG.health_path,
    )
    patient = stack.processes.start(
        "gateway-patient",
        "gateway",
        free_port(),
        {**stack.env(), Env.GATEWAY_UPSTREAMS: upstreams},
        CATALOG.health_path,
    )
    try:
        stack.processes.wait_healthy()
        yield Slow(gateway.url, cart.url, handler.seen, patient.url)
    finally:
        stack.processes.stop(patient)
        stack.processes.stop(gateway)
        stack.processes.stop(cart)
        recorder.shutdown()


def test_header_bytes_reach_the_service_as_they_were_sent(slow: Slow) -> None:
    answer = _exchange(
        slow.gateway,
        b"GET /api/orders/anything HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-Note: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\nX-Caf\xe9: 1\r\nX_Under: 1\r\n\r\n",
    )
    assert answer.status == 200, answer
    # The gateway's health checks reach the recorder too; this request is the one with a note.
    received = next(headers for headers in reversed(slow.seen) if "x-note" in headers)
    assert received["x-note"] == b"caf\xe9"
    assert received["x-utf8"] == "café".encode()
    # As the ALB with drop_invalid_header_fields: a name outside [-A-Za-z0-9] is dropped.
    assert not [name for name in received if name.startswith(("x-caf", "x_"))]
    assert b"\r\nX-Reply: d\xe9j\xe0 vu\r\n" in answer.head


def test_a_nul_in_a_header_is_a_400(slow: Slow) -> None:
    answer = _exchange(
        slow.gateway,
        b"GET /api/orders/anything HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-Note: a\x00b\r\n\r\n",
    )
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert not [headers for headers in slow.seen if b"a\x00b" in headers.get("x-note", b"")]


def _stalled_put(base_url: str) -> Exchange:
    """Headers and a third of the body, then silence."""
    return _exchange(
        base_url,
        b"PUT /api/cart/carts/AAAAAAAAAAAAAAAAAAAAAA/items/PS-TOY-0001 HTTP/1.1\r\nHost: x\r\n"
        b'Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{"qua',
    )


def test_a_stalled_body_is_a_408_from_a_service_and_through_the_gateway(slow: Slow) -> None:
    for base_url in (slow.cart, slow.gateway):
        answer = _stalled_put(base_url)
        assert answer.status == 408, (base_url, answer)
        assert answer.json()["error"]["code"] == "request_timeout"
        assert set(answer.json()["error"]) == {"code", "message", "details"}
        # Answered after the configured pause, not the 60 s that were a 503, and the
        # connection closed at once rather than kept open for the rest of the body.
        assert SHORT_TIMEOUT <= answer.seconds < SHORT_TIMEOUT + 4, (base_url, answer)


def test_a_service_that_stops_waiting_first_is_answered_at_once(slow: Slow) -> None:
    """The cart gives up on a stalled body before the gateway would: its 408 comes through
    at once, and the gateway closes the connection rather than wait for the rest."""
    answer = _stalled_put(slow.patient_gateway)
    assert answer.status == 408, answer
    assert answer.json()["error"]["code"] == "request_timeout"
    assert SHORT_TIMEOUT <= answer.seconds < SHORT_TIMEOUT + 4, answer


def test_a_stalled_request_head_is_a_408(slow: Slow) -> None:
    answer = _exchange(slow.cart, b"GET /api/cart/health HTTP/1.1\r\nHost: x\r\nX-Half")
    assert answer.status == 408
    assert answer.json()["error"]["code"] == "request_timeout"
    assert answer.seconds < SHORT_TIMEOUT + 4


def test_file_names_no_file_can_have_are_not_found(gateway: httpx.Client) -> None:
    for target, status, code in (
        ("/index.html%00.js", 400, "invalid_request"),  # nginx reads no path with a NUL
        ("/" + "a" * 300 + ".js", 404, "not_found"),
    ):
        answer = _raw_get(str(gateway.base_url), target)
        assert answer[0] == status, target
        assert json.loads(answer[1])["error"]["code"] == code
    # Without a dot it is an app route, as CloudFront's function has it: the page answers.
    status, body = _raw_get(str(gateway.base_url), "/" + "a" * 300)
    assert status == 200
    assert b"<title>Pet Shore 3D</title>" in body


def test_model_files_ignore_conditions_s3_could_not_read(gateway: httpx.Client) -> None:
    url, size = _fox(gateway)
    answer = _exchange(
        str(gateway.base_url),
        f"GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + b'Range: bytes=\xe9-\r\nIf-None-Match: "\xe9"\r\n\r\n',
    )
    assert answer.status == 200
    assert len(answer.body) == size


def test_pages_and_files_carry_the_storefront_csp_and_api_answers_a_strict_one(
    gateway: httpx.Client, stack: Stack
) -> None:
    policy = storefront_policy(stack)
    page = gateway.get("/")
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, page.text
    for response in (
        page,
        gateway.get("/product/PS-TOY-0001"),
        gateway.get(script.group(1)),
        gateway.get("/decoders/draco/draco_decoder.wasm"),
        gateway.get("/assets/missing.js"),
    ):
        assert response.headers["Content-Security-Policy"] == policy, response.url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
    for response in (
        gateway.get("/api/catalog/products/PS-TOY-0001"),  # proxied, streamed
        gateway.get("/api/nothing-here"),  # the gateway's own error
        gateway.post("/api/cart/carts"),
    ):
        assert response.headers["Content-Security-Policy"] == API_CSP, response.url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_log_holds_a_cart_id_or_an_order_id(gateway: httpx.Client, stack: Stack) -> None:
    cart_id = gateway.post("/api/cart/carts").json()["cart_id"]
    order_id = "ord_" + secrets.token_urlsafe(16)
    # Other spellings of a cart's path (sent as bytes: a client would read `//api` as a host),
    # one of which nginx passes on as sent, as the ALB does: the cart service logs it as it
    # came. Sent first: the lines of the request waited for below follow theirs.
    _raw_get(str(gateway.base_url), f"//api/cart/carts/{cart_id}")
    _raw_get(str(gateway.base_url), f"/api/cart/./carts/{cart_id}")
    # The storefront's page of an order.
    assert gateway.get(f"/order/{order_id}").status_code == 200
    request_id = "redaction-" + str(time.time_ns())
    changed = gateway.put(
        f"/api/cart/carts/{cart_id}/items/PS-TOY-0002",
        json={"quantity": 1},
        headers={"X-Request-ID": request_id},
    )
    assert changed.status_code == 200
    assert gateway.get(f"/api/cart/carts/{cart_id}").status_code == 200
    for name in ("gateway", "cart-0"):
        log_text([stack.config.log_dir / f"{name}.log"], lambda text: request_id in text)
    logs: dict[Path, str] = {c.log_path: c.log_path.read_text() for c in stack.processes.children}
    assert {"gateway", "cart-0"} <= {path.stem for path in logs}
    for path, text in logs.items():
        assert cart_id not in text and order_id not in text, path
        # Nor any other test's: every id in a cart path is cut short.
        assert not re.search(r"/carts/[A-Za-z0-9_-]{22}", text), path
        assert not re.search(r"/order/ord_[A-Za-z0-9_-]{22}", text), path
    # Each was logged, cut short: the cart service got the spelling with its dot segment.
    assert f"/api/cart/./carts/{redact(cart_id)}" in logs[stack.config.log_dir / "cart-0.log"]
    assert f"/order/{redact(order_id)}" in logs[stack.config.log_dir / "gateway.log"]
    for name in ("gateway", "cart-0"):
        lines = [
            json.loads(line)
            for line in logs[stack.config.log_dir / f"{name}.log"].splitlines()
            if request_id in line and '"petshore.access"' in line
        ]
        assert [line["path"] for line in lines] == [
            f"/api/cart/carts/{redact(cart_id)}/items/PS-TOY-0002"
        ], name
