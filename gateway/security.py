"""The security headers CloudFront's response headers policies add (templates/edge.py): the
storefront's Content-Security-Policy on its page and files, a policy allowing nothing on API
answers. `/models/*` and `/media/*` keep AWS's managed policy there, and HSTS is CloudFront's
alone: the gateway speaks plain HTTP."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

from petshore.contract import (
    API_CSP,
    API_PATH_PREFIX,
    FILE_PATH_PREFIXES,
    FRAME_OPTIONS,
    REFERRER_POLICY,
    STOREFRONT_CSP,
)


def headers_for(path: str) -> dict[str, str]:
    if path.startswith(FILE_PATH_PREFIXES):
        return {}
    return {
        "Content-Security-Policy": API_CSP if path.startswith(API_PATH_PREFIX) else STOREFRONT_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
    }


async def add_security_headers(request: Request, response: HTTPResponse) -> None:
    # As the policies' `Override`: the gateway's value replaces any a service sent.
    for name, value in headers_for(request.path).items():
        response.headers[name] = value
