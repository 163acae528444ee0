"""OAuth client credentials as an OpenAPI toolset's auth: one token fetched with the app's
credentials, kept until shortly before it expires, shared by concurrent calls; a token endpoint
that fails makes the call ``unavailable`` before anything is sent, and leaks no secret."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

import resolvekit as rk
from resolvekit.connect import ClientCredentials, OpenAPIToolset

from .conftest import Served

TOKEN_URL = "https://login.test/oauth/token"


def _writes(state: Path) -> list[Any]:
    return list(json.loads(state.read_text())["writes"]) if state.exists() else []


class TokenServer:
    """A token endpoint: checks Basic auth and the grant, hands out numbered tokens."""

    def __init__(self, *, status: int = 200, expires_in: float = 3600, body: Any = None) -> None:
        self.status, self.expires_in, self.body = status, expires_in, body
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        user, _, secret = (
            base64.b64decode(request.headers["authorization"].removeprefix("Basic "))
            .decode()
            .partition(":")
        )
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.requests.append({"user": user, "secret": secret, **form})
        await asyncio.sleep(0.01)  # concurrent callers overlap here
        if self.body is not None:
            return httpx2.Response(self.status, content=self.body)
        if self.status != 200:
            return httpx2.Response(self.status, json={"error": "invalid_client"})
        return httpx2.Response(
            200,
            json={
                "access_token": f"tok-{len(self.requests)}",
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            },
        )

    def auth(self, **options: Any) -> ClientCredentials:
        client = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))
        options.setdefault("client_secret", "s3cret")
        return ClientCredentials(TOKEN_URL, client_id="bot", client=client, **options)


async def test_the_grant_is_sent_with_the_apps_credentials_and_the_token_kept() -> None:
    server = TokenServer()
    auth = server.auth(scope="orders:read")
    assert await auth(None) == {"Authorization": "Bearer tok-1"}
    assert await auth(None) == {"Authorization": "Bearer tok-1"}  # kept, not fetched again
    assert server.requests == [
        {
            "user": "bot",
            "secret": "s3cret",
            "grant_type": "client_credentials",
            "scope": "orders:read",
        }
    ]


async def test_concurrent_calls_wait_for_one_fetch() -> None:
    server = TokenServer()
    auth = server.auth()
    headers = await asyncio.gather(*(auth(None) for _ in range(20)))
    assert {h["Authorization"] for h in headers} == {"Bearer tok-1"}
    assert auth.fetches == 1


async def test_a_token_about_to_expire_is_fetched_again_and_forget_drops_it() -> None:
    server = TokenServer(expires_in=20)  # inside the 30 s margin: never kept
    auth = server.auth()
    assert (await auth(None))["Authorization"] == "Bearer tok-1"
    assert (await auth(None))["Authorization"] == "Bearer tok-2"
    kept = TokenServer().auth()
    await kept(None)
    kept.forget()
    await kept(None)
    assert kept.fetches == 2


async def test_a_rotated_secret_is_read_at_each_fetch() -> None:
    server = TokenServer(expires_in=1)
    secrets = iter(["old", "new"])
    auth = server.auth(client_secret=lambda: next(secrets))
    await auth(None)
    await auth(None)
    assert [r["secret"] for r in server.requests] == ["old", "new"]


@pytest.mark.parametrize(
    "server",
    [
        TokenServer(status=401),
        TokenServer(status=200, body=b"<html>"),
        TokenServer(status=200, body=json.dumps({"token_type": "Bearer"}).encode()),
        TokenServer(status=200, body=json.dumps({"access_token": ""}).encode()),
    ],
    ids=["refused", "not json", "no token", "empty token"],
)
async def test_a_failing_token_endpoint_is_unreachable_and_quotes_no_secret(
    server: TokenServer,
) -> None:
    # ConnectionError: the connector's "never reached the system" (a call fails 'unavailable',
    # see the last test), never an error that says the request may have been sent.
    with pytest.raises(ConnectionError, match="token endpoint") as info:
        await server.auth()(None)
    assert "s3cret" not in str(info.value)


def test_bad_settings_are_user_errors() -> None:
    with pytest.raises(rk.UserError):
        ClientCredentials("login.test/token", client_id="bot", client_secret="x")
    with pytest.raises(rk.UserError):
        ClientCredentials(TOKEN_URL, client_id="", client_secret="x")


async def test_a_service_call_carries_the_token_and_fails_typed_without_one(
    http_shop: Served, shop_state: Path
) -> None:
    url = f"http://127.0.0.1:{http_shop.port}/openapi.json"
    shop = OpenAPIToolset(url, auth=TokenServer().auth(), retry=rk.RetryPolicy(attempts=1))
    await shop.start()
    try:
        seen = await shop.tools()["whoami"].invoke(None, {}, None)
        assert seen == {"authorization": "Bearer tok-1"}
    finally:
        await shop.close()
    down = OpenAPIToolset(
        url, auth=TokenServer(status=503).auth(), retry=rk.RetryPolicy(attempts=1)
    )
    await down.start()
    try:
        cancel = down.tools()["cancel_order"]
        with pytest.raises(rk.ToolError) as info:
            await cancel.invoke(None, {"order_id": "W1", "reason": "no longer needed"}, "c:r:1")
        assert info.value.kind == "unavailable"  # nothing was sent: safe to try again
        assert _writes(shop_state) == []
    finally:
        await down.close()
