"""Each service's OpenAPI document, built from its routes: every route is in it, with the
bodies, answers and admin security the code has."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sanic import Sanic

from petshore.contract import CATALOG_CACHE_SECONDS
from petshore.openapi import PUBLIC_ATTRIBUTE, document
from services.cart.app import create_app as cart_app
from services.catalog.app import create_app as catalog_app
from services.orders.app import create_app as orders_app

FACTORIES: dict[str, Callable[[], Sanic]] = {
    "catalog": catalog_app,
    "cart": cart_app,
    "orders": orders_app,
}


@pytest.fixture(scope="module", autouse=True)
def test_mode() -> Iterator[None]:
    # The apps are built here and again by other tests in this process.
    Sanic.test_mode = True
    yield
    Sanic.test_mode = False


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def built(request: pytest.FixtureRequest) -> tuple[Sanic, dict[str, Any]]:
    app = FACTORIES[request.param]()
    return app, document(app, request.param)


def test_every_route_is_documented(built: tuple[Sanic, dict[str, Any]]) -> None:
    app, doc = built
    served = {
        ("/" + re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.path), method.lower())
        for route in app.router.routes
        for method in route.methods - {"HEAD", "OPTIONS"}
        if not route.path.endswith("openapi.json")
    }
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert served == documented


def test_answers_and_errors_carry_schemas(built: tuple[Sanic, dict[str, Any]]) -> None:
    _, doc = built
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "503" in responses and "400" in responses, (method, path)
            assert any(s.startswith("2") for s in responses), (method, path)
            for status, response in responses.items():
                if status not in ("204", "304"):
                    # JSON, but for a download (the orders' CSV export) and its errors.
                    (media_type, content), *others = response["content"].items()
                    assert not others and "schema" in content, (status, path)
                    assert media_type == "application/json" or (
                        status == "200" and media_type == "text/csv"
                    ), (status, path)
            if "{" in path:
                assert "404" in responses, path


def test_admin_routes_declare_the_admin_scheme_and_its_refusals(
    built: tuple[Sanic, dict[str, Any]],
) -> None:
    _, doc = built
    assert doc["components"]["securitySchemes"]["admin"]["scheme"] == "bearer"
    for item in doc["paths"].values():
        for operation in item.values():
            if "security" in operation:
                assert {"401", "403"} <= set(operation["responses"])


def test_request_bodies_refuse_fields_they_do_not_name() -> None:
    doc = document(orders_app(), "orders")
    checkout = doc["paths"]["/api/orders/orders"]["post"]["requestBody"]["content"]
    schema = checkout["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"cart_id", "email", "shipping_address", "payment"}
    assert "model_config" not in schema["properties"]
    inventory = doc["paths"]["/api/orders/inventory/{sku}"]["put"]
    assert inventory["security"] == [{"admin": []}]


def test_public_reads_take_head_and_declare_their_304_and_cache_headers(
    built: tuple[Sanic, dict[str, Any]],
) -> None:
    app, doc = built
    public = {
        "/" + re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.path): route
        for route in app.router.routes
        if getattr(route.handler, PUBLIC_ATTRIBUTE, None) is not None
    }
    if app.name == "catalog":
        assert set(public) == {
            "/api/catalog/products",
            "/api/catalog/products/{sku}",
            "/api/catalog/categories",
        }
    else:
        assert public == {}, "carts and orders are never public"
    for path, route in public.items():
        assert route.methods == {"GET", "HEAD"}, path
        operation = doc["paths"][path]["get"]
        assert "security" not in operation, path
        conditional = [p for p in operation["parameters"] if p["name"] == "If-None-Match"]
        assert [p["in"] for p in conditional] == ["header"], path
        for status in ("200", "304"):
            headers = operation["responses"][status]["headers"]
            assert headers["Cache-Control"]["schema"]["const"] == (
                f"public, max-age={CATALOG_CACHE_SECONDS}"
            )
            assert headers["ETag"]["required"] is True
        assert "content" not in operation["responses"]["304"]
