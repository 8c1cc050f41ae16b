"""The storefront on dependencies a fault run owns: a PostgreSQL server of its own (to stop
and start), the Stripe-compatible double (to stall), and service processes (to kill and
freeze). The AWS emulator is given; nothing here injects faults into it. Used by the fault
tests and by bench/faults.py."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.postgres import PostgresCluster
from devstack.processes import ROOT, Child, free_port, wait_or_kill
from devstack.stack import Stack, StackConfig
from petshore.contract import ORDERS, SERVICES, Env
from tests.helpers import ADMIN_TOKEN

STRIPE_KEY = "sk_test_faults"
WEBHOOK_SECRET = "whsec_faults"
# Short, so that a fault run sees leases run out and the reconciler act within seconds.
LEASE_SECONDS = 2
RECONCILE_AFTER_SECONDS = 4


@dataclass
class FaultStack:
    stack: Stack
    cluster: PostgresCluster
    payments_url: str

    @property
    def orders_database(self) -> str:
        return self.cluster.url("petshore_orders")

    def child(self, service: str) -> Child:
        return next(c for c in self.stack.processes.children if c.name == f"{service}-0")

    def restart(self, service: str) -> Child:
        """A service killed with SIGKILL, started again on its port."""
        child = self.child(service)
        child.process.kill()
        self.stack.processes.stop(child)
        port = int(child.url.rsplit(":", 1)[1])
        module = {s.name: s for s in SERVICES}[service]
        started = self.stack.processes.start(
            child.name, module.module, port, self.stack.env(), module.health_path
        )
        self.stack.processes.wait_healthy()
        return started


def _wait_for(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def fault_stack(aws_endpoint_url: str, log_dir: Path) -> Iterator[FaultStack]:
    cluster = PostgresCluster()
    cluster.create()
    cluster.start()
    cluster.create_databases(*(s.database for s in SERVICES if s.database))
    ports = {s.name: [free_port()] for s in SERVICES}
    payments_port = free_port()
    webhook = f"http://127.0.0.1:{ports[ORDERS.name][0]}{ORDERS.path_prefix}payment-events"
    double = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.stripe_double",
            "--port",
            str(payments_port),
            "--api-key",
            STRIPE_KEY,
            "--webhook-url",
            webhook,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        cwd=ROOT,
        stdout=(log_dir / "stripe-double.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    payments_url = f"http://127.0.0.1:{payments_port}"
    stack = Stack(
        StackConfig(
            database_urls={s.name: cluster.url(s.database) for s in SERVICES if s.database},
            aws_endpoint_url=aws_endpoint_url,
            admin_token=ADMIN_TOKEN,
            gateway_port=free_port(),
            log_dir=log_dir,
            environment="faults",
            service_ports=ports,
            load_demo=False,
            extra_env={
                Env.PAYMENT_PROVIDER: "stripe",
                Env.STRIPE_SECRET_KEY: STRIPE_KEY,
                Env.STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
                Env.STRIPE_API_BASE: payments_url,
                Env.CHECKOUT_LEASE_SECONDS: str(LEASE_SECONDS),
                Env.RECONCILE_INTERVAL_SECONDS: "1",
                Env.RECONCILE_AFTER_SECONDS: str(RECONCILE_AFTER_SECONDS),
                Env.UPSTREAM_TIMEOUT_SECONDS: "2",
                Env.GATEWAY_HEALTH_INTERVAL: "0.5",
            },
        )
    )
    try:
        _wait_for(payments_url + "/_double/faults")
        stack.start()
        yield FaultStack(stack, cluster, payments_url)
    finally:
        stack.stop()
        double.terminate()
        wait_or_kill(double, 10)
        cluster.remove()
