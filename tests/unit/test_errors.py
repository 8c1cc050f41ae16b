from __future__ import annotations

from sanic.exceptions import NotFound as SanicNotFound
from sanic.exceptions import PayloadTooLarge

from petshore.errors import OutOfStock, as_api_error


def test_every_error_maps_to_a_contract_code() -> None:
    assert as_api_error(SanicNotFound("x")).code == "not_found"
    assert as_api_error(PayloadTooLarge("x")).status_code == 413
    assert as_api_error(ConnectionRefusedError()).code == "unavailable"
    assert as_api_error(KeyError("boom")).status_code == 500
    stock = OutOfStock("none left", {"skus": ["A-1"]})
    assert (stock.status_code, stock.code) == (409, "out_of_stock")
    assert as_api_error(stock) is stock
