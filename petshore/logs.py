"""Structured JSON logs, one object per line, each carrying the request id it belongs to.

A cart's id is the only credential its shopper has, and an order's id reveals an order: no log
line carries either in full, only enough of it to tell lines about one cart apart."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# Enough of an id to tell the lines about one cart apart, far too little to use it: 4 of an
# id's 22 random characters leave 104 of its 128 bits unknown.
REDACTED_KEEP = 4
# A type prefix (`ord_`) is kept on top, or every order would show as the same `ord_…`.
_TYPE_PREFIX = re.compile(r"[a-z]{2,4}_")
# The paths whose next segment is a cart's or an order's id (docs/api.md). They turn up in
# access logs, in the URLs httpx and Sanic log and in exception messages, so the formatter
# redacts them in every line it writes; a backslash ends the id so JSON escapes stay whole.
_SECRET_SEGMENT = re.compile(r"(/api/cart/carts/|/api/orders/orders/)([^/?#\s\"'\\]+)")


def redact(secret: str) -> str:
    """What a log may show of an id that grants access: its first few characters."""
    prefix = _TYPE_PREFIX.match(secret)
    return secret[: (prefix.end() if prefix else 0) + REDACTED_KEEP] + "…"


def redact_paths(text: str) -> str:
    """`text` with the id in every cart or order path it contains redacted."""
    return _SECRET_SEGMENT.sub(lambda m: m.group(1) + redact(m.group(2)), text)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact_paths(json.dumps(entry, default=str))


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Sanic's own loggers write plain text to their own handlers; send them through ours.
    for name in ("sanic.root", "sanic.error", "sanic.server", "sanic.websockets"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("sanic.access").disabled = True
