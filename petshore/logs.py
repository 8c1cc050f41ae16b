"""Structured JSON logs, one object per line, each carrying the request id it belongs to.

A cart's id is the only credential its shopper has, and an order's id reveals an order: no log
line carries either in full, only enough of it to tell lines about one cart apart."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import threading
import time
from typing import Any

import ujson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# Enough of an id to tell the lines about one cart apart, far too little to use it: 4 of an
# id's 22 random characters leave 104 of its 128 bits unknown.
REDACTED_KEEP = 4
# A type prefix (`ord_`) is kept on top, or every order would show as the same `ord_…`.
TYPE_PREFIX = re.compile(r"[a-z]{2,4}_")
# The paths whose next segment is a cart's or an order's id (docs/api.md), and the
# storefront's page of an order. They turn up in access logs, in the URLs httpx and Sanic log
# and in exception messages, so the formatter redacts them in every line it writes; a
# backslash ends the id so JSON escapes stay whole.
SECRET_PATHS = ("/api/cart/carts/", "/api/orders/orders/", "/order/")
# Between their segments, what a client may send and a proxy (nginx, the ALB) passes on as
# it is: repeated slashes and `.` segments, plain or percent-encoded.
_SEPARATOR = r"/(?:(?:\.|%2[eE])?/)*"
_SECRET_SEGMENT = re.compile(
    "("
    + "|".join(_SEPARATOR.join(map(re.escape, path.split("/"))) for path in SECRET_PATHS)
    + r")([^/?#\s\"'\\]+)"
)


def redact(secret: str) -> str:
    """What a log may show of an id that grants access: its first few characters."""
    prefix = TYPE_PREFIX.match(secret)
    return secret[: (prefix.end() if prefix else 0) + REDACTED_KEEP] + "…"


def redact_paths(text: str) -> str:
    """`text` with the id in every cart or order path it contains redacted."""
    # Every secret path names carts or orders: most lines (the catalog's) skip the search.
    if "cart" not in text and "order" not in text:
        return text
    return _SECRET_SEGMENT.sub(lambda m: m.group(1) + redact(m.group(2)), text)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        # The last second formatted: a busy service logs many lines in each.
        self._second = -1
        self._second_text = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
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
        # As json.dumps would write it, ASCII only, but compact, and a third of its CPU.
        return redact_paths(ujson.dumps(entry, default=str, escape_forward_slashes=False))


# How long an info line may wait to be written with others.
FLUSH_SECONDS = 0.2
BATCH_LINES = 64


class BatchedStreamHandler(logging.StreamHandler):
    """Lines written many at a time: one write per line (an access line per request) cost a
    busy service a tenth of its CPU (bench/http_load.py). A warning or worse goes out at once,
    with every line before it; the others within FLUSH_SECONDS, and when logging shuts down."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._flush_often, name="log-flush", daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or len(self._lines) >= BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self._lines = self._lines, []
            try:
                if lines:
                    self.stream.write("\n".join(lines) + "\n")
                super().flush()
            except Exception as exc:
                # A full disk costs these lines, never the work of whoever logged them.
                if lines:
                    with contextlib.suppress(Exception):
                        sys.stderr.write(f"{len(lines)} log lines lost: {exc!r}\n")

    def close(self) -> None:
        self._stopping.set()
        # Not writing any more when the interpreter shuts down: a daemon thread caught
        # holding the stream's lock then would stop the process with an error.
        if self._flusher is not threading.current_thread():
            self._flusher.join(timeout=1)
        self.flush()
        super().close()

    def _flush_often(self) -> None:
        while not self._stopping.wait(FLUSH_SECONDS):
            self.flush()


def configure_logging(service: str, level: str) -> None:
    # Nothing the JSON lines show: where each call was made from, its thread, process or task
    # (the logging HOWTO's "Optimization": each costs every record some CPU).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.logAsyncioTasks = False
    handler = BatchedStreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for replaced in root.handlers:
        replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Sanic's own loggers write plain text to their own handlers; send them through ours.
    for name in ("sanic.root", "sanic.error", "sanic.server", "sanic.websockets"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("sanic.access").disabled = True
