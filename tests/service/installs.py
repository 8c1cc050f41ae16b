"""Unpacking the artifact and installing from it as an instance does (templates/userdata.py,
deploy/boot.sh), on this machine: for tests/service/test_artifact.py and bench/artifact.py."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from templates.artifact import NODE_MODULES, WHEELS
from templates.dependencies import COMMON, SERVICES_LOCK

# `uname -m`, as boot.sh picks the artifact's wheels and node_modules.
ARCH = platform.machine()


def unpack(artifact: Path, into: Path) -> Path:
    subprocess.run(["tar", "-xzf", str(artifact), "-C", str(into)], check=True)
    return into


def make_venv(venv: Path) -> Path:
    """A clean virtualenv of this machine's python3.11 (the interpreter the artifact's wheels
    are for): nothing in it but the pip that Python ships."""
    python = shutil.which("python3.11")
    assert python, "the artifact's wheels are for CPython 3.11: install python3.11"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    return venv / "bin" / "python"


def install(app: Path, python: Path, home: Path, lock: str = SERVICES_LOCK.name) -> None:
    """boot.sh's `pip install` of `lock` (a service's; the model worker's is
    requirements-modelworker.lock), with none of this machine's pip settings (indexes,
    find-links, constraints): only the artifact may provide the packages."""
    wheels = app / WHEELS
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "--quiet", "--no-index"),
            *("--find-links", str(wheels / COMMON), "--find-links", str(wheels / ARCH)),
            *("-r", str(app / lock)),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def node_modules(app: Path, into: Path) -> Path:
    """The pipeline's node_modules as boot.sh puts them together for the model worker."""
    into.mkdir(parents=True, exist_ok=True)
    layers = [app / NODE_MODULES / COMMON, app / NODE_MODULES / ARCH]
    subprocess.run(["cp", "-a", *(f"{layer}/." for layer in layers), str(into)], check=True)
    return into
