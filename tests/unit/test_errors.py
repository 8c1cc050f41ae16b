from __future__ import annotations

import asyncpg
import pytest
from sanic.exceptions import NotFound as SanicNotFound
from sanic.exceptions import PayloadTooLarge, RequestCancelled
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError

from petshore.db import DATABASE_ERRORS
from petshore.errors import OutOfStock, as_api_error


def test_every_error_maps_to_a_contract_code() -> None:
    assert as_api_error(SanicNotFound("x")).code == "not_found"
    assert as_api_error(PayloadTooLarge("x")).status_code == 413
    assert as_api_error(ConnectionRefusedError()).code == "unavailable"
    assert as_api_error(KeyError("boom")).status_code == 500
    stock = OutOfStock("none left", {"skus": ["A-1"]})
    assert (stock.status_code, stock.code) == (409, "out_of_stock")
    assert as_api_error(stock) is stock


@pytest.mark.parametrize(
    "raised",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InternalClientError("cannot switch to state 15"),
        DBConnectionError("pool is closed"),
        OperationalError("could not serialize access"),
        TransactionManagementError("transaction already finalised"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_database_going_away_is_a_503_not_a_500(raised: Exception) -> None:
    """What PostgreSQL stopped mid-load raised through Tortoise and straight from asyncpg
    (seen in tests/faults and bench/faults.py)."""
    error = as_api_error(raised, DATABASE_ERRORS)
    assert (error.status_code, error.code) == (503, "unavailable")


def test_a_client_that_hung_up_is_logged_as_499() -> None:
    assert as_api_error(RequestCancelled()).status_code == 499
