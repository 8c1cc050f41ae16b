"""moto's WSGI application, one request per service at a time; emails it accepted go to an
outbox folder, when given one.

moto checks a condition and then writes in two steps without a lock (DynamoDB's conditional
PutItem reads the item, evaluates the condition, then stores the new one), so two concurrent
conditional writes can both succeed. Reads are no safer beside a write: a Scan or a listing
iterates the dictionaries a write changes. So each service's requests run one at a time; the
services stay independent, so a large model download does not hold up a cart update."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from devstack.emulator.changes import Change, changes
from devstack.emulator.outbox import EMAIL_SERVICES, Outbox

# Bodies up to this size are buffered in memory, larger ones in a temporary file.
_SPOOL_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class SerialisedMoto:
    """`on_change` hears what each successful request changed, once it has changed it."""

    def __init__(
        self,
        on_change: Callable[[list[Change]], None] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self._dispatcher = DomainDispatcherApplication(create_backend_app)
        self._locks: dict[str, threading.Lock] = {}
        self._on_change = on_change
        self._outbox = outbox

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ["REQUEST_METHOD"] == "OPTIONS"
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        ):
            # S3 answers a browser's CORS preflight from the bucket's rules, unsigned: a
            # presigned URL's signature is for the PUT, and moto would check it here too.
            environ["QUERY_STRING"] = ""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
            _buffer_body(environ, body)
            app = self._dispatcher.get_application(environ)
            service: str = app.service
            statuses: list[str] = []

            def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                statuses.append(status)
                return start_response(status, headers, exc_info)

            if _long_polls(service, environ, body):
                return app(environ, recording)
            # setdefault is atomic, so two first requests of a service share one lock.
            with self._locks.setdefault(service, threading.Lock()):
                # moto's responses are whole in memory, so sending one needs no lock.
                response: Iterable[bytes] = app(environ, recording)
            if self._outbox is not None and service in EMAIL_SERVICES:
                self._outbox.collect()
            if self._on_change is not None and statuses[-1].startswith("2"):
                body.seek(0)
                changed = changes(service, environ, body)
                if changed:
                    self._on_change(changed)
            return response


def _buffer_body(environ: WSGIEnvironment, spool: IO[bytes]) -> None:
    """Read the request body into `spool` before any lock is taken (a slow upload then holds
    up nobody), where it can be read again for what the request changed."""
    source = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        while chunk := source.read(_CHUNK):
            spool.write(chunk)
    else:
        # A keep-alive connection has no end of input: read exactly the declared length.
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        while remaining > 0 and (chunk := source.read(min(remaining, _CHUNK))):
            spool.write(chunk)
            remaining -= len(chunk)
    spool.seek(0)
    environ["wsgi.input"] = spool


def _long_polls(service: str, environ: WSGIEnvironment, body: IO[bytes]) -> bool:
    """SQS's ReceiveMessage may wait (long polling) for a message another request sends; under
    the lock it would wait for a request the lock keeps out. It runs beside the others, as
    every request does under moto's own server."""
    if service != "sqs":
        return False
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target == "AmazonSQS.ReceiveMessage"
    # The older query protocol names its action in the query string or the form body (which
    # moto's dispatcher may have read already).
    body.seek(0)
    form = parse_qs(environ.get("QUERY_STRING", "") + "&" + body.read().decode("latin-1"))
    body.seek(0)
    return form.get("Action") == ["ReceiveMessage"]
