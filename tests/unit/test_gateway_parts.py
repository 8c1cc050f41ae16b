"""The gateway's parts without a network: routing table, upstream settings, health state, and
the nginx configuration rendered from them, which nginx itself accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway import nginx
from gateway.balancer import Pool, Target
from gateway.settings import parse_upstreams
from gateway.supervisor import nginx_binary
from petshore.contract import (
    API_CSP,
    CART,
    CATALOG,
    HEALTHY_THRESHOLD,
    ORDERS,
    SERVICES,
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
    for bad in (
        "nope=http://a:1",
        "catalog",
        "catalog=ftp://a:1",
        "catalog=",
        "catalog=https://a:1",  # nginx speaks plain HTTP to the services, as the ALB does
        "catalog=http://a",
        "catalog=http://a:1/path",
    ):
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


def test_pool_sends_to_healthy_targets_and_fails_open() -> None:
    pool = Pool.of(CATALOG, ["http://a", "http://b", "http://c"])
    assert pool.serving() == ["http://a", "http://b", "http://c"]
    pool.targets[0].healthy = pool.targets[2].healthy = True
    assert pool.serving() == ["http://a", "http://c"]


def _site(tmp_path: Path, serving: dict[str, list[str]]) -> nginx.Site:
    return nginx.Site(
        listen="127.0.0.1:8080",
        static_dir=tmp_path,
        bucket_url="http://127.0.0.1:5000/petshore-local-models",
        storefront_csp=storefront_csp("http://127.0.0.1:5000"),
        upstream_timeout=60.0,
        request_timeout=10.0,
        run_dir=tmp_path,
        workers=1,
        serving=serving,
    )


def test_the_configuration_routes_by_the_table_and_nginx_accepts_it(tmp_path: Path) -> None:
    serving = {s.name: [f"http://127.0.0.1:{s.port}"] for s in SERVICES}
    serving["catalog"] = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
    text = nginx.render(_site(tmp_path, serving))
    for service in SERVICES:
        assert f"location ^~ {service.path_prefix} {{" in text
        assert f"proxy_pass http://petshore_{service.name};" in text
    catalog = text.split("upstream petshore_catalog {")[1].split("}")[0]
    assert "server 127.0.0.1:9001;" in catalog and "server 127.0.0.1:9002;" in catalog
    assert f'"~^/api/" "{API_CSP}";' in text
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    checked = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_values_nginx_would_misread_are_refused() -> None:
    assert nginx.quoted('a "b" \\c') == '"a \\"b\\" \\\\c"'
    with pytest.raises(ValueError):
        nginx.quoted("costs $5")
