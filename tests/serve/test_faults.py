"""Bad input, auth, limits and a store that is down: one error body, nothing lost."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.requests import Request

from .conftest import FlakyStore, shop_agent

M = "/v1/customers/c1/messages"


def error(response: httpx2.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return response.status_code, body["error"]["code"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", (400, "invalid_json")),
        (b"\xff\xfe", (400, "invalid_json")),
        (b"[1, 2]", (422, "invalid_request")),
        (b'{"text": "hi", "colour": "red"}', (422, "invalid_request")),
        (b'{"text": 5}', (422, "invalid_request")),
        (b'{"channel": "chat"}', (422, "invalid_request")),
        (b'{"text": "hi", "message_id": 7}', (422, "invalid_request")),
        (b'{"text": "   "}', (422, "message_empty")),
        (b'{"text": "' + b"x" * 5000 + b'"}', (422, "message_too_long")),
    ],
)
async def test_bad_bodies(make_client: Any, content: bytes, expected: tuple[int, str]) -> None:
    async with make_client() as client:
        response = await client.post(M, content=content)
        assert error(response) == expected
        assert (await client.get("/v1/customers/c1/conversation")).status_code == 404


async def test_oversized_bodies_are_refused(make_client: Any) -> None:
    async with make_client(max_body_bytes=1000) as client:
        declared = await client.post(M, json={"text": "x" * 2000})
        assert error(declared) == (413, "body_too_large")

        async def chunks() -> Any:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 200

        streamed = await client.post(M, content=chunks())
        assert error(streamed) == (413, "body_too_large")


async def test_authorize_decides_who_speaks_for_whom(make_client: Any) -> None:
    def authorize(request: Request, customer_id: str | None) -> bool:
        return customer_id is not None and request.headers.get("x-user") == customer_id

    async with make_client(api_keys=[], authorize=authorize) as client:
        ok = await client.post(
            M, json={"text": "where is order W1234567"}, headers={"x-user": "c1"}
        )
        assert ok.status_code == 200
        other = await client.post(M, json={"text": "hi"}, headers={"x-user": "c2"})
        assert error(other) == (403, "forbidden")
        read = await client.get("/v1/customers/c1/conversation", headers={"x-user": "c2"})
        assert error(read) == (403, "forbidden")
        resume = await client.post("/v1/handoffs/resume", json={"token": "t"})
        assert error(resume) == (403, "forbidden")


async def test_async_authorize(make_client: Any) -> None:
    async def authorize(request: Request, customer_id: str | None) -> bool:
        return customer_id == "c1"

    async with make_client(api_keys=[], authorize=authorize) as client:
        assert (await client.post(M, json={"text": "where is W1234567"})).status_code == 200
        denied = await client.post("/v1/customers/c9/messages", json={"text": "hi"})
        assert error(denied) == (403, "forbidden")


async def test_rate_limits(make_client: Any) -> None:
    async with make_client(customer_rate="2/minute", key_rate="5/minute") as client:
        for _ in range(2):
            assert (await client.post(M, json={"text": "where is W1234567"})).status_code == 200
        limited = await client.post(M, json={"text": "where is W1234567"})
        assert error(limited) == (429, "customer_rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        other = await client.post("/v1/customers/c2/messages", json={"text": "where is W1234567"})
        assert other.status_code == 200  # another customer has their own budget
        for _ in range(2):
            await client.get("/v1/customers/c2/conversation")
        by_key = await client.get("/v1/customers/c2/conversation")
        assert error(by_key) == (429, "key_rate_limited")


async def test_store_down_is_503_and_loses_nothing(make_client: Any) -> None:
    store = FlakyStore()
    agent = shop_agent(store=store)
    async with make_client(agent) as client:
        store.down = True
        down = await client.post(M, json={"text": "where is W1234567", "message_id": "m1"})
        assert error(down) == (503, "store_unavailable")
        assert down.headers["retry-after"] == "2"
        assert error(await client.get("/readyz")) == (503, "not_ready")
        store.down = False
        retried = await client.post(M, json={"text": "where is W1234567", "message_id": "m1"})
        assert retried.status_code == 200
        assert retried.json()["duplicate"] is False
        again = await client.post(M, json={"text": "where is W1234567", "message_id": "m1"})
        assert again.json()["duplicate"] is True
        conv = (await client.get("/v1/customers/c1/conversation")).json()
    assert [m["text"] for m in conv["transcript"] if m["role"] == "customer"] == [
        "where is W1234567"
    ]


async def test_unknown_routes_and_methods(make_client: Any) -> None:
    async with make_client() as client:
        assert error(await client.get("/v1/nothing")) == (404, "not_found")
        assert error(await client.delete(M)) == (405, "method_not_allowed")


async def test_cors(make_client: Any) -> None:
    origin = "https://shop.example"
    async with make_client(cors_origins=[origin]) as client:
        preflight = await client.options(
            M,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        other = await client.options(
            M, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert other.status_code == 400


def test_unknown_options_are_refused() -> None:
    from resolvekit.exceptions import UserError

    with pytest.raises(UserError, match="api_key"):
        shop_agent().to_asgi(api_key="k")


async def test_keys_for_servers_tokens_for_browsers(make_client: Any) -> None:
    from resolvekit.serve import customer_token, token_authorize

    secret = "s" * 32
    async with make_client(authorize=token_authorize(secret)) as client:  # and api_keys=[KEY]
        # the server's key speaks for anyone, operator actions included
        assert (await client.post(M, json={"text": "where is W1234567"})).status_code == 200
        resume = await client.post("/v1/handoffs/resume", json={"token": "t"})
        assert error(resume) == (404, "unknown_token")
        # a browser's token speaks for its own customer only
        token = {"Authorization": f"Bearer {customer_token(secret, 'c1')}"}
        own = await client.get("/v1/customers/c1/conversation", headers=token)
        assert own.status_code == 200
        other = await client.get("/v1/customers/c2/conversation", headers=token)
        assert error(other) == (403, "forbidden")
        resume = await client.post("/v1/handoffs/resume", json={"token": "t"}, headers=token)
        assert error(resume) == (403, "forbidden")
        expired = {"Authorization": f"Bearer {customer_token(secret, 'c1', ttl=-1)}"}
        late = await client.get("/v1/customers/c1/conversation", headers=expired)
        assert error(late) == (403, "forbidden")
        forged = {"Authorization": f"Bearer {customer_token('x' * 32, 'c1')}"}
        assert error(await client.get("/v1/customers/c1/conversation", headers=forged)) == (
            403,
            "forbidden",
        )


def test_customer_tokens() -> None:
    from resolvekit.exceptions import UserError
    from resolvekit.serve.tokens import customer_token, token_customer

    secret = "k" * 20
    token = customer_token(secret, "c.1/é")
    assert token_customer(secret, token) == "c.1/é"
    head, expiry, signature = token.split(".")
    assert token_customer(secret, f"{head}.{int(expiry) + 999}.{signature}") is None
    for bad in ("", "a.b", "a.1.", token + "x", "!!!.1.zz"):
        assert token_customer(secret, bad) is None
    with pytest.raises(UserError):
        customer_token("short", "c1")


async def test_ids_too_long(make_client: Any) -> None:
    async with make_client() as client:
        long = "c" * 201
        assert error(await client.post(f"/v1/customers/{long}/messages", json={"text": "hi"})) == (
            422,
            "invalid_request",
        )
        body = {"text": "hi", "message_id": "m" * 201}
        assert error(await client.post(M, json=body)) == (422, "invalid_request")


async def test_static_files(make_client: Any) -> None:
    async with make_client() as client:
        readme = await client.get("/static/README.md")
        assert readme.status_code == 200
        assert "widget.js" in readme.text
    async with make_client(static=False) as client:
        assert (await client.get("/static/README.md")).status_code == 404


async def test_authorized_callers_each_have_their_own_request_budget(make_client: Any) -> None:
    def authorize(request: Request, customer_id: str | None) -> bool:
        return customer_id is not None

    async with make_client(api_keys=[], authorize=authorize, key_rate="2/minute") as client:
        for _ in range(2):
            assert (await client.get("/v1/customers/c1/conversation")).status_code == 404
        assert error(await client.get("/v1/customers/c1/conversation")) == (429, "key_rate_limited")
        # the same address speaking for another customer is another caller
        assert (await client.get("/v1/customers/c2/conversation")).status_code == 404
