"""A PostgreSQL server of one's own, made with the installed server's binaries on a free port:
for fault tests and benchmarks that stop and start the database under load, which they may
not do to the machine's shared server."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

import asyncpg

from devstack.processes import free_port

SERVER_BINARIES = Path("/usr/lib/postgresql")


def _bin_dir() -> Path:
    versions = sorted(SERVER_BINARIES.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError(
            "no PostgreSQL server binaries under /usr/lib/postgresql (make test installs them)"
        )
    return versions[-1].parent


class PostgresCluster:
    """`initdb` into a folder of its own, then started, stopped (as a crash or a restart
    would) and removed. PostgreSQL refuses to run as root, so as root it runs as `postgres`."""

    def __init__(self, settings: tuple[str, ...] = ()) -> None:
        """`settings`: more of the server's `-c name=value` settings."""
        self.settings = settings
        self.bin = _bin_dir()
        self.port = free_port()
        # Under /tmp rather than pytest's folders: the `postgres` user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="petshore-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr}{done.stdout}{log}")

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        # fsync off: a stopped server here is a stopped process, never a lost machine.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=200"
        ) + "".join(f" -c {setting}" for setting in self.settings)
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` is an orderly shutdown that ends every session; `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_databases(self, *names: str) -> None:
        async def create() -> None:
            conn = await asyncpg.connect(self.url())
            try:
                for name in names:
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with suppress(RuntimeError):  # it was not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
