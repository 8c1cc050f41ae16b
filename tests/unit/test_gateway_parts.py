"""The gateway's parts without a network: routing table, upstream settings, health state,
hop-by-hop headers, header bytes, security headers."""

from __future__ import annotations

import pytest

from gateway.balancer import Pool, Target
from gateway.proxy import end_to_end, unwire, wire
from gateway.security import headers_for
from gateway.settings import parse_upstreams
from petshore.contract import (
    API_CSP,
    CART,
    CATALOG,
    HEALTHY_THRESHOLD,
    ORDERS,
    UNHEALTHY_THRESHOLD,
    storefront_csp,
)
from petshore.contract import service_for_path as route
from petshore.settings import SettingsError


def test_routing_table_matches_api_md() -> None:
    assert route("/api/catalog/products") is CATALOG
    assert route("/api/catalog") is CATALOG
    assert route("/api/cart/carts/x") is CART
    assert route("/api/orders/inventory") is ORDERS
    assert route("/api/cartography") is None
    assert route("/models/x.glb") is None
    assert route("/") is None


def test_upstreams_default_to_local_ports_and_parse_lists() -> None:
    assert parse_upstreams("")["catalog"] == [f"http://127.0.0.1:{CATALOG.port}"]
    parsed = parse_upstreams("catalog=http://a:1, http://b:2/ ;cart=http://c:3")
    assert parsed["catalog"] == ["http://a:1", "http://b:2"]
    assert parsed["cart"] == ["http://c:3"]
    assert parsed["orders"] == [f"http://127.0.0.1:{ORDERS.port}"]
    for bad in ("nope=http://a:1", "catalog", "catalog=ftp://a", "catalog="):
        with pytest.raises(SettingsError):
            parse_upstreams(bad)


def test_targets_follow_the_alb_thresholds() -> None:
    target = Target("http://a")
    for _ in range(HEALTHY_THRESHOLD - 1):
        target.record(True)
    assert not target.healthy
    target.record(True)
    assert target.healthy
    target.record(False)
    target.record(True)  # a pass resets the failure count
    for _ in range(UNHEALTHY_THRESHOLD - 1):
        target.record(False)
    assert target.healthy
    target.record(False)
    assert not target.healthy


def test_pool_balances_over_healthy_targets_and_fails_open() -> None:
    pool = Pool.of(CATALOG, ["http://a", "http://b", "http://c"])
    assert {pool.pick().url for _ in range(6)} == {"http://a", "http://b", "http://c"}
    pool.targets[0].healthy = pool.targets[2].healthy = True
    assert {pool.pick().url for _ in range(6)} == {"http://a", "http://c"}


def test_hop_by_hop_headers_stop_at_the_gateway() -> None:
    headers = [
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("Keep-Alive", "timeout=5"),
        ("X-Secret-Hop", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Type", "application/json"),
        ("ETag", '"x"'),
    ]
    assert end_to_end(headers) == [("Content-Type", "application/json"), ("ETag", '"x"')]


def test_header_bytes_come_out_as_they_went_in() -> None:
    """Every byte a header value may hold, through Sanic's decoding and back."""
    sent = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)]) + "é€".encode()
    as_sanic_has_it = sent.decode("utf-8", "surrogateescape")
    assert wire(as_sanic_has_it) == sent
    assert unwire(sent) == as_sanic_has_it


def test_security_headers_follow_cloudfronts_behaviours() -> None:
    policy = storefront_csp("http://127.0.0.1:5000")
    for path in ("/", "/product/PS-TOY-0001", "/assets/index.js", "/decoders/draco/x.wasm"):
        assert headers_for(path, policy)["Content-Security-Policy"] == policy, path
    for path in ("/api/cart/carts", "/api/nothing"):
        assert headers_for(path, policy)["Content-Security-Policy"] == API_CSP, path
    assert headers_for("/models/x.glb", policy) == {}  # AWS's managed policy there, as before
