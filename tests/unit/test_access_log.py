"""Which requests a service writes an access line for: failures and slow answers always,
others only when told to (PETSHORE_ACCESS_LOG=all), as a real app answers them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from petshore.contract import Env
from petshore.errors import NotFound
from petshore.responses import json
from petshore.settings import CommonSettings, SettingsError
from petshore.web import SLOW_REQUEST_MS, access_level, setup_common


@pytest.mark.parametrize(
    ("status", "ms", "every", "level"),
    [
        (200, 3.0, False, None),
        (304, 3.0, False, None),
        (201, None, False, None),
        (200, 3.0, True, logging.INFO),
        (200, SLOW_REQUEST_MS, False, logging.INFO),
        (400, 3.0, False, logging.INFO),
        (404, 3.0, False, logging.INFO),
        (409, None, False, logging.INFO),
        (500, 3.0, False, logging.ERROR),
        (503, 3.0, True, logging.ERROR),
    ],
)
def test_failures_and_slow_answers_always_others_when_asked(
    status: int, ms: float | None, every: bool, level: int | None
) -> None:
    assert access_level(status, ms, every) == level


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "failures"), ("", "failures"), ("ALL", "all")]
)
def test_the_setting_defaults_to_failures(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    if value is None:
        monkeypatch.delenv(Env.ACCESS_LOG, raising=False)
    else:
        monkeypatch.setenv(Env.ACCESS_LOG, value)
    assert CommonSettings.from_env().access_log == expected


def test_any_other_value_stops_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(Env.ACCESS_LOG, "some")
    with pytest.raises(SettingsError, match=Env.ACCESS_LOG):
        CommonSettings.from_env()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_lines() -> Iterator[Lines]:
    logger = logging.getLogger("petshore.access")
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(logging.NOTSET)


def answered_paths(setting: str, monkeypatch: pytest.MonkeyPatch, lines: Lines) -> list[str]:
    """The paths an app logged, of one that answered `/api/test/ok` and refused
    `/api/test/missing`."""
    monkeypatch.setenv(Env.ACCESS_LOG, setting)
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"access_{setting}")
    setup_common(app, "test", CommonSettings.from_env())

    @app.get("/api/test/ok")
    async def ok(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.get("/api/test/missing")
    async def missing(request: Request) -> HTTPResponse:
        raise NotFound("nothing here")

    for path, status in (("/api/test/ok", 200), ("/api/test/missing", 404)):
        _, answer = asyncio.run(app.asgi_client.get(path))
        assert answer.status == status
        assert answer.headers["X-Request-ID"]
    return [str(getattr(record, "path", "")) for record in lines.records]


def test_by_default_only_the_refused_request_is_logged(
    monkeypatch: pytest.MonkeyPatch, access_lines: Lines
) -> None:
    assert answered_paths("failures", monkeypatch, access_lines) == ["/api/test/missing"]


def test_with_all_every_request_is_logged(
    monkeypatch: pytest.MonkeyPatch, access_lines: Lines
) -> None:
    assert answered_paths("all", monkeypatch, access_lines) == [
        "/api/test/ok",
        "/api/test/missing",
    ]
