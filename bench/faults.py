"""Heavier fault runs than the test suite's: more shoppers and more rounds of each fault.

    .venv/bin/python bench/faults.py [--rounds 3] [--shoppers 120] [--json out.json]

Starts the storefront on its own PostgreSQL server, the Stripe-compatible double and an
AWS emulator (tests/faults/faultstack.py), then, for each fault of
tests/faults/harness.py (database stopped and started, the orders service killed, the
catalog frozen while clients hang up and retry, the payment provider stalled while the orders
service is killed), runs `--rounds` rounds of `--shoppers` shoppers checking out while the
fault is injected. After each round it waits for the reconciler to settle every order and
checks what was kept against the database's and the payment double's own records: orders per
key, stock, charges kept, paid orders found again by their keys, answers of 500. It prints,
per fault, the checkouts tried, the answers they got, the orders by status, the seconds it
took to settle, and every problem found (the goal: none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.emulator import emulator_process  # noqa: E402
from tests.faults.faultstack import fault_stack  # noqa: E402
from tests.faults.harness import FAULTS, catalog_frozen, scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shoppers", type=int, default=120)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="petshore-faults-") as tmp:
        var = Path(tmp)
        (var / "log").mkdir()
        # In a process of its own: on a thread here it would share the shoppers' core.
        with (
            emulator_process(var / "emulator.log") as aws,
            fault_stack(aws, var / "log") as faults,
        ):
            for name, fault in FAULTS.items():
                answers: Counter[str] = Counter()
                statuses: Counter[str] = Counter()
                problems: list[str] = []
                settle: list[float] = []
                for round_ in range(args.rounds):
                    started = time.monotonic()
                    shoppers, findings = asyncio.run(
                        scenario(
                            faults,
                            fault,
                            shoppers=args.shoppers,
                            # Clients that hang up after 1 s meet the frozen catalog.
                            timeout=1.0 if fault is catalog_frozen else 3.0,
                            seed=round_,
                        )
                    )
                    settle.append(round(time.monotonic() - started, 1))
                    answers.update(str(a) for s in shoppers for a in s.answers)
                    statuses.update(findings.by_status)
                    problems += findings.problems
                report[name] = {
                    "checkouts": args.rounds * args.shoppers,
                    "answers": dict(answers.most_common()),
                    "orders": dict(statuses),
                    "round_seconds": settle,
                    "problems": problems,
                }
                print(f"{name}: {args.rounds} x {args.shoppers} checkouts")
                print(f"  answers:  {dict(answers.most_common())}")
                print(f"  orders:   {dict(statuses)}")
                print(f"  seconds per round, until all settled: {settle}")
                print(f"  problems: {len(problems)}")
                for problem in problems[:20]:
                    print(f"    {problem}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if any(r["problems"] for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
