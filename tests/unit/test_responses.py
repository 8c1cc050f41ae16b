"""The services' JSON answers send the headers Sanic's would: CR, LF and NUL taken out of
every name and value, everything else as it is."""

from __future__ import annotations

import pytest
from sanic.response import JSONResponse

from petshore.responses import JSONAnswer, json

VALUES = [
    "public, max-age=60",
    '"3f2a"',
    "text/plain; charset=utf-8",
    "a\r\nSet-Cookie: stolen=1",
    "nul\x00inside",
    "tab\tinside",
    "line\u2028separator",
    "next\x85line",
    "lone \udcff surrogate",
    "non-ASCII é ✓",
    "\n",
    "",
]


@pytest.mark.parametrize("value", VALUES)
def test_a_header_is_sent_as_sanic_sends_it(value: str) -> None:
    headers = {"X-Test": value}
    if value.isascii():
        headers[f"X-Name-{value}"] = "1"
    ours = list(json({}, headers=headers).processed_headers)
    sanics = list(JSONResponse({}, headers=headers).processed_headers)
    assert ours == sanics


def test_no_line_break_or_nul_reaches_the_wire() -> None:
    answer = json({}, headers={"X-Test": "a\r\nb\x00c"})
    assert (b"X-Test", b"abc") in list(answer.processed_headers)
    assert isinstance(answer, JSONAnswer)
    assert answer.body == b"{}"
