"""`make run`'s launcher in its embedded mode (SQLite, moto on a thread): it comes up with the
demo catalog, prints the URL and admin token, stops on Ctrl-C (even started with SIGINT
ignored, as a background command of a script is), keeps data across a restart,
takes its children with it however it dies, and says so plainly when a port is taken."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devstack.processes import ROOT, free_port
from devstack.stack import DEMO_MODELS_SECONDS
from petshore.contract import SERVICES
from tests.helpers import checkout_body, emails_to, new_cart


def _launch(var: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PETSHORE_", "AWS_"))}
    env.update({"PETSHORE_VAR_DIR": str(var), "PORT": str(port), "PETSHORE_ADMIN_TOKEN": "t0k"})
    # Started as a script's `make run &` (or a CI runner's background job) starts it: with
    # SIGINT ignored, which it inherits. Ctrl-C must stop it all the same.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(var: Path, port: int) -> tuple[subprocess.Popen[str], str, str]:
    process = _launch(var, port)
    assert process.stdout is not None
    output = ""
    # It is ready once the model worker has published the demo's models and photos (each
    # model's quality search renders it): minutes on a busy 2-core machine. Its own deadline
    # for them, and the services' start before.
    deadline = time.monotonic() + DEMO_MODELS_SECONDS + 120
    try:
        while "Press Ctrl-C" not in output:
            line = process.stdout.readline()
            assert line or process.poll() is None, output
            output += line
            assert time.monotonic() < deadline, output
    except BaseException:
        process.kill()  # its children go with it, and the ports are free for the next test
        raise
    url = re.search(r"Storefront:\s+(\S+)", output)
    token = re.search(r"Admin token:\s+(\S+)", output)
    assert url and token, output
    return process, url.group(1), token.group(1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=60) == 0
    except subprocess.TimeoutExpired:
        # Its children go with it: the ports are free for the tests after this one.
        process.kill()
        raise


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent, from /proc; None once it is gone."""
    try:
        # The command may hold spaces and parentheses: the fields follow the last ")".
        state, parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
    except OSError:
        return None
    return state, int(parent)


def _running(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has ended, only not been reaped


def _children(pid: int) -> list[int]:
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [
        child for child in pids if (stat := _stat(child)) and stat[1] == pid and _running(child)
    ]


def test_local_run_comes_up_keeps_data_across_restarts_and_dies_with_its_children(
    tmp_path: Path,
) -> None:
    port = free_port()
    process, url, token = _start(tmp_path, port)
    try:
        assert url == f"http://127.0.0.1:{port}/"
        assert token == "t0k"
        with httpx.Client(base_url=url, timeout=30) as client:
            listed = client.get("/api/catalog/products", params={"limit": 100}).json()["items"]
            assert len(listed) == 12
            shoe = client.get("/api/catalog/products/PS-WALK-0001").json()
            assert client.get(shoe["model"]["glb_url"]).status_code == 200
            cart_id = client.post("/api/cart/carts").json()["cart_id"]
            client.put(f"/api/cart/carts/{cart_id}/items/PS-TOY-0002", json={"quantity": 4})
            renamed = client.patch(
                "/api/catalog/products/PS-TOY-0002",
                json={"name": "Renamed bone"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert renamed.status_code == 200
            # SQLite's full-text index follows the rename (its triggers), stems included.
            found = client.get("/api/catalog/products", params={"q": "renamed bones"}).json()
            assert [p["sku"] for p in found["items"]] == ["PS-TOY-0002"]
            customer = {"email": "local@example.com", "password": "a local passphrase"}
            signed_up = client.post("/api/accounts/customers", json={**customer, "name": "L"})
            assert signed_up.status_code == 201
            bought = client.post(
                "/api/orders/orders",
                json=checkout_body(new_cart(client, {"PS-TOY-0001": 1})),
                headers={
                    "Idempotency-Key": "local-1",
                    "X-CSRF-Token": signed_up.json()["csrf_token"],
                },
            )
            assert bought.status_code == 201, bought.text
            # The confirmation, as the embedded emulator keeps it for the developer to read.
            [sent] = emails_to(tmp_path / "outbox", "shopper@example.com")
            assert bought.json()["order_id"] in sent["Subject"]
    finally:
        _stop(process)

    process, url, _ = _start(tmp_path, port)
    children = _children(process.pid)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            cart = client.get(f"/api/cart/carts/{cart_id}").json()
            assert cart["items"] == [{"sku": "PS-TOY-0002", "quantity": 4}]
            bone = client.get("/api/catalog/products/PS-TOY-0002").json()
            assert bone["name"] == "Renamed bone"
            assert client.get(shoe["model"]["glb_url"]).status_code == 200
            listed = client.get("/api/catalog/products", params={"limit": 100}).json()["items"]
            assert len(listed) == 12
            bowls = client.get("/api/catalog/products", params={"q": "bowls"}).json()["items"]
            assert [p["sku"] for p in bowls] == ["PS-FEED-0002"]
            by_price = client.get(
                "/api/catalog/products", params={"sort": "-price", "max_price_cents": 1599}
            ).json()["items"]
            assert [p["price_cents"] for p in by_price] == [1599, 1299, 899, 499]
            # The customer, their sessions and the sessions table's index are all still there.
            signed_in = client.post("/api/accounts/sessions", json=customer)
            assert signed_in.status_code == 200, signed_in.text
            ended = client.delete(
                "/api/accounts/sessions", headers={"X-CSRF-Token": signed_in.json()["csrf_token"]}
            )
            assert ended.status_code == 204, ended.text
        # However the launcher dies, its children go with it: every service and the workers
        # beside it, the model worker and the gateway, though killed it has no chance to stop
        # them itself.
        beside = sum(len(service.workers) for service in SERVICES)
        assert len(children) == len(SERVICES) + beside + 2, children
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_running, children)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _running(pid)]
    finally:
        if process.poll() is None:
            _stop(process)
        for pid in filter(_running, children):
            os.kill(pid, signal.SIGKILL)


def test_a_port_in_use_is_named_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        process = _launch(tmp_path, port)
        try:
            output, _ = process.communicate(timeout=30)
        finally:
            process.kill()  # had it started everything, this would take it all down
    assert process.returncode == 1
    assert time.monotonic() - started < 15, "reported before anything was started"
    assert output.count("\n") == 1 and output.strip().endswith("."), output
    assert f"Port {port}" in output and "PORT=" in output, output
    assert not (tmp_path / "log").exists(), "nothing was started"
