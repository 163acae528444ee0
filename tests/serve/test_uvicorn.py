"""A real uvicorn server in a subprocess: HTTP on a free 127.0.0.1 port, a client that leaves
mid-stream, and a graceful shutdown (SIGTERM) that finishes the turns in flight."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

from resolvekit.sessions import open_store

from .test_stream import events

SLOW = "tests.serve.apps:slow_app"
GRACEFUL = (0, -signal.SIGTERM)
"""How uvicorn exits after a graceful shutdown (it re-raises the signal it handled)."""


def stored_replies(db: Path, customer_id: str) -> list[str]:
    """The agent's lines in the customer's stored conversation."""

    async def read() -> list[str]:
        store = open_store(f"sqlite:///{db}")
        try:
            conv = await store.open_conversation(customer_id)
            return [] if conv is None else [m.text for m in conv.transcript if m.role == "agent"]
        finally:
            await store.close()

    return asyncio.run(read())


def wait_for(marker: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow tool never started"
        time.sleep(0.05)


def slow_env(tmp_path: Path, seconds: float = 3) -> tuple[dict[str, str], Path, Path]:
    db, marker = tmp_path / "slow.db", tmp_path / "started"
    env = {"SLOW_DB": str(db), "SLOW_MARKER": str(marker), "SLOW_SECONDS": str(seconds)}
    return env, db, marker


def test_json_over_a_real_server(serve_process: Any) -> None:
    server = serve_process("tests.serve.apps:shop_app")
    url = f"{server.url}/v1/customers/c1/messages"
    first = httpx2.post(url, json={"text": "cancel order W1234567, no longer needed"}, timeout=60)
    assert first.status_code == 200
    assert first.json()["options"] == ["yes", "no"]
    with httpx2.stream("POST", url + "/stream", json={"text": "yes"}, timeout=60) as response:
        body = "".join(response.iter_text())
    assert [name for name, _ in events(body)][-1] == "done"
    assert events(body)[-1][1]["outcome"] == "resolved"


def test_shutdown_finishes_the_turn_in_flight(serve_process: Any, tmp_path: Path) -> None:
    env, db, marker = slow_env(tmp_path)
    server = serve_process(SLOW, env)
    answers: list[httpx2.Response] = []

    def send() -> None:
        answers.append(
            httpx2.post(
                f"{server.url}/v1/customers/c1/messages",
                json={"text": "is the lamp in stock", "message_id": "m1"},
                timeout=120,
            )
        )

    sender = threading.Thread(target=send)
    sender.start()
    wait_for(marker)
    server.terminate()  # mid-turn
    sender.join(120)
    output = server.wait()
    assert server.process.returncode in GRACEFUL, output
    assert answers and answers[0].status_code == 200, output
    assert answers[0].json()["reply"] == "We have 7 in stock"
    assert stored_replies(db, "c1") == ["We have 7 in stock"]


def test_a_client_that_leaves_mid_stream(serve_process: Any, tmp_path: Path) -> None:
    env, db, _ = slow_env(tmp_path, seconds=2)
    server = serve_process(SLOW, env)
    url = f"{server.url}/v1/customers/c1/messages"
    body = {"text": "is the lamp in stock", "message_id": "m1"}
    with httpx2.stream("POST", url + "/stream", json=body, timeout=60) as response:
        first = next(response.iter_lines())
        assert first == "event: tool_started"
    # the connection is closed: the turn goes on; the retry waits for it and gets its reply
    retry = httpx2.post(url, json=body, timeout=60)
    assert retry.status_code == 200
    assert retry.json()["duplicate"] is True
    assert retry.json()["reply"] == "We have 7 in stock"
    server.terminate()
    server.wait()
    assert stored_replies(db, "c1") == ["We have 7 in stock"]


def test_shutdown_waits_for_a_turn_whose_client_left(serve_process: Any, tmp_path: Path) -> None:
    env, db, _ = slow_env(tmp_path, seconds=3)
    server = serve_process(SLOW, env)
    url = f"{server.url}/v1/customers/c1/messages/stream"
    with httpx2.stream("POST", url, json={"text": "is the lamp in stock"}, timeout=60) as response:
        assert next(response.iter_lines()) == "event: tool_started"
    server.terminate()  # nobody waits for this turn but the server itself
    output = server.wait()
    assert server.process.returncode in GRACEFUL, output
    assert stored_replies(db, "c1") == ["We have 7 in stock"]
