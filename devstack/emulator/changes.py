"""What a request that succeeded changed, in the units the state directory saves: one S3
object, one bucket's existence, one DynamoDB table, or every table of a region when a request
does not say which (PartiQL statements, tagging by ARN)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment
from xml.etree import ElementTree


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str


@dataclass(frozen=True)
class S3Bucket:
    bucket: str


@dataclass(frozen=True)
class Table:
    region: str
    name: str


@dataclass(frozen=True)
class Tables:
    region: str


Change = S3Object | S3Bucket | Table | Tables

DEFAULT_REGION = "us-east-1"

# Every DynamoDB action but these may change a table (ExecuteStatement too, even for a SELECT).
_DYNAMODB_READS = ("Get", "BatchGet", "TransactGet", "Query", "Scan", "Describe", "List")

# Names and regions become file names, so only what AWS allows is taken (moto checks less):
# none of them then reaches outside its directory or looks like the state directory's own
# dot-files.
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,62}")
_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_REGION = re.compile(r"[a-z0-9-]+")


def changes(service: str, environ: WSGIEnvironment, body: IO[bytes]) -> list[Change]:
    """What the request changed, for one that succeeded; `body` is the request's body."""
    if service == "s3":
        return _s3(environ, body)
    if service == "dynamodb":
        return _dynamodb(environ, body)
    return []


def _s3(environ: WSGIEnvironment, body: IO[bytes]) -> list[Change]:
    method = environ["REQUEST_METHOD"]
    if method not in ("PUT", "POST", "DELETE"):
        return []
    # Path-style addressing, which the SDK uses with the emulator's endpoint (an IP address).
    # WSGI hands the percent-decoded path over as the latin-1 text of its bytes.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    bucket, _, key = path.lstrip("/").partition("/")
    if not _BUCKET.fullmatch(bucket):
        return []
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if key:
        # Starting a multipart upload, uploading a part or aborting leaves the object as it
        # was; only completing one (a POST with its uploadId) changes it.
        if "uploads" in query or ("uploadId" in query and method != "POST"):
            return []
        return [S3Object(bucket, key)]
    if "delete" in query:
        document = ElementTree.fromstring(body.read())
        return [
            S3Object(bucket, element.text or "")
            for element in document.iter()
            if element.tag.rpartition("}")[2] == "Key"
        ]
    # Creating or deleting the bucket, or its configuration, which is not kept. (A browser
    # form POST names its key in the body; nothing here uploads that way.)
    return [S3Bucket(bucket)]


def _dynamodb(environ: WSGIEnvironment, body: IO[bytes]) -> list[Change]:
    action = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    region = _region(environ)
    if action.startswith(_DYNAMODB_READS) or region is None:
        return []
    request = json.loads(body.read() or b"{}")
    names = {request["TableName"]} if "TableName" in request else set()
    names.update(request.get("RequestItems", {}))
    for entry in request.get("TransactItems", []):
        names.update(op["TableName"] for op in entry.values() if "TableName" in op)
    if not names:
        return [Tables(region)]
    # A table may be named by its ARN: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME.
    named = (n.partition(":table/")[2] if n.startswith("arn:") else n for n in names)
    return [Table(region, name) for name in named if _TABLE.fullmatch(name)]


def _region(environ: WSGIEnvironment) -> str | None:
    """The region of the request's SigV4 credential scope, KEY/DATE/REGION/SERVICE/aws4_request."""
    credential = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2]
    scope = credential.split(",")[0].split("/")
    region = scope[2] if len(scope) == 5 else DEFAULT_REGION
    return region if _REGION.fullmatch(region) else None
