from __future__ import annotations

import json
from typing import Any

import pytest

from templates.stack import build_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The stack as build.py writes it."""
    return dict(json.loads(build_template().to_json()))
