from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.faultstack import FaultStack, fault_stack


@pytest.fixture(scope="module")
def faults(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with fault_stack(moto_url, tmp_path_factory.mktemp("fault-logs")) as running:
        yield running
