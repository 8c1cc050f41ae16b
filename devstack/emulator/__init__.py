"""The AWS emulator: moto's server, spoken to over HTTP, with each service's requests run one at
a time so that DynamoDB's conditions hold (wsgi.py). `make run` embeds it on a thread; the tests
run it as a process of its own (`python -m devstack.emulator`).

moto keeps its state in memory. Given a state directory, the emulator loads it on start and,
a fraction of a second after each request that changed a bucket, an object or a table, saves
that one thing there (state.py); a clean stop saves whatever is still pending."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from devstack.emulator.outbox import Outbox
from devstack.emulator.state import Persistence
from devstack.emulator.wsgi import SerialisedMoto
from devstack.processes import free_port, wait_or_kill


class Emulator:
    """Without a state directory nothing is kept. Without a port, any free one. With an
    outbox folder, each email sent is written there (outbox.py)."""

    def __init__(
        self,
        state_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        outbox: Path | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        # A state directory is read and written through a port of its own, so it is loaded
        # before the emulator answers anyone else, and what they changed last is saved after
        # it has stopped answering them.
        self._persistence: tuple[Persistence, _Server] | None = None
        mail = Outbox(outbox) if outbox else None
        if state_dir is None:
            app = SerialisedMoto(outbox=mail)
        else:
            internal_port = free_port()
            persistence = Persistence(state_dir, f"http://127.0.0.1:{internal_port}")
            app = SerialisedMoto(on_change=persistence.mark, outbox=mail)
            self._persistence = (persistence, _Server("127.0.0.1", internal_port, app))
        self._public = _Server(host, self.port, app)

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self._persistence is not None:
            persistence, internal = self._persistence
            internal.start()
            persistence.start()
        self._public.start()

    def stop(self) -> None:
        self._public.stop()
        if self._persistence is not None:
            persistence, internal = self._persistence
            persistence.stop()
            internal.stop()


class _Server:
    def __init__(self, host: str, port: int, app: SerialisedMoto) -> None:
        self._server = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def emulator_process(log: Path, outbox: Path | None = None) -> Iterator[str]:
    """The emulator as a process of its own, keeping nothing, for tests and benchmarks whose
    own process is busy (a load generator would share a thread's interpreter lock with it);
    its URL once it answers."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(["--outbox", str(outbox)] if outbox else []),
            ],
            cwd=Path(__file__).resolve().parents[2],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the emulator did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        # Seen after a benchmark's heaviest run: a request thread still busy kept the server
        # from stopping, and it keeps nothing anyway.
        wait_or_kill(process, 10)
