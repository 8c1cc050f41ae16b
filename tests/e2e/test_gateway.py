"""The gateway as the ALB and CloudFront: routing, request ids, model files, static files,
balancing across healthy instances, and clear errors when a service is down."""

from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import urlsplit

import httpx

from devstack.processes import free_port
from devstack.stack import Stack
from petshore.contract import CART, CATALOG, MODEL_CACHE_CONTROL, SERVICES, Env
from tests.helpers import assert_error


def _raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """GET with the request target sent exactly as given (clients normalise `..` away)."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


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
    logs = "".join(p.read_text() for p in stack.config.log_dir.glob("catalog-*.log"))
    assert '"request_id": "trace-abc-123"' in logs


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
    lines = [
        json.loads(line)
        for line in (stack.config.log_dir / "cart-0.log").read_text().splitlines()
        if request_id in line
    ]
    assert [line["client"] for line in lines] == ["127.0.0.1"]


def test_every_service_publishes_its_openapi_document(gateway: httpx.Client) -> None:
    for service in SERVICES:
        doc = gateway.get(f"/api/{service.name}/docs/openapi.json").json()
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
    cart_log = (stack.config.log_dir / "cart-0.log").read_text()
    catalog_logs = "".join(p.read_text() for p in stack.config.log_dir.glob("catalog-*.log"))
    assert f'"request_id": "checkout-{cart_id}"' in cart_log
    assert f'"request_id": "checkout-{cart_id}"' in catalog_logs


def test_routes_by_the_table_and_answers_unknown_paths_in_json(gateway: httpx.Client) -> None:
    assert gateway.get("/api/catalog/health").json() == {"status": "ok"}
    assert gateway.get("/api/cart/health").json() == {"status": "ok"}
    assert gateway.get("/api/orders/health").json() == {"status": "ok"}
    assert_error(gateway.get("/api/catalog"), 404, "not_found")
    assert_error(gateway.get("/api/unknown/thing"), 404, "not_found")
    assert_error(gateway.post("/index.html"), 405, "method_not_allowed")


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
    for target in ("/models/../etc/passwd", "/models/%2e%2e/%2e%2e/etc/passwd"):
        status, body = _raw_get(str(gateway.base_url), target)
        assert status == 404, target
        assert b"root:" not in body
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
        assert b"root:" not in body


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


def test_balances_across_instances_and_drops_an_unhealthy_one(
    gateway: httpx.Client, stack: Stack
) -> None:
    logs = sorted(stack.config.log_dir.glob("catalog-*.log"))
    assert len(logs) == 2
    before = [p.read_text().count("/api/catalog/categories") for p in logs]
    for _ in range(10):
        assert gateway.get("/api/catalog/categories").status_code == 200
    after = [p.read_text().count("/api/catalog/categories") for p in logs]
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
