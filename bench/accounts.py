"""What signing in costs, and whether its answer's timing tells which emails have accounts;
what a signed-in request costs the services that ask who the customer is.

    .venv/bin/python bench/accounts.py [--rounds 40]

Starts the storefront as `make run` does (SQLite, embedded emulator) in a temporary folder,
with the sign-in throttle raised out of the way, signs one customer up, and then, through the
gateway, times `--rounds` sign-ins of each kind in turn: the right password, a wrong password
for that email, and an email that has no account. It prints each kind's median and 90th
percentile, and the ratio of unknown-email to wrong-password medians (1.00: the answer's
timing does not tell the two apart; argon2id makes both spend the same hash). Then it times
the identity check other services make for a signed-in request: the accounts service's
`GET /api/accounts/sessions/current` alone, and `GET /api/orders/orders?mine=1`, which makes
that call, against the same list read with the admin token, which does not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.stack import embedded_stack  # noqa: E402
from petshore.contract import Env  # noqa: E402

ADMIN = {"Authorization": "Bearer bench"}
PASSWORD = "a bench of passwords"


def timed(call: Callable[[], httpx.Response], expected: int, rounds: int) -> list[float]:
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = call()
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == expected, answer.text
    return took


def summary(name: str, took: list[float]) -> float:
    median = statistics.median(took)
    p90 = statistics.quantiles(took, n=10)[8]
    print(f"  {name:<40} median {median:7.1f} ms   p90 {p90:7.1f} ms")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    generous = {
        Env.SIGNIN_ACCOUNT_FAILURES: "1000000",
        Env.SIGNIN_ADDRESS_FAILURES: "1000000",
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        embedded_stack(Path(folder), "bench", load_demo=False, extra_env=generous) as stack,
        httpx.Client(base_url=stack.gateway_url, timeout=30) as client,
    ):
        email = "bench@example.com"
        signed_up = client.post(
            "/api/accounts/customers", json={"email": email, "password": PASSWORD, "name": "B"}
        )
        assert signed_up.status_code == 201, signed_up.text
        cookie = {"Cookie": f"petshore_session={signed_up.cookies['petshore_session']}"}
        client.cookies.clear()

        def sign_in(address: str, password: str) -> Callable[[], httpx.Response]:
            body = {"email": address, "password": password}
            return lambda: client.post("/api/accounts/sessions", json=body)

        kinds = {
            "right password": (sign_in(email, PASSWORD), 200),
            "wrong password": (sign_in(email, "not the password"), 401),
            "unknown email": (sign_in("nobody@example.com", "not the password"), 401),
        }
        took: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits all alike
            for name, (call, expected) in kinds.items():
                took[name] += timed(call, expected, 1)
            client.cookies.clear()
        print(f"Sign-in through the gateway, {args.rounds} rounds:")
        medians = {name: summary(name, values) for name, values in took.items()}
        ratio = medians["unknown email"] / medians["wrong password"]
        print(f"  unknown email / wrong password: {ratio:.2f}")

        print("A signed-in request's identity check:")
        current = timed(
            lambda: client.get("/api/accounts/sessions/current", headers=cookie), 200, args.rounds
        )
        mine = timed(
            lambda: client.get("/api/orders/orders", params={"mine": "1"}, headers=cookie),
            200,
            args.rounds,
        )
        admin = timed(
            lambda: client.get("/api/orders/orders", params={"limit": "1"}, headers=ADMIN),
            200,
            args.rounds,
        )
        summary("accounts: sessions/current", current)
        with_check = summary("orders: ?mine=1 (asks accounts)", mine)
        without = summary("orders: list with the admin token", admin)
        print(f"  the check adds {with_check - without:.1f} ms to a request's median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
