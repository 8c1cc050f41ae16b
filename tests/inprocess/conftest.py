"""One service in this process, through Sanic's test client, with its real stores
(PostgreSQL, the emulator over HTTP): a change to one service runs these in seconds, without
the whole stack. Each request runs the app's start and stop listeners, as a server would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sanic import Sanic
from sanic_testing.testing import TestingResponse as Answer

from petshore.contract import Env
from tests.conftest import scratch_database
from tests.helpers import ADMIN_TOKEN

ENVIRONMENT = "inprocess"


@pytest.fixture(scope="module")
def service_env(moto_url: str) -> Iterator[dict[str, str]]:
    """The environment a service's settings are read from, pointing at the emulator; a
    service's tests add their own database."""
    Sanic.test_mode = True  # several apps of one name, one per module
    values = {
        Env.AWS_ENDPOINT_URL: moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        Env.AWS_REGION: "us-east-1",
        Env.ENVIRONMENT: ENVIRONMENT,
        Env.ADMIN_TOKEN: ADMIN_TOKEN,
        Env.LOG_LEVEL: "WARNING",
        # No long polls: each request starts and stops the app's queue reader, and a long poll
        # cut short still takes the next message off the queue, out of sight for a while.
        Env.QUEUE_WAIT_SECONDS: "0",
        Env.MODEL_WAIT_SECONDS: "15",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield values


@pytest.fixture(scope="module")
def own_database() -> Iterator[str]:
    """An empty PostgreSQL database for one module's service."""
    with scratch_database("inprocess") as url:
        yield url


def call(app: Sanic, method: str, path: str, **kwargs: Any) -> Answer:
    """One request through the app in this process (its listeners run around it)."""
    _, response = asyncio.run(getattr(app.asgi_client, method)(path, **kwargs))
    return response
