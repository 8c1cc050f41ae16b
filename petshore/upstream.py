"""Calls from one service to another, over HTTP, with timeouts and the caller's request id.

aiohttp, not httpx: a peer call is on the path of every checkout and sign-in, and httpx's
connection pool cost more CPU per call than the peer's own answer (bench/http_load.py)."""

from __future__ import annotations

from json import loads
from typing import Any

import aiohttp

from petshore.errors import Unavailable
from petshore.logs import request_id_var
from petshore.web import REQUEST_ID_HEADER

# What aiohttp would add to every request unasked; a peer is told only what the caller says.
NOT_ADDED = frozenset({"User-Agent", "Accept", "Accept-Encoding"})


def upstream_session(timeout: aiohttp.ClientTimeout, max_connections: int) -> aiohttp.ClientSession:
    """A session for calls on behalf of many callers: it keeps no cookies (one caller's
    Set-Cookie must never go out with the next caller's request: a session cookie passing
    through would sign everyone in as its owner) and passes bodies on as they come."""
    return aiohttp.ClientSession(
        timeout=timeout,
        connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=NOT_ADDED,
    )


class ServiceClient:
    """A JSON client for one peer service; any transport failure becomes `503 unavailable`.
    Its session opens with its first call, inside the event loop that makes it."""

    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        headers = dict(headers or {})
        request_id = request_id_var.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if self._session is None:
            self._session = upstream_session(self.timeout, 100)
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, headers=headers
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"the {self.name} service did not answer") from exc
        if status >= 500:
            raise Unavailable(f"the {self.name} service failed ({status})")
        try:
            return status, loads(body)
        except ValueError as exc:
            raise Unavailable(f"the {self.name} service sent a body that is not JSON") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
