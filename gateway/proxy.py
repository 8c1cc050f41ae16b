"""Streaming reverse proxy to one service target: bodies flow through in chunks both ways,
hop-by-hop headers stop here, and the upstream learns who called through X-Forwarded-*."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from sanic import Request

from petshore.errors import TooLarge, Unavailable
from petshore.web import MAX_BODY_BYTES, REQUEST_ID_HEADER

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


def end_to_end(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop hop-by-hop headers, including any a `Connection` header names (RFC 9110 7.6.1)."""
    listed = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in pairs if k.lower() not in HOP_BY_HOP | listed]


def forward_headers(request: Request) -> list[tuple[str, str]]:
    """The caller's end-to-end headers, with X-Forwarded-* and X-Request-ID set by us: a
    client cannot choose what the services believe about its address."""
    ours = {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        REQUEST_ID_HEADER.lower(),
    }
    kept = [(k, v) for k, v in end_to_end(list(request.headers.items())) if k.lower() not in ours]
    return [
        *kept,
        ("X-Forwarded-For", request.remote_addr or request.ip),
        ("X-Forwarded-Proto", request.scheme),
        ("X-Forwarded-Host", request.host),
        ("X-Forwarded-Port", str(request.server_port)),
        (REQUEST_ID_HEADER, request.ctx.request_id),
    ]


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a chunked body that outgrows the limit is cut off (the
    service then sees an incomplete request and the caller gets an error)."""
    if request.stream is None:
        if request.body:
            yield request.body
        return
    sent = 0
    while (chunk := await request.stream.read()) is not None:
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
        headers = end_to_end(list(upstream.headers.multi_items()))
        response = await request.respond(status=upstream.status_code, headers=headers)
        if response is not None:
            async for chunk in upstream.aiter_raw():
                await response.send(chunk)
            await response.eof()
    finally:
        await upstream.aclose()
