"""Calls from one service to another, over HTTP, with timeouts and the caller's request id."""

from __future__ import annotations

from typing import Any

import httpx

from petshore.errors import Unavailable
from petshore.logs import request_id_var
from petshore.web import REQUEST_ID_HEADER


class ServiceClient:
    """A JSON client for one peer service; any transport failure becomes `503 unavailable`."""

    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        headers = {}
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
