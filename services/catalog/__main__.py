from __future__ import annotations

import argparse
from contextlib import AsyncExitStack

from petshore.aws import open_client
from petshore.cli import main
from petshore.contract import CATALOG
from petshore.db import apply_migrations, tortoise_config
from petshore.demo import add_file_argument
from petshore.modelfiles import ensure_bucket
from services.catalog.app import create_app
from services.catalog.demo import load_demo
from services.catalog.settings import Settings


async def migrate(args: argparse.Namespace) -> None:
    await apply_migrations(tortoise_config(Settings.from_env().database_url, CATALOG.module))


async def demo(args: argparse.Namespace) -> None:
    created, sent = await load_demo(Settings.from_env(), args.file)
    print(f"demo catalog: {created} new products, {len(sent)} files sent to the model worker")
    # One line per upload, for whoever waits for them (devstack/stack.py).
    for upload in sent:
        print(upload.line())


async def create_bucket(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    async with AsyncExitStack() as stack:
        await ensure_bucket(await open_client(stack, "s3", settings.common), settings.models_bucket)


if __name__ == "__main__":
    main(
        CATALOG,
        create_app,
        {
            "migrate": (migrate, None),
            "load-demo": (demo, add_file_argument),
            "create-bucket": (create_bucket, None),
        },
    )
