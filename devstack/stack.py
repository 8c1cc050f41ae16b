"""The whole storefront as child processes: every service of the routing table (with the
workers that run beside it), the model worker and the gateway, their stores prepared
(schemas migrated, the emulator's bucket, tables, queues and sender made, demo catalog loaded
and its models published)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devstack.emulator import Emulator
from devstack.processes import Processes, free_port, run_command
from petshore.contract import CATALOG, MODEL_WORKER, SERVICES, Env
from petshore.demo import DEMO_FILE, DemoUpload

LOCAL_MAIL_SENDER = "orders@petshore.example"
# The demo's models go through the model worker one at a time: the largest takes a minute
# on a 2-core machine, all of them a few.
DEMO_MODELS_SECONDS = 600.0


def sqlite_databases(var: Path) -> dict[str, str]:
    """A SQLite file in `var` for each service that owns a database."""
    return {s.name: f"sqlite://{var}/{s.name}.sqlite3" for s in SERVICES if s.database}


@dataclass
class StackConfig:
    database_urls: dict[str, str]  # by service name, for each service that owns a database
    aws_endpoint_url: str | None
    admin_token: str
    gateway_port: int
    log_dir: Path
    environment: str = "local"
    # One port per instance: the gateway balances across all of a service's instances.
    service_ports: dict[str, list[int]] = field(
        default_factory=lambda: {s.name: [s.port] for s in SERVICES}
    )
    load_demo: bool = True
    demo_file: Path = DEMO_FILE
    static_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes = Processes(config.log_dir)
        self.urls: dict[str, list[str]] = {}
        self.demo_uploads: list[DemoUpload] = []  # the models and photos being published

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def env(self) -> dict[str, str]:
        c = self.config
        env = dict(os.environ)
        if c.aws_endpoint_url:
            env.update(
                {
                    Env.AWS_ENDPOINT_URL: c.aws_endpoint_url,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                }
            )
        env.setdefault(Env.AWS_REGION, "us-east-1")
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                Env.ENVIRONMENT: c.environment,
                Env.ADMIN_TOKEN: c.admin_token,
                # The emulator verifies this sender (orders' create-sender) and keeps what
                # is sent; on AWS the shop's own verified address.
                Env.MAIL_SENDER: LOCAL_MAIL_SENDER,
                Env.STOREFRONT_URL: self.gateway_url,
            }
        )
        for service in SERVICES:
            env[service.url_variable] = f"http://127.0.0.1:{c.service_ports[service.name][0]}"
            if service.database:
                env[service.database_url_variable] = c.database_urls[service.name]
        env.update(c.extra_env)
        if c.static_dir is not None:
            env[Env.STATIC_DIR] = str(c.static_dir)
        return env

    def prepare(self) -> None:
        """Each entry's stores made (in the emulator, when there is one: on AWS the stack
        makes them), its database migrated and its part of the demo shop loaded, in the
        routing table's order."""
        env = self.env()
        if self.config.aws_endpoint_url:
            for module, commands in (
                *((s.module, s.setup) for s in SERVICES),
                (MODEL_WORKER.module, MODEL_WORKER.setup),
            ):
                for command in commands:
                    run_command(module, command, env)
        for service in (s for s in SERVICES if s.database):
            run_command(service.module, "migrate", env)
        if not self.config.load_demo:
            return
        for service in (s for s in SERVICES if s.demo):
            loaded = run_command(
                service.module, "load-demo", env, "--file", str(self.config.demo_file)
            )
            # A service that sent demo files to the model worker names them, one a line.
            self.demo_uploads += [
                upload for line in loaded.splitlines() if (upload := DemoUpload.from_line(line))
            ]

    def start(self) -> None:
        self.prepare()
        env = self.env()
        for service in SERVICES:
            ports = self.config.service_ports[service.name]
            for i, port in enumerate(ports):
                self.processes.start(
                    f"{service.name}-{i}", service.module, port, env, service.health_path
                )
            self.urls[service.name] = [f"http://127.0.0.1:{p}" for p in ports]
            for command in service.workers:
                self.processes.start(
                    f"{service.name}-{command}", service.module, None, env, command=command
                )
        self.processes.start(MODEL_WORKER.name, MODEL_WORKER.module, None, env, command="work")
        upstreams = ";".join(f"{name}={','.join(urls)}" for name, urls in self.urls.items())
        gateway_env = {**env, Env.GATEWAY_UPSTREAMS: upstreams}
        self.processes.start(
            "gateway", "gateway", self.config.gateway_port, gateway_env, CATALOG.health_path
        )
        self.processes.wait_healthy()
        if self.config.load_demo:
            self.wait_for_demo_models()

    def wait_for_demo_models(self, timeout: float = DEMO_MODELS_SECONDS) -> None:
        """Until the model worker has published every demo model and photo it was sent; a
        file it refused stops the start, saying why."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.config.admin_token}"}
        with httpx.Client(base_url=self.gateway_url, timeout=10, headers=headers) as client:
            for sent in self.demo_uploads:
                path = sent.status_path(CATALOG.path_prefix)
                what = f"the demo {sent.kind} of {sent.sku}"
                while (upload := client.get(path).json())["status"] == "processing":
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{what} was not published in {timeout:.0f} s; "
                            f"see {self.config.log_dir}/{MODEL_WORKER.name}.log"
                        )
                    time.sleep(0.5)
                if upload["status"] != "done":
                    raise RuntimeError(f"{what} failed: {upload['error']}")

    def stop(self) -> None:
        self.processes.stop()


@contextmanager
def embedded_stack(var: Path, admin_token: str, **config: Any) -> Iterator[Stack]:
    """The storefront on SQLite and the embedded emulator, kept in `var`, on free ports: for
    benchmarks, which start their own and leave nothing behind."""
    emulator = Emulator(var / "emulator")
    emulator.start()
    stack = Stack(
        StackConfig(
            database_urls=sqlite_databases(var),
            aws_endpoint_url=emulator.url,
            admin_token=admin_token,
            gateway_port=free_port(),
            log_dir=var / "log",
            environment="bench",
            service_ports={s.name: [free_port()] for s in SERVICES},
            **config,
        )
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        emulator.stop()
