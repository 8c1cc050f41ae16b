"""The security headers CloudFront's response headers policies add (templates/edge.py): the
storefront's Content-Security-Policy on its page and files, a policy allowing nothing on API
answers. `/models/*` and `/media/*` keep AWS's managed policy there, and HSTS is CloudFront's
alone: the gateway speaks plain HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse

from petshore.contract import (
    API_CSP,
    API_PATH_PREFIX,
    FILE_PATH_PREFIXES,
    FRAME_OPTIONS,
    REFERRER_POLICY,
    storefront_csp,
)


def headers_for(path: str, storefront_csp: str) -> dict[str, str]:
    if path.startswith(FILE_PATH_PREFIXES):
        return {}
    return {
        "Content-Security-Policy": API_CSP if path.startswith(API_PATH_PREFIX) else storefront_csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
    }


def security_headers(upload_origin: str) -> Callable[[Request, HTTPResponse], Awaitable[None]]:
    """The response middleware adding them, the page's policy naming where uploads go."""
    policy = storefront_csp(upload_origin)

    async def add_security_headers(request: Request, response: HTTPResponse) -> None:
        # As the policies' `Override`: the gateway's value replaces any a service sent.
        for name, value in headers_for(request.path, policy).items():
            response.headers[name] = value

    return add_security_headers
