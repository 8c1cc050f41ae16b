"""Each component's README lists exactly the environment variables its code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from petshore.contract import SERVICES, Env

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "petshore" / "settings.py"
SERVER = ROOT / "petshore" / "cli.py"  # what every HTTP server reads
COMPONENTS: dict[str, tuple[Path, ...]] = {
    **{s.name: (ROOT / "services" / s.name, SERVER) for s in SERVICES},
    "gateway": (ROOT / "gateway", SERVER),
    "modelworker": (ROOT / "modelworker",),
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
    folder, *common = COMPONENTS[name]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", (folder / "README.md").read_text(), re.M))
    assert documented == read_variables(folder / "settings.py", SETTINGS, *common)
