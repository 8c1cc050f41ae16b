"""Each service's OpenAPI document, built from what its routes declare with `@operation`: the
request bodies and answers are the pydantic models and TypedDicts the code itself validates
and returns, so the document cannot drift from the code, and a schema-driven client (or the
fuzzer in tests/contract/) can hold the service to it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse
from typing_extensions import TypedDict

from petshore.contract import Service
from petshore.responses import json

H = TypeVar("H", bound=Callable[..., Any])

_ATTRIBUTE = "__petshore_operation__"
ADMIN_ATTRIBUTE = "__petshore_admin__"
# Set by `petshore.web.public_get`: the seconds any cache may keep the route's 200 answers.
PUBLIC_ATTRIBUTE = "__petshore_public_max_age__"
_PATH_PARAMETER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(?::[^>]*)?>")


class ErrorDetail(TypedDict):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(TypedDict):
    error: ErrorDetail


class Health(TypedDict):
    status: str


@dataclass(frozen=True)
class Param:
    name: str
    schema: Mapping[str, Any]
    where: str = "query"  # query | header
    required: bool = False
    description: str = ""


def string(**constraints: Any) -> dict[str, Any]:
    return {"type": "string", **constraints}


def integer(**constraints: Any) -> dict[str, Any]:
    return {"type": "integer", **constraints}


@dataclass(frozen=True)
class Download:
    """An answer that is a file of `media_type`, not JSON."""

    media_type: str


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: Mapping[int, Any]  # status → the type of its JSON body, a Download, or None
    body: Any = None
    body_required: bool = True
    params: Sequence[Param] = ()
    errors: Sequence[int] = ()  # error statuses this operation answers beyond the common ones
    description: str = ""


def operation(
    summary: str,
    *,
    answers: Mapping[int, Any],
    body: Any = None,
    body_required: bool = True,
    params: Sequence[Param] = (),
    errors: Sequence[int] = (),
    description: str = "",
) -> Callable[[H], H]:
    """Declare what a route takes and answers, for the service's OpenAPI document."""
    declared = Operation(summary, answers, body, body_required, params, errors, description)

    def mark(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, declared)
        return handler

    return mark


def declared_query(handler: Callable[..., Any]) -> frozenset[str]:
    """The query parameters the route's operation declares: the only ones it takes."""
    declared: Operation | None = getattr(handler, _ATTRIBUTE, None)
    return (
        frozenset(p.name for p in declared.params if p.where == "query")
        if declared
        else frozenset()
    )


# Answers every operation can give: a malformed request, a body that stalled or was too
# large, a request line longer than the front door takes (8 KiB: nginx's buffer here,
# CloudFront's URL limit on AWS), and a dependency that is down.
COMMON_ERRORS = (400, 408, 413, 414, 503)


@dataclass
class _Schemas:
    components: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(kind).json_schema(
            ref_template="#/components/schemas/{model}",
            mode=mode,  # type: ignore[arg-type]
        )
        self.components.update(schema.pop("$defs", {}))
        return schema


def document(app: Sanic, title: str) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes:
        declared: Operation | None = getattr(route.handler, _ATTRIBUTE, None)
        if declared is None:
            continue
        path = "/" + _PATH_PARAMETER.sub(r"{\1}", route.path)
        in_path = _PATH_PARAMETER.findall(route.path)
        admin = bool(getattr(route.handler, ADMIN_ATTRIBUTE, False))
        max_age: int | None = getattr(route.handler, PUBLIC_ATTRIBUTE, None)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                declared, route.name, in_path, admin, max_age, schemas
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The admin token (automation) or a staff session",
                }
            },
        },
    }


_IF_NONE_MATCH = Param(
    "If-None-Match",
    string(),
    where="header",
    description="ETags of answers the client holds: when one is current, the answer is 304",
)


def _cache_headers(max_age: int) -> dict[str, Any]:
    return {
        "ETag": {
            "description": "A strong validator of the body",
            "required": True,
            "schema": string(pattern='^"[^"]*"$'),
        },
        "Cache-Control": {
            "description": "Any cache may keep the answer this long",
            "required": True,
            "schema": string(const=f"public, max-age={max_age}"),
        },
    }


def _operation(
    declared: Operation,
    name: str,
    in_path: list[str],
    admin: bool,
    max_age: int | None,
    schemas: _Schemas,
) -> dict[str, Any]:
    params = [*declared.params, *([_IF_NONE_MATCH] if max_age is not None else [])]
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in in_path
    ] + [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required,
            "schema": dict(p.schema),
            **({"description": p.description} if p.description else {}),
        }
        for p in params
    ]
    errors = set(COMMON_ERRORS) | set(declared.errors)
    if in_path:
        errors.add(404)
    if declared.body is not None:
        errors.add(415)
    if admin:
        errors |= {401, 403}
    responses: dict[str, Any] = {}
    for status, kind in sorted(declared.answers.items()):
        responses[str(status)] = {"description": "OK" if status < 300 else "see the contract"}
        if isinstance(kind, Download):
            responses[str(status)]["content"] = {kind.media_type: {"schema": string()}}
        elif kind is not None:
            responses[str(status)]["content"] = {
                "application/json": {"schema": schemas.of(kind, "serialization")}
            }
    if max_age is not None:
        responses["200"]["headers"] = _cache_headers(max_age)
        responses["304"] = {
            "description": "Not Modified: If-None-Match names the current ETag (no body)",
            "headers": _cache_headers(max_age),
        }
    error_schema = schemas.of(ErrorBody, "serialization")
    for status in sorted(errors - set(declared.answers)):
        responses[str(status)] = {
            "description": "an error",
            "content": {"application/json": {"schema": error_schema}},
        }
    described: dict[str, Any] = {
        "operationId": name.rpartition(".")[2] if "." in name else name,
        "summary": declared.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if declared.description:
        described["description"] = declared.description
    if declared.body is not None:
        described["requestBody"] = {
            "required": declared.body_required,
            "content": {"application/json": {"schema": schemas.of(declared.body, "validation")}},
        }
    if admin:
        described["security"] = [{"admin": []}]
    return described


def docs_blueprint(service: Service) -> Blueprint:
    """`GET /api/<service>/docs/openapi.json`: the document, built once from the routes."""
    bp = Blueprint(f"{service.name}_docs")
    built: dict[str, Any] = {}

    @bp.get(service.docs_path)
    async def openapi_json(request: Request) -> HTTPResponse:
        if not built:
            built.update(document(request.app, f"Pet Shore 3D {service.name}"))
        return json(built)

    return bp
