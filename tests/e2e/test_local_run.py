"""`make run`'s launcher in its embedded mode (SQLite, moto on a thread): it comes up with the
demo catalog, prints the URL and admin token, stops on Ctrl-C, and keeps data across a restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devstack.processes import ROOT, free_port


def _start(var: Path, port: int) -> tuple[subprocess.Popen[str], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PETSHORE_", "AWS_"))}
    env.update({"PETSHORE_VAR_DIR": str(var), "PORT": str(port), "PETSHORE_ADMIN_TOKEN": "t0k"})
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + 120
    while "Press Ctrl-C" not in output:
        line = process.stdout.readline()
        assert line or process.poll() is None, output
        output += line
        assert time.monotonic() < deadline, output
    url = re.search(r"Storefront:\s+(\S+)", output)
    token = re.search(r"Admin token:\s+(\S+)", output)
    assert url and token, output
    return process, url.group(1), token.group(1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def test_local_run_comes_up_and_keeps_data_across_restarts(tmp_path: Path) -> None:
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
    finally:
        _stop(process)

    process, url, _ = _start(tmp_path, port)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            cart = client.get(f"/api/cart/carts/{cart_id}").json()
            assert cart["items"] == [{"sku": "PS-TOY-0002", "quantity": 4}]
            bone = client.get("/api/catalog/products/PS-TOY-0002").json()
            assert bone["name"] == "Renamed bone"
            assert client.get(shoe["model"]["glb_url"]).status_code == 200
            listed = client.get("/api/catalog/products", params={"limit": 100}).json()["items"]
            assert len(listed) == 12
    finally:
        _stop(process)
