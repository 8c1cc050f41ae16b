"""Starting the services and the gateway as child processes and waiting until they answer."""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from petshore.lifeline import end_with_parent

ROOT = Path(__file__).resolve().parent.parent
# It is the forking thread's end that counts, not the process's: children are forked from
# this one thread, which lasts as long as the process (a caller's worker thread may not).
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devstack-spawner")


def run_command(module: str, command: str, env: Mapping[str, str], *args: str) -> str:
    """Run `python -m <module> <command> [args]` to completion; its output, or an error."""
    done = subprocess.run(
        [sys.executable, "-m", module, command, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {command} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Child:
    name: str
    url: str | None  # None: serves no HTTP (the model worker)
    health_path: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Processes:
    """Children started in order and stopped in reverse order."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        module: str,
        port: int | None,
        env: Mapping[str, str],
        health_path: str = "",
        command: str = "serve",
    ) -> Child:
        """`python -m <module> <command>`; serving HTTP on `port`, healthy once `health_path`
        answers 200 there, or, without a port, once it runs."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        child_env = {**env, "PETSHORE_HOST": "127.0.0.1", "PETSHORE_PORT": str(port or "")}
        with log_path.open("ab") as log:
            process = _spawner.submit(
                subprocess.Popen,
                [sys.executable, "-m", module, command],
                cwd=ROOT,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops children
                # SIGKILL rather than SIGTERM: nobody is left to insist if a graceful stop
                # hangs (one did, waiting on SQLite's threads), and nothing is lost, as SQLite
                # survives a kill and the emulator's state went with the launcher.
                preexec_fn=end_with_parent(signal.SIGKILL),
            ).result()
        url = f"http://127.0.0.1:{port}" if port else None
        child = Child(name, url, health_path, process, log_path)
        self.children.append(child)
        return child

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for child in self.children:
            while True:
                if child.process.poll() is not None:
                    raise RuntimeError(
                        f"{child.name} exited with {child.process.returncode}; "
                        f"its log:\n{child.log_path.read_text()[-4000:]}"
                    )
                if child.url is None:
                    break
                try:
                    if httpx.get(child.url + child.health_path, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name} did not become healthy; see {child.log_path}")
                time.sleep(0.1)

    def stop(self, child: Child | None = None) -> None:
        for c in reversed(self.children) if child is None else [child]:
            if c.process.poll() is None:
                c.process.send_signal(signal.SIGTERM)
        for c in reversed(self.children) if child is None else [child]:
            wait_or_kill(c.process, 15)
        if child is None:
            self.children.clear()
        else:
            self.children.remove(child)


def wait_or_kill(process: subprocess.Popen[bytes], grace: float) -> None:
    """Wait for a process told to stop; kill it once it has not in `grace` seconds."""
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def port_in_use(port: int) -> bool:
    """Whether a server already listens on `port` of 127.0.0.1, where the children listen."""
    with socket.socket() as s:
        # As the servers bind: a port left in TIME_WAIT by a stopped one is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
