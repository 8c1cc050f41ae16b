"""The test set of model kinds that break fixed optimisation settings, made in code by
make.mjs (README.md beside it says what each one tests): shared by the browser tests'
fixture and bench/models.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

MAKER = Path(__file__).resolve().parent / "make.mjs"


def make_models(folder: Path, node: str = "node") -> dict[str, Path]:
    """Generate the set into `folder`: each kind's GLB, by kind."""
    made = subprocess.run(
        [node, str(MAKER), str(folder)], check=True, capture_output=True, text=True, timeout=300
    )
    kinds = json.loads(made.stdout.strip().splitlines()[-1])
    return {kind: folder / f"{kind}.glb" for kind in kinds}
