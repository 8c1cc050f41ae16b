"""AWS clients for the services: the real SDK (aiobotocore), pointed at an emulator only by
the standard `AWS_ENDPOINT_URL` variable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from petshore.contract import S3_BUCKET_ORIGIN
from petshore.errors import Unavailable
from petshore.settings import CommonSettings

# The User-Agent of every call: it names the shop and its environment in CloudTrail's records.
# Given, it also spares the SDK building its own for each call, twice, from some sixteen parts
# (a fifth of the CPU of a call such as SES's SendEmail: bench/README.md).
USER_AGENT = "petshore-3d env/{environment}"


async def open_client(
    stack: AsyncExitStack, service: str, common: CommonSettings, read_timeout: float | None = None
) -> Any:
    """An aiobotocore client that lives as long as `stack`; `read_timeout` for calls that wait
    on purpose (an SQS long poll), longer than the usual bound."""
    config = AioConfig(
        connect_timeout=min(2.0, common.aws_timeout),
        read_timeout=read_timeout or common.aws_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        s3=_s3_addressing(common),
        signature_version="s3v4" if service == "s3" else None,
        user_agent=USER_AGENT.format(environment=common.environment),
    )
    session = get_session()
    return await stack.enter_async_context(
        session.create_client(service, region_name=common.aws_region, config=config)
    )


def _s3_addressing(common: CommonSettings) -> dict[str, str]:
    if common.aws_endpoint_url:
        # Emulators answer on one host name; virtual-hosted bucket names would not resolve.
        return {"addressing_style": "path"}
    # Presigned URLs on the origin the storefront's policy names (S3_BUCKET_ORIGIN), in every
    # region, us-east-1 included.
    return {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}


def upload_origin(endpoint_url: str | None, region: str, bucket: str) -> str:
    """Where the browser sends what it uploads with the catalog's presigned URLs: the
    emulator's origin, or the bucket's own."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return S3_BUCKET_ORIGIN.format(bucket=bucket, region=region)


@asynccontextmanager
async def deadline(seconds: float, store: str) -> AsyncIterator[None]:
    """Bound a whole operation on an AWS store, retries and conditional re-reads included:
    the SDK's own timeouts bound each attempt, not their sum."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise Unavailable(f"the {store} did not answer in time; try again") from exc
