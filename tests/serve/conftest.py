"""Fixtures of the HTTP service tests: the engine tests' shop agent behind the app, reached
through httpx's ASGI transport (lifespan included) or a real uvicorn server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

import resolvekit as rk
from resolvekit.exceptions import StoreUnavailable
from resolvekit.sessions.memory import MemoryStore
from tests.engine.shop import Backend, build_agent

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


class FlakyStore(MemoryStore):
    """A memory store that can be switched off: every call raises ``StoreUnavailable``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.saves_fail = False
        """Only saves fail (a turn that is under way when the store goes)."""

    def _fail_if_down(self) -> None:
        if self.down:
            raise StoreUnavailable("the store is down (test)")

    async def open_conversation(self, customer_id: str) -> Any:
        self._fail_if_down()
        return await super().open_conversation(customer_id)

    async def checkout(self, customer_id: str) -> Any:
        self._fail_if_down()
        return await super().checkout(customer_id)

    async def save(self, conversation: Any) -> None:
        self._fail_if_down()
        if self.saves_fail:
            raise StoreUnavailable("saves fail (test)")
        await super().save(conversation)

    @contextlib.asynccontextmanager
    async def lock(self, customer_id: str) -> AsyncIterator[None]:  # type: ignore[override]
        self._fail_if_down()
        async with super().lock(customer_id):
            yield


def shop_agent(**options: Any) -> rk.Agent[Backend]:
    """The cancel/status shop agent on the deterministic test model."""
    options.setdefault("handoff", [])
    return build_agent(Backend(), "test", **options)


@contextlib.asynccontextmanager
async def client_for(
    app: Any, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx client talking to ``app`` in this process, its lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers or {}, timeout=60
        ) as client:
            yield client


@pytest.fixture
def make_client() -> Callable[..., Any]:
    """``make_client(agent, **options)``: a client for ``agent.to_asgi(api_keys=[KEY], ...)``."""

    def make(agent: rk.Agent[Any] | None = None, **options: Any) -> Any:
        options.setdefault("api_keys", [KEY])
        app = (agent or shop_agent()).to_asgi(**options)
        return client_for(app, AUTH)

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server in a subprocess on a free 127.0.0.1 port: ``command`` gets ``--host`` and
    ``--port`` appended."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [*command, "--host", "127.0.0.1", "--port", str(self.port)]
        full_env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **env}
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}: {self.wait()}")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError("server did not start")

    def terminate(self) -> None:
        """Ask uvicorn to stop (SIGTERM), as an orchestrator does."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 120) -> str:
        """Wait for the process to end; its output."""
        out, _ = self.process.communicate(timeout=timeout)
        return out.decode(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)  # reaped, its pipe closed


@pytest.fixture
def serve_process() -> Iterator[Callable[..., Server]]:
    """``serve_process(target, env)``: a started server subprocess, killed after the test."""
    started: list[Server] = []

    def start(target: str, env: dict[str, str] | None = None, *, command: bool = False) -> Server:
        """``target``: an app factory for uvicorn, or with ``command`` the arguments of
        ``resolvekit serve``."""
        if command:
            args = [sys.executable, "-m", "resolvekit.cli", "serve", *target.split()]
        else:
            args = [sys.executable, "-m", "uvicorn", target, "--factory", "--log-level", "warning"]
        server = Server(args, env or {})
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.kill()
