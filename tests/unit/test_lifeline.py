"""A child started with `end_with_parent` ends when its parent is killed outright, which
leaves the parent no chance to stop it (the gateway's nginx, `make run`'s services)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A parent that starts a long sleep, says its pid, and waits to be killed.
PARENT = """
import signal, subprocess, sys, time
from petshore.lifeline import end_with_parent
arrange = end_with_parent(signal.SIGTERM) if sys.argv[1] == "lifeline" else None
child = subprocess.Popen(["sleep", "60"], preexec_fn=arrange)
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    """Running (not ended, nor a zombie waiting for whoever adopted it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _orphan(mode: str) -> tuple[int, bool]:
    """The child's pid, and whether it was still running a while after its parent's kill."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, _alive(child)


@pytest.mark.parametrize("mode", ["lifeline", "none"])
def test_a_child_ends_with_a_parent_killed_outright_only_with_its_lifeline(mode: str) -> None:
    child, alive = _orphan(mode)
    try:
        assert alive == (mode == "none")
    finally:
        if alive:
            os.kill(child, signal.SIGKILL)
