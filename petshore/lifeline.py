"""Child processes that end with the process that started them, however it ends."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

# prctl(2): the signal the kernel sends a process when the thread that started it ends.
_PR_SET_PDEATHSIG = 1
# Looked up before any fork: the child may only call it, not load anything.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def end_with_parent(signum: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn`, run in the child between fork and exec: the kernel sends it `signum`
    when the thread that started it ends, even when that is killed outright (SIGKILL) and
    cannot stop its children itself. It is the thread's end that counts, not the process's:
    start children from a thread that lasts as long as the process. A child whose parent
    ended before it asked is sent `signum` at once."""
    parent = os.getpid()

    def arrange() -> None:
        _prctl(_PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent:
            os.kill(os.getpid(), signum)

    return arrange
