"""python -m modelworker work            # take model jobs until SIGTERM or Ctrl-C
python -m modelworker check           # exit 0 once Node, Chromium, Pillow's photo codecs and
                                      # both queues answer
python -m modelworker create-queues   # emulators and local runs: the stack makes them in AWS
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
from contextlib import AsyncExitStack

from modelworker.imaging import missing_codecs
from modelworker.pipeline import SCRIPT
from modelworker.settings import Settings
from modelworker.worker import open_worker
from petshore.aws import open_client
from petshore.contract import MODEL_WORKER
from petshore.logs import configure_logging
from petshore.queues import ensure_queues


async def work(settings: Settings) -> int:
    async with AsyncExitStack() as stack:
        worker = await open_worker(stack, settings)
        print(f"{MODEL_WORKER.name} taking jobs from {worker.queues.jobs_url}", flush=True)
        running = asyncio.create_task(worker.run())
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, running.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await running
    return 0


async def check(settings: Settings) -> int:
    """What a new instance must have before it says it serves (deploy/boot.sh)."""
    problems = []
    if shutil.which(settings.node) is None:
        problems.append(f"no Node.js at {settings.node}")
    if not (SCRIPT.parent / "node_modules").is_dir():
        problems.append(f"no node_modules beside {SCRIPT.name}")
    if settings.poster_chromium and shutil.which(settings.poster_chromium) is None:
        problems.append(f"no Chromium at {settings.poster_chromium}")
    if missing := missing_codecs():
        problems.append(f"Pillow cannot read or write photos: no {', '.join(missing)}")
    try:
        async with AsyncExitStack() as stack:
            worker = await open_worker(stack, settings)
            queues = worker.queues
            for url in (queues.jobs_url, queues.results_url):
                await queues.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except Exception as exc:
        problems.append(f"the queues do not answer: {exc}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


async def create_queues(settings: Settings) -> int:
    async with AsyncExitStack() as stack:
        sqs = await open_client(stack, "sqs", settings.common)
        await ensure_queues(sqs, settings.common.environment)
    return 0


COMMANDS = {"work": work, "check": check, "create-queues": create_queues}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelworker")
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(MODEL_WORKER.name, settings.common.log_level)
    return asyncio.run(COMMANDS[args.command](settings))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
