"""`python -m devstack.emulator [--host H] [--port N] [--state-dir DIR] [--outbox DIR]`: the
emulator in a process of its own, as the tests run it (keeping nothing unless given a state
directory; writing each email sent to the outbox folder, if given).
It stops cleanly, saving what is pending, on SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    parser.add_argument("--state-dir", type=Path, help="load from and save to this directory")
    parser.add_argument("--outbox", type=Path, help="write each email sent here as an .eml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    emulator = Emulator(args.state_dir, host=args.host, port=args.port, outbox=args.outbox)
    # As under moto_server: moto's Lambda and CloudFormation custom resources call back there.
    os.environ.setdefault("MOTO_PORT", str(emulator.port))
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    emulator.start()
    print(f"emulator listening on {emulator.url}", flush=True)
    stopping.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
