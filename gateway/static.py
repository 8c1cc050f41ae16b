"""The storefront's static files (S3 behind CloudFront in AWS). Hashed build assets are
cached for a year; the page itself is revalidated so a deploy shows at once."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from sanic import Request
from sanic.response import HTTPResponse, file

from petshore.errors import NotFound

IMMUTABLE_DIR = "assets"


async def serve(root: Path, request: Request) -> HTTPResponse:
    root = root.resolve()
    relative = unquote(request.path).lstrip("/") or "index.html"
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise NotFound("no such file")
    if not target.is_file():
        # Client-side routes (/product/X) are pages of the single-page app.
        if "." in Path(relative).name:
            raise NotFound("no such file")
        target = root / "index.html"
        if not target.is_file():
            raise NotFound("the storefront has not been built (make web)")
    immutable = target.parent.name == IMMUTABLE_DIR
    cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return await file(target, headers={"cache-control": cache}, request_headers=request.headers)
