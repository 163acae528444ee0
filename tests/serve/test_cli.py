"""``resolvekit serve``: an agent by its import path, API keys, and the retail demo."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from resolvekit.cli import build_parser
from resolvekit.exceptions import UserError
from resolvekit.serve.cli import demo_agent

from .conftest import client_for


def test_the_command_line() -> None:
    args = build_parser().parse_args(
        ["serve", "app.py:agent", "--port", "9", "--workers", "3", "--api-key", "a",
         "--api-key", "b", "--cors-origin", "https://x.example"]
    )  # fmt: skip
    assert (args.agent, args.port, args.workers) == ("app.py:agent", 9, 3)
    assert args.api_key == ["a", "b"]
    assert args.cors_origin == ["https://x.example"]


def test_nothing_to_serve_is_an_error() -> None:
    args = build_parser().parse_args(["serve"])
    with pytest.raises(UserError, match="--demo"):
        args.handler(args)


def test_resolvekit_serve_an_agent(serve_process: Any) -> None:
    server = serve_process("tests.serve.apps:shop --api-key k1", command=True)
    url = f"{server.url}/v1/customers/c1/messages"
    assert httpx2.post(url, json={"text": "hi"}, timeout=30).status_code == 401
    ok = httpx2.post(
        url, json={"text": "where is W1234567"}, headers={"Authorization": "Bearer k1"}, timeout=60
    )
    assert ok.status_code == 200
    assert ok.json()["reply"] == "Order W1234567 is pending"
    server.terminate()
    server.wait()


async def test_the_retail_demo() -> None:
    try:
        agent = demo_agent(model="test")
    except UserError as exc:  # no τ² data on this machine
        pytest.skip(str(exc))
    async with client_for(agent.to_asgi()) as client:
        reply = await client.post(
            "/v1/customers/demo/messages",
            json={"text": "I want to exchange an item of an order I received"},
        )
        assert reply.status_code == 200
        assert reply.json()["outcome"] == "awaiting_customer"
        assert reply.json()["reply"]
        page = await client.get("/demo")
        assert page.status_code in (200, 404)  # 404 until the widget's files are in


def test_model_and_store_overrides(serve_process: Any, tmp_path: Any) -> None:
    db = tmp_path / "served.db"
    server = serve_process(f"tests.serve.apps:shop --store sqlite:///{db}", command=True)
    url = f"{server.url}/v1/customers/c1/messages"
    assert httpx2.post(url, json={"text": "where is W1234567"}, timeout=60).status_code == 200
    server.terminate()
    server.wait()
    assert db.exists() and db.stat().st_size > 0
