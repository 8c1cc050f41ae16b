"""The storefront's static files (S3 behind CloudFront in AWS). Hashed build assets are
cached for a year; the page itself is revalidated so a deploy shows at once. Text files are
sent as the Brotli or gzip copies the build makes, as CloudFront compresses them."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote

from sanic import Request
from sanic.response import HTTPResponse, file

from petshore.errors import NotFound

IMMUTABLE_DIR = "assets"
# Preferred first: what a browser accepts and the build made a copy in.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def _accepted(request: Request) -> set[str]:
    header = request.headers.get("Accept-Encoding", "")
    return {part.split(";")[0].strip().lower() for part in header.split(",")}


async def serve(root: Path, request: Request) -> HTTPResponse:
    root = root.resolve()
    relative = unquote(request.path).lstrip("/") or "index.html"
    target = root / relative
    try:
        target = target.resolve()
        found = target.is_file()
    except (ValueError, OSError):
        # A NUL byte (%00) or a name too long for the file system: no file has that name
        # (the unresolved target is never opened, only index.html may be served instead).
        found = False
    if not target.is_relative_to(root):
        raise NotFound("no such file")
    if not found:
        # Client-side routes (/product/X) are pages of the single-page app.
        if "." in Path(relative).name:
            raise NotFound("no such file")
        target = root / "index.html"
        if not target.is_file():
            raise NotFound("the storefront has not been built (make build)")
    immutable = target.parent.name == IMMUTABLE_DIR
    headers = {
        "cache-control": "public, max-age=31536000, immutable" if immutable else "no-cache",
        "vary": "Accept-Encoding",
    }
    accepted = _accepted(request)
    body = target
    for encoding, suffix in ENCODINGS:
        candidate = target.with_name(target.name + suffix)
        if encoding in accepted and candidate.is_file():
            body = candidate
            headers["content-encoding"] = encoding
            break
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return await file(body, headers=headers, mime_type=mime, request_headers=request.headers)
