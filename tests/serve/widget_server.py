"""The retail agent served over HTTP under uvicorn, in a thread of the test process, on a free
127.0.0.1 port: the browser tests of the chat widget talk to it, and read the backend (the
retail database, the stored conversation) directly."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import resolvekit as rk

T = TypeVar("T")

STARTUP_TIMEOUT = 60.0
"""Seconds to wait for uvicorn to listen (the machine may be loaded)."""


@dataclass
class RunningServer:
    """A served agent: its address, its database and a way to run coroutines on its loop."""

    url: str
    agent: rk.Agent[Any]
    db: Any
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Runs ``coro`` on the server's event loop (where the agent and its store live)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def transcript(self, customer_id: str) -> list[tuple[str, str]]:
        """The customer's open conversation as ``(role, text)`` lines."""
        conversation = self.run(self.agent.conversation(customer_id))
        if conversation is None:
            return []
        return [(line.role, line.text) for line in conversation.transcript]


@contextmanager
def serve_retail(**app_options: Any) -> Iterator[RunningServer]:
    """The retail agent (offline ``test`` model, in-memory store, its own copy of the τ²-bench
    database) served by :func:`resolvekit.serve.create_app` until the block ends."""
    from examples.retail.agent import build_agent
    from examples.retail.db import load_db

    db = load_db()
    with serve_agent(build_agent("test", db=db, handoff=[]), db, **app_options) as running:
        yield running


@contextmanager
def serve_agent(agent: rk.Agent[Any], db: Any, **app_options: Any) -> Iterator[RunningServer]:
    """``agent`` served by :func:`resolvekit.serve.create_app` until the block ends; ``db`` is
    its backend, for the test to read."""
    import uvicorn

    from resolvekit.serve import create_app

    app = create_app(agent, **app_options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
            loop.run_until_complete(agent.close())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="widget-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", agent=agent, db=db, loop=loop)
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()
