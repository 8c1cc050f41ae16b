"""Calls from one service to another, over HTTP, with timeouts and the caller's request id."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from petshore.errors import Unavailable
from petshore.logs import request_id_var
from petshore.web import REQUEST_ID_HEADER


def cookieless() -> CookieJar:
    """A cookie jar that keeps nothing. A client that calls on behalf of many callers must
    not remember one caller's Set-Cookie and send it with the next caller's request (a
    session cookie passing through would sign everyone in as its owner)."""
    # httpx keeps a jar it is given as it is (an httpx.Cookies would be copied into a new,
    # default jar).
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class ServiceClient:
    """A JSON client for one peer service; any transport failure becomes `503 unavailable`."""

    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            cookies=cookieless(),
        )

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        headers = dict(headers or {})
        request_id = request_id_var.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        try:
            response = await self._client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the {self.name} service did not answer") from exc
        if response.status_code >= 500:
            raise Unavailable(f"the {self.name} service failed ({response.status_code})")
        try:
            return response.status_code, response.json()
        except ValueError as exc:
            raise Unavailable(f"the {self.name} service sent a body that is not JSON") from exc

    async def close(self) -> None:
        await self._client.aclose()
