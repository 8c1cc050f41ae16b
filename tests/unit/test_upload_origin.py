"""The page's policy lets the back office PUT uploads to one origin (petshore.contract's
storefront_csp): the services' real S3 client must sign its presigned URLs for that very
origin, in every region, or the browser refuses the upload."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from petshore.aws import open_client, upload_origin
from petshore.settings import CommonSettings

BUCKET = "petshore-prod-modelsbucket-1x2y3z"


def presigned_origin(common: CommonSettings) -> str:
    async def sign() -> str:
        async with AsyncExitStack() as stack:
            s3 = await open_client(stack, "s3", common)
            return str(
                await s3.generate_presigned_url(
                    "put_object",
                    Params={"Bucket": BUCKET, "Key": "uploads/a", "ContentType": "image/png"},
                    ExpiresIn=60,
                )
            )

    parts = urlsplit(asyncio.run(sign()))
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch) -> CommonSettings:
    # Signing is local: any credentials do, and nothing is sent.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return replace(CommonSettings.from_env(), aws_endpoint_url=None)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_presigned_uploads_go_to_the_origin_the_policy_names(
    common: CommonSettings, region: str
) -> None:
    on_aws = replace(common, aws_region=region)
    assert presigned_origin(on_aws) == upload_origin(None, region, BUCKET)
    assert upload_origin(None, region, BUCKET) == f"https://{BUCKET}.s3.{region}.amazonaws.com"


def test_on_the_emulator_uploads_go_to_the_emulator(
    common: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # read by botocore itself
    local = replace(common, aws_endpoint_url="http://127.0.0.1:4566")
    assert presigned_origin(local) == upload_origin("http://127.0.0.1:4566/", "us-east-1", BUCKET)
    assert upload_origin("http://127.0.0.1:4566/", "us-east-1", BUCKET) == "http://127.0.0.1:4566"
