"""Starting the services and the gateway as child processes and waiting until they answer."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


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
    url: str
    health_path: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Processes:
    """Children started in order and stopped in reverse order."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, module: str, port: int, env: Mapping[str, str], health_path: str
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        child_env = {**env, "PETSHORE_HOST": "127.0.0.1", "PETSHORE_PORT": str(port)}
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "serve"],
                cwd=ROOT,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops children
            )
        child = Child(name, f"http://127.0.0.1:{port}", health_path, process, log_path)
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
            try:
                c.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                c.process.kill()
                c.process.wait()
        if child is None:
            self.children.clear()
        else:
            self.children.remove(child)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
