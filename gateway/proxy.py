"""Streaming reverse proxy to one service target: bodies flow through in chunks both ways,
hop-by-hop headers stop here, and the upstream learns who called through X-Forwarded-*.

Header values pass through byte for byte, as the ALB passes them: RFC 9110 allows bytes
0x80-0xFF (obs-text) in a value, and a client may send any. What the ALB of the stack
(templates/loadbalancing.py) would not pass on, the gateway does not either.

Requests go through aiohttp, whose client costs a fraction of httpx's per request
(bench/http_load.py). aiohttp writes header text as UTF-8, so the rare request whose header
bytes are not UTF-8 goes through httpx, which writes bytes as given."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp
import httpx
from sanic import HTTPResponse, Request

from petshore.errors import ApiError, InvalidRequest, TooLarge, Unavailable
from petshore.upstream import NOT_ADDED, upstream_session
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


# An answer up to this size is read whole and sent in one write; a larger one is streamed.
WHOLE_BYTES = 64 * 1024

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


def proxy_session(timeout: float) -> aiohttp.ClientSession:
    """The gateway's session: it adds no header of its own, not even a Content-Type."""
    return upstream_session(
        aiohttp.ClientTimeout(total=None, sock_connect=3.0, sock_read=timeout),
        max_connections=500,
        skip_auto_headers=NOT_ADDED | {"Content-Type"},
    )


def cookieless() -> CookieJar:
    """A cookie jar that keeps nothing (as aiohttp's DummyCookieJar): the gateway calls on
    behalf of every caller. httpx keeps a jar it is given as it is (an httpx.Cookies would be
    copied into a new, default jar)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Clients:
    """What the gateway forwards with: aiohttp, and httpx for header bytes that are not UTF-8."""

    def __init__(self, timeout: float) -> None:
        self.session = proxy_session(timeout)
        self.bytewise = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=3.0),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            cookies=cookieless(),
        )

    async def close(self) -> None:
        await self.session.close()
        await self.bytewise.aclose()


def _as_text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]] | None:
    """The headers as UTF-8 text, which aiohttp writes back to the same bytes; None when a
    header's bytes are not UTF-8."""
    try:
        return [(name.decode(), value.decode()) for name, value in headers]
    except UnicodeDecodeError:
        return None


async def forward(clients: Clients, base_url: str, request: Request) -> HTTPResponse | None:
    """The service's answer: a small one whole, a larger one streamed to the caller (then
    nothing to return: Sanic logs an error for a response returned after it was streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    url = base_url + request.path + (f"?{request.query_string}" if request.query_string else "")
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    headers = forward_headers(request)
    body = _request_body(request) if has_body else None
    text = _as_text(headers)
    if text is None:
        await _forward_bytewise(clients.bytewise, url, headers, body, request)
        return None
    try:
        upstream = await clients.session.request(
            request.method, url, headers=text, data=body, allow_redirects=False
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        # What stopped the body on our side (too large, stalled) is the caller's answer.
        if isinstance(exc.__cause__, ApiError):
            raise exc.__cause__ from None
        raise Unavailable(f"the service behind {request.path} did not answer") from exc
    if request.stream is not None and request.stream.request_body:
        # The service answered before the caller finished sending (it stopped waiting for a
        # stalled body: aiohttp reads the answer while it still writes). Close after the
        # answer, as body_chunks does, rather than wait for the rest, which may never come.
        request.stream.keep_alive = False
        request.stream.request_body = None
    try:
        length = upstream.content_length
        if length is not None and length <= WHOLE_BYTES and request.method != "HEAD":
            # Most API answers: one write of head and body (a streamed answer costs Sanic
            # a write and a wait per chunk).
            body = await upstream.read()
            headers = _answer_headers(upstream.raw_headers)
            return HTTPResponse(body, status=upstream.status, headers=headers)
        await _relay(request, upstream.status, upstream.raw_headers, upstream.content.iter_any())
    finally:
        upstream.release()
    return None


async def _forward_bytewise(
    client: httpx.AsyncClient,
    url: str,
    headers: list[tuple[bytes, bytes]],
    body: AsyncIterator[bytes] | None,
    request: Request,
) -> None:
    upstream_request = client.build_request(request.method, url, headers=headers, content=body)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        raise Unavailable(f"the service behind {request.path} did not answer") from exc
    try:
        await _relay(request, upstream.status_code, upstream.headers.raw, upstream.aiter_raw())
    finally:
        await upstream.aclose()


def _answer_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """A service's answer headers as Sanic sends them back out byte for byte, less hop-by-hop."""
    return end_to_end([(unwire(k), unwire(v)) for k, v in raw_headers])


async def _relay(
    request: Request,
    status: int,
    raw_headers: Iterable[tuple[bytes, bytes]],
    chunks: AsyncIterator[bytes],
) -> None:
    response = await request.respond(status=status, headers=_answer_headers(raw_headers))
    # A HEAD answer has no body, and Sanic ends its stream itself: ending it here too made
    # Sanic log an error for every HEAD.
    if response is not None and request.method != "HEAD":
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()
