"""Real servers for the connector tests: the MCP shop over stdio and over streamable HTTP, and
the OpenAPI shop under uvicorn, each on 127.0.0.1 and a free port, stopped after the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

pytest.importorskip("mcp")

SERVERS = Path(__file__).parent / "servers"
MCP_SHOP = str(SERVERS / "mcp_shop.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds}s")


class Served:
    """A server subprocess on a local port, restartable (the kill-point tests)."""

    def __init__(self, args: list[str], port: int) -> None:
        self.args, self.port = args, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is not None:  # reap the one that died (or kill it) before the next
            self.stop()
            self.process.wait(10)
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="session")
def devnull() -> Iterator[TextIO]:
    """Where the stdio servers' stderr goes."""
    with open(os.devnull, "w") as sink:
        yield sink


@pytest.fixture
def shop_state(tmp_path: Path) -> Path:
    return tmp_path / "shop.json"


@pytest.fixture
def mcp_http(shop_state: Path) -> Iterator[Served]:
    port = free_port()
    served = Served([MCP_SHOP, str(shop_state), "--http", str(port)], port)
    served.start()
    try:
        yield served
    finally:
        served.stop()


HTTP_SHOP = str(SERVERS / "http_shop.py")


@pytest.fixture
def http_shop(shop_state: Path) -> Iterator[Served]:
    port = free_port()
    served = Served([HTTP_SHOP, str(shop_state), str(port)], port)
    served.start()
    try:
        yield served
    finally:
        served.stop()
