"""The engine tests' order-support agent served over MCP stdio (``run_stdio``): its read tools
and a ``handle`` tool. Run: ``python -m tests.connect.servers.agent_server`` from the root."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[3]),
    str(Path(__file__).resolve().parents[3] / "src"),
]

from resolvekit.connect.server import run_stdio  # noqa: E402
from tests.engine.shop import Backend, build_agent  # noqa: E402

if __name__ == "__main__":
    run_stdio(build_agent(Backend(), "test", handoff=[]))
