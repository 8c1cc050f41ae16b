"""PETSHORE_WORKERS: one process locally, a given number, or one per vCPU on an instance."""

from __future__ import annotations

import pytest

from petshore.cli import worker_count
from petshore.contract import Env
from petshore.settings import SettingsError


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 1), ("", 1), ("1", 1), ("3", 3), (" 4 ", 4)]
)
def test_a_number_or_nothing(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv(Env.WORKERS, raising=False)
    else:
        monkeypatch.setenv(Env.WORKERS, value)
    assert worker_count() == expected


@pytest.mark.parametrize("value", ["auto", "AUTO"])
def test_auto_is_one_per_vcpu(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(Env.WORKERS, value)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert worker_count() == 2


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "²", "auto2"])
def test_anything_else_stops_the_service(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(Env.WORKERS, value)
    with pytest.raises(SettingsError, match=Env.WORKERS):
        worker_count()
