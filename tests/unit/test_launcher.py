"""`make run` names a port something else holds, in one sentence, before it starts anything."""

from __future__ import annotations

import socket

import pytest

import devstack.__main__ as launcher
from devstack.processes import free_port, port_in_use
from petshore.contract import CART


def test_a_listening_port_is_in_use_and_a_closed_one_is_not() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        assert port_in_use(listening.getsockname()[1])
    assert not port_in_use(free_port())


def test_a_service_port_in_use_is_named_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "port_in_use", lambda port: port == CART.port)
    message = launcher.taken_port(8080)
    assert message is not None
    assert message.startswith(f"Port {CART.port}, which the cart service needs, is already in use")
    assert "make run" in message and message.count(".") == 1 and message.endswith(".")
    monkeypatch.setattr(launcher, "port_in_use", lambda port: False)
    assert launcher.taken_port(8080) is None
