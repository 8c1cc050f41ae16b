"""AWS clients for the services: the real SDK (aiobotocore), pointed at an emulator only by
the standard `AWS_ENDPOINT_URL` variable."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from petshore.settings import CommonSettings


async def open_client(stack: AsyncExitStack, service: str, common: CommonSettings) -> Any:
    """An aiobotocore client that lives as long as `stack`."""
    config = AioConfig(
        connect_timeout=3,
        read_timeout=10,
        retries={"max_attempts": 3, "mode": "standard"},
        # Emulators answer on one host name; virtual-hosted bucket names would not resolve.
        s3={"addressing_style": "path"} if common.aws_endpoint_url else None,
        signature_version="s3v4" if service == "s3" else None,
    )
    session = get_session()
    return await stack.enter_async_context(
        session.create_client(service, region_name=common.aws_region, config=config)
    )
