"""Each component's README lists exactly the environment variables its code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from petshore.contract import Env

ROOT = Path(__file__).resolve().parents[2]
COMMON = [ROOT / "petshore" / "settings.py", ROOT / "petshore" / "cli.py"]
COMPONENTS = {
    "catalog": ROOT / "services" / "catalog",
    "cart": ROOT / "services" / "cart",
    "orders": ROOT / "services" / "orders",
    "gateway": ROOT / "gateway",
}


def read_variables(*sources: Path) -> set[str]:
    names = set()
    for source in sources:
        text = source.read_text()
        names |= {getattr(Env, attr) for attr in re.findall(r"\bEnv\.([A-Z_]+)\b", text)}
        names |= set(re.findall(r"env_(?:str|int|float)\(\"([A-Z_]+)\"", text))
    return names


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_readme_lists_what_the_settings_read(name: str) -> None:
    folder = COMPONENTS[name]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", (folder / "README.md").read_text(), re.M))
    assert documented == read_variables(folder / "settings.py", *COMMON)
