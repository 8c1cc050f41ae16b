"""Log lines never carry a cart's id (its only credential) or an order's id in full, and are
written in batches that lose nothing."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import pytest

from petshore.logs import (
    FLUSH_SECONDS,
    BatchedStreamHandler,
    JsonFormatter,
    redact,
    redact_paths,
)

CART_ID = "q7Xk2mPzR9vL4tY8wN1cBd"  # as services/cart/rules.new_cart_id makes them
ORDER_ID = "ord_Hs83JdkQ0pLmZx1Vb7TnRw"


def test_an_id_keeps_only_its_first_characters() -> None:
    assert redact(CART_ID) == "q7Xk…"
    assert redact(ORDER_ID) == "ord_Hs83…"  # the type prefix alone would tell orders apart
    assert redact("ab") == "ab…"


def test_ids_in_cart_and_order_paths_are_redacted_wherever_they_appear() -> None:
    assert redact_paths(f"/api/cart/carts/{CART_ID}") == "/api/cart/carts/q7Xk…"
    assert (
        redact_paths(f"PUT http://127.0.0.1:8082/api/cart/carts/{CART_ID}/items/PS-TOY-0001 ok")
        == "PUT http://127.0.0.1:8082/api/cart/carts/q7Xk…/items/PS-TOY-0001 ok"
    )
    assert redact_paths(f"/api/orders/orders/{ORDER_ID}?x=1") == "/api/orders/orders/ord_Hs83…?x=1"
    assert redact_paths(f"https://shop.example/order/{ORDER_ID}") == (
        "https://shop.example/order/ord_Hs83…"
    )
    for untouched in ("/api/cart/carts", "/api/orders/orders", "/api/catalog/products/PS-1"):
        assert redact_paths(untouched) == untouched


@pytest.mark.parametrize(
    "spelling",
    ["/api/cart/./carts/", "//api//cart//carts/", "/api/cart/%2e/carts/", "/api/cart/.//./carts/"],
)
def test_a_cart_path_spelt_otherwise_is_redacted_too(spelling: str) -> None:
    """Spellings a proxy passes on as sent, which a service then logs as it got them."""
    assert redact_paths(f"GET {spelling}{CART_ID}/items") == f"GET {spelling}q7Xk…/items"


def _line(record: logging.LogRecord) -> str:
    return JsonFormatter("test").format(record)


def test_the_formatter_redacts_messages_fields_and_tracebacks() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: GET %s",
        (f"/api/cart/carts/{CART_ID}",),
        None,
    )
    record.path = f'/api/orders/orders/{ORDER_ID}"quoted\\'
    try:
        raise ValueError(f"no cart at /api/cart/carts/{CART_ID}")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = _line(record)
    assert CART_ID not in line and ORDER_ID not in line
    entry = json.loads(line)  # redaction keeps the JSON whole
    assert entry["message"] == "HTTP Request: GET /api/cart/carts/q7Xk…"
    assert entry["path"] == '/api/orders/orders/ord_Hs83…"quoted\\'
    assert "/api/cart/carts/q7Xk…" in entry["exception"]


def test_each_line_has_its_own_moment_and_every_character_survives() -> None:
    formatter = JsonFormatter("test")
    entries = []
    for created, message in ((1000.5, "é / ü"), (1000.75, "line\nbreak"), (1001.25, "later")):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, message, (), None)
        record.created, record.msecs = created, (created % 1) * 1000
        line = formatter.format(record)
        assert "\n" not in line and line.isascii()  # one ASCII line however odd the text
        entries.append(json.loads(line))
    assert [e["ts"] for e in entries] == [
        "1970-01-01T00:16:40.500Z",
        "1970-01-01T00:16:40.750Z",
        "1970-01-01T00:16:41.250Z",
    ]
    assert [e["message"] for e in entries] == ["é / ü", "line\nbreak", "later"]


class CountedWrites(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _logger(stream: CountedWrites) -> tuple[logging.Logger, BatchedStreamHandler]:
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.Logger("batched")
    logger.addHandler(handler)
    return logger, handler


def test_info_lines_go_out_together_within_the_flush_interval() -> None:
    stream = CountedWrites()
    logger, handler = _logger(stream)
    try:
        for n in range(10):
            logger.info("line %d", n)
        deadline = time.monotonic() + FLUSH_SECONDS * 20
        while stream.getvalue().count("\n") < 10 and time.monotonic() < deadline:
            time.sleep(FLUSH_SECONDS / 4)
        assert stream.getvalue().splitlines() == [f"INFO line {n}" for n in range(10)]
        assert stream.writes < 10
    finally:
        handler.close()


def test_a_warning_goes_out_at_once_with_the_lines_before_it() -> None:
    stream = CountedWrites()
    logger, handler = _logger(stream)
    try:
        logger.info("before")
        logger.warning("trouble")
        assert stream.getvalue().splitlines() == ["INFO before", "WARNING trouble"]
    finally:
        handler.close()


def test_closing_writes_what_is_left() -> None:
    stream = CountedWrites()
    logger, handler = _logger(stream)
    logger.info("last words")
    handler.close()
    assert stream.getvalue() == "INFO last words\n"


class Full(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_log_that_cannot_be_written_never_stops_whoever_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = BatchedStreamHandler(Full())
    logger = logging.Logger("full")
    logger.addHandler(handler)
    try:
        logger.warning("disk full")  # written at once: and lost, without raising
        logger.info("still working")
    finally:
        handler.close()
    assert "1 log lines lost" in capsys.readouterr().err
