"""The published files (`/models/*`, `/media/*`: each path is its key) from the S3 bucket, as
CloudFront serves them: immutable caching, ETag and conditional requests, byte ranges."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError
from sanic import Request
from sanic.response import HTTPResponse, empty

from petshore.contract import MODEL_CACHE_CONTROL, PUBLISHED_KEY_PREFIXES
from petshore.errors import NotFound, RangeNotSatisfiable

_PREFIXES = "|".join(re.escape(prefix) for prefix in PUBLISHED_KEY_PREFIXES)
_KEY = re.compile(rf"^(?:{_PREFIXES})[A-Za-z0-9._/-]{{1,500}}$")
_CHUNK = 256 * 1024
_PASSED_ON = ("ContentType", "ContentLength", "ContentRange", "ETag", "LastModified")


def _headers(obj: dict[str, Any]) -> dict[str, str]:
    headers = {
        "Cache-Control": MODEL_CACHE_CONTROL,
        "Accept-Ranges": "bytes",
        "Content-Type": obj.get("ContentType") or "application/octet-stream",
    }
    if obj.get("ETag"):
        headers["ETag"] = obj["ETag"]
    if obj.get("LastModified"):
        headers["Last-Modified"] = obj["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
    if obj.get("ContentRange"):
        headers["Content-Range"] = obj["ContentRange"]
    if obj.get("ContentLength") is not None:
        headers["Content-Length"] = str(obj["ContentLength"])
    return headers


def _ascii(request: Request, name: str) -> str | None:
    """A conditional header S3 can read. Any other value matches no ETag and is no byte
    range, so S3 ignores it and answers the whole file; the SDK could not even send it."""
    value = request.headers.get(name, "")
    return value if value.isascii() and value.isprintable() else None


async def serve(s3: Any, bucket: str, request: Request) -> HTTPResponse | None:
    """A published file: a HEAD's answer is returned, a GET's streamed (and None returned)."""
    key = unquote(request.path).lstrip("/")
    if ".." in key.split("/") or not _KEY.match(key):
        raise NotFound("no such file")
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if_none_match, byte_range = _ascii(request, "If-None-Match"), _ascii(request, "Range")
    if if_none_match:
        params["IfNoneMatch"] = if_none_match
    if byte_range:
        params["Range"] = byte_range
    fetch = s3.head_object if request.method == "HEAD" else s3.get_object
    try:
        obj = await fetch(**params)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "304" or status == 304:
            return empty(
                status=304,
                headers={
                    "Cache-Control": MODEL_CACHE_CONTROL,
                    "ETag": if_none_match,
                },
            )
        if code in ("InvalidRange", "416") or status == 416:
            raise RangeNotSatisfiable("the requested range is outside the file") from exc
        if code in ("NoSuchKey", "404", "NotFound") or status == 404:
            raise NotFound("no such file") from exc
        raise
    status = 206 if obj.get("ContentRange") else 200
    if request.method == "HEAD":
        return empty(status=status, headers=_headers(obj))
    response = await request.respond(status=status, headers=_headers(obj))
    body = obj["Body"]
    try:
        if response is not None:
            while chunk := await body.read(_CHUNK):
                await response.send(chunk)
            await response.eof()
    finally:
        body.close()
    return None
