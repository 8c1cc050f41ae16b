from __future__ import annotations

import argparse
from contextlib import AsyncExitStack, suppress

from petshore.aws import open_client
from petshore.cli import main
from petshore.contract import ORDERS, SEND_MAIL
from petshore.db import apply_migrations, tortoise_config
from petshore.demo import add_file_argument
from services.orders.app import create_app
from services.orders.demo import load_demo
from services.orders.sender import send_mail
from services.orders.settings import Settings


async def migrate(args: argparse.Namespace) -> None:
    await apply_migrations(tortoise_config(Settings.from_env().database_url, ORDERS.module))


async def create_sender(args: argparse.Namespace) -> None:
    """The sender identity, verified, in an emulator (on AWS the shop verifies its own)."""
    settings = Settings.from_env()
    if settings.mail_sender is None:
        return
    async with AsyncExitStack() as stack:
        ses = await open_client(stack, "sesv2", settings.common)
        with suppress(ses.exceptions.AlreadyExistsException):
            await ses.create_email_identity(EmailIdentity=settings.mail_sender)


async def demo(args: argparse.Namespace) -> None:
    print(f"demo catalog: {await load_demo(Settings.from_env(), args.file)} new")


if __name__ == "__main__":
    main(
        ORDERS,
        create_app,
        {
            "migrate": (migrate, None),
            "create-sender": (create_sender, None),
            "load-demo": (demo, add_file_argument),
            SEND_MAIL: (lambda args: send_mail(), None),
        },
    )
