"""AWS clients for the services: the real SDK (aiobotocore), pointed at an emulator only by
the standard `AWS_ENDPOINT_URL` variable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from petshore.errors import Unavailable
from petshore.settings import CommonSettings


async def open_client(
    stack: AsyncExitStack, service: str, common: CommonSettings, read_timeout: float | None = None
) -> Any:
    """An aiobotocore client that lives as long as `stack`; `read_timeout` for calls that wait
    on purpose (an SQS long poll), longer than the usual bound."""
    config = AioConfig(
        connect_timeout=min(2.0, common.aws_timeout),
        read_timeout=read_timeout or common.aws_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        # Emulators answer on one host name; virtual-hosted bucket names would not resolve.
        s3={"addressing_style": "path"} if common.aws_endpoint_url else None,
        signature_version="s3v4" if service == "s3" else None,
    )
    session = get_session()
    return await stack.enter_async_context(
        session.create_client(service, region_name=common.aws_region, config=config)
    )


@asynccontextmanager
async def deadline(seconds: float, store: str) -> AsyncIterator[None]:
    """Bound a whole operation on an AWS store, retries and conditional re-reads included:
    the SDK's own timeouts bound each attempt, not their sum."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise Unavailable(f"the {store} did not answer in time; try again") from exc
