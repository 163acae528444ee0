"""Per-call overhead of a connected tool against a direct (in-process) call.

The same retail read (``get_order_details`` of one order, the ~1 kB Order record) is called:

- ``direct``: the Python tool of ``examples/retail`` (``Tool.invoke``: validation, timeout,
  typed errors; the function runs in a worker thread);
- ``mcp http``: the same action served by the retail service's MCP endpoint (streamable HTTP,
  the ``mcp`` SDK), through :class:`resolvekit.connect.MCPToolset` (jsonschema validation, the
  same gates);
- ``openapi``: the same action through the service's HTTP API and OpenAPI document, with
  :class:`resolvekit.connect.OpenAPIToolset`;
- ``mcp stdio``: a read of the tests' MCP shop server (``tests/connect/servers/mcp_shop.py``)
  over stdio, the cheapest transport.

Variants run interleaved in rounds, so the noise of a shared machine spreads evenly; the figure
to read is each variant's ratio to ``direct`` in the same run, with the load (``uptime``).

Run from the repository root::

    .venv/bin/python tools/bench/bench_connect.py            # ~30 s
    .venv/bin/python tools/bench/bench_connect.py --calls 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


async def main(calls: int, rounds: int) -> None:
    from examples.retail import agent_tools as t
    from examples.retail.db import load_db
    from examples.retail.services import RetailService, remote_toolset
    from resolvekit.connect import MCPToolset

    db = load_db()
    order_id = next(iter(db.orders))
    user_id = db.orders[order_id].user_id
    ctx = SimpleNamespace(deps=db, facts={"user_id": user_id})
    args = {"order_id": order_id}
    svc = RetailService().start()
    mcp = remote_toolset("mcp", svc)
    api = remote_toolset("openapi", svc)
    state = Path(tempfile.mkdtemp()) / "shop.json"
    stdio = MCPToolset.stdio(
        sys.executable,
        [str(ROOT / "tests" / "connect" / "servers" / "mcp_shop.py"), str(state)],
        errlog=open(os.devnull, "w"),  # noqa: SIM115, ASYNC230
    )
    for toolset in (mcp, api, stdio):
        await toolset.start()
    direct = t.get_order_details
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "direct": lambda: direct.invoke(ctx, args, None),
        "mcp http": lambda: mcp.tools()["get_order_details"].invoke(ctx, args, None),
        "openapi": lambda: api.tools()["get_order_details"].invoke(ctx, args, None),
        "mcp stdio": lambda: stdio.tools()["get_order"].invoke(None, {"order_id": "W1"}, None),
    }
    same = [await variants[v]() for v in ("direct", "mcp http", "openapi")]
    assert same[0] == same[1] == same[2], "the three paths must return the same record"
    times: dict[str, list[float]] = {name: [] for name in variants}
    for call in variants.values():  # warm-up
        for _ in range(10):
            await call()
    load_before = _uptime()
    for _ in range(rounds):
        for name, call in variants.items():
            for _ in range(calls):
                start = time.perf_counter()
                await call()
                times[name].append(time.perf_counter() - start)
    load_after = _uptime()
    for toolset in (mcp, api, stdio):
        await toolset.close()
    svc.stop()
    base = statistics.mean(times["direct"])
    print(f"load before: {load_before}\nload after:  {load_after}")
    print(f"{calls} calls x {rounds} rounds per variant, interleaved by round")
    print(f"{'variant':<10} {'mean ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'x direct':>9}")
    for name, samples in times.items():
        ordered = sorted(samples)
        mean = statistics.mean(samples)
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[int(len(ordered) * 0.95)]
        print(
            f"{name:<10} {mean * 1e3:>9.3f} {p50 * 1e3:>8.3f} {p95 * 1e3:>8.3f} {mean / base:>9.1f}"
        )


def _uptime() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("load average:")[-1].strip()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.rounds))
