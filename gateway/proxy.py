"""Streaming reverse proxy to one service target: bodies flow through in chunks both ways,
hop-by-hop headers stop here, and the upstream learns who called through X-Forwarded-*.

Header values pass through byte for byte, as the ALB passes them: RFC 9110 allows bytes
0x80-0xFF (obs-text) in a value, and a client may send any. What the ALB of the stack
(templates/loadbalancing.py) would not pass on, the gateway does not either."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
from sanic import Request

from petshore.errors import InvalidRequest, TooLarge, Unavailable
from petshore.web import MAX_BODY_BYTES, REQUEST_ID_HEADER, body_chunks

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)


# `routing.http.drop_invalid_header_fields.enabled` drops a header whose name is not this.
_VALID_NAME = re.compile(r"^[-A-Za-z0-9]+$")
# Control characters but HTAB are not allowed in a value (RFC 9110 5.5); the ALB's
# `strictest` desync mitigation answers a request carrying one with a 400.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def wire(text: str) -> bytes:
    """The bytes of a header as they came: Sanic decodes them as UTF-8 with surrogateescape
    (and encodes a response's the same way), so this is their exact inverse."""
    return text.encode("utf-8", "surrogateescape")


def unwire(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def end_to_end(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop hop-by-hop headers, including any a `Connection` header names (RFC 9110 7.6.1)."""
    listed = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in pairs if k.lower() not in HOP_BY_HOP | listed]


def forward_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The caller's end-to-end headers, with X-Forwarded-* and X-Request-ID set by us: a
    client cannot choose what the services believe about its address."""
    ours = {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        REQUEST_ID_HEADER.lower(),
    }
    kept = [
        (name, value)
        for name, value in end_to_end(list(request.headers.items()))
        if name.lower() not in ours and _VALID_NAME.match(name)
    ]
    headers = [
        *kept,
        ("X-Forwarded-For", request.remote_addr or request.ip),
        ("X-Forwarded-Proto", request.scheme),
        ("X-Forwarded-Host", request.host),
        ("X-Forwarded-Port", str(request.server_port)),
        (REQUEST_ID_HEADER, request.ctx.request_id),
    ]
    for name, value in headers:
        if _CONTROL.search(value):
            raise InvalidRequest(
                f"the {name} header holds a control character", {"fields": [name.lower()]}
            )
    return [(wire(name), wire(value)) for name, value in headers]


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a chunked body that outgrows the limit is cut off (the
    service then sees an incomplete request and the caller gets an error), and one that
    stops arriving is a 408."""
    if request.stream is None:
        if request.body:
            yield request.body
        return
    sent = 0
    async for chunk in body_chunks(request):
        sent += len(chunk)
        if sent > MAX_BODY_BYTES:
            raise TooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        yield chunk


async def forward(client: httpx.AsyncClient, base_url: str, request: Request) -> None:
    """Stream the service's answer to the caller (nothing to return: Sanic logs an error for
    a response returned after it was streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    url = base_url + request.path + (f"?{request.query_string}" if request.query_string else "")
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    upstream_request = client.build_request(
        request.method,
        url,
        headers=forward_headers(request),
        content=_request_body(request) if has_body else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        raise Unavailable(f"the service behind {request.path} did not answer") from exc
    try:
        headers = end_to_end([(unwire(k), unwire(v)) for k, v in upstream.headers.raw])
        response = await request.respond(status=upstream.status_code, headers=headers)
        # A HEAD answer has no body, and Sanic ends its stream itself: ending it here too made
        # Sanic log an error for every HEAD.
        if response is not None and request.method != "HEAD":
            async for chunk in upstream.aiter_raw():
                await response.send(chunk)
            await response.eof()
    finally:
        await upstream.aclose()
