"""What the services' AWS clients send: every call signed, and a User-Agent that names the shop
and its environment (what CloudTrail records as the caller's)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from aiohttp import web

from petshore.aws import open_client
from petshore.settings import CommonSettings


async def headers_of_a_call(
    common: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The headers of one SES SendEmail, as a server listening in SES's place received them."""
    received: list[dict[str, str]] = []

    async def send_email(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.json_response({"MessageId": "m-1"})

    app = web.Application()
    app.router.add_post("/v2/email/outbound-emails", send_email)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        # The SDK's own setting, as the emulator is named to the services.
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        async with AsyncExitStack() as stack:
            ses = await open_client(stack, "sesv2", common)
            answer = await ses.send_email(
                FromEmailAddress="shop@example.com",
                Destination={"ToAddresses": ["kim@example.com"]},
                Content={"Raw": {"Data": b"Subject: hi\r\n\r\nhello"}},
            )
            assert answer["MessageId"] == "m-1"
    finally:
        await runner.cleanup()
    [headers] = received
    return headers


def test_a_call_is_signed_and_names_the_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    common = replace(CommonSettings.from_env(), environment="prod")
    headers = asyncio.run(headers_of_a_call(common, monkeypatch))
    assert headers["User-Agent"].split()[:2] == ["petshore-3d", "env/prod"]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "SignedHeaders=" in headers["Authorization"] and "Signature=" in headers["Authorization"]
