"""The HTTP service under load: turns/s and p50/p99 over HTTP against the same agent in process.

An order-status agent (one intent, one read tool, the deterministic ``model="test"``, an
in-memory store) answers ``--customers`` customers (default 1,000), each sending ``--turns``
messages one after the other, at most ``--concurrency`` customers in flight:

- ``in-process``: ``await agent.handle(...)`` directly (the baseline);
- ``http``: ``POST /v1/customers/{id}/messages`` to ``resolvekit.serve`` under uvicorn in a
  subprocess on 127.0.0.1 (one worker, httptools and uvloop, an API key checked, rate limits
  off), over keep-alive connections (httpx, ``--concurrency`` connections);
- ``http-h11``: the same on uvicorn's pure-Python HTTP parser and asyncio's loop (what uvicorn
  uses when httptools and uvloop are not installed);
- ``http-stream`` (``--stream``): the same through the Server-Sent Events route, timed to
  the ``done`` event.

``cpu ms`` is CPU time per turn of the process that runs the agent (this one in process, the
server over HTTP); ``client`` is this process's CPU per turn over HTTP (httpx), which shares
the same two cores. Then the check: every customer's stored conversation is read back
(``agent.conversation`` in process; ``GET .../conversation`` over HTTP) and must hold each
message exactly once, with one agent reply each; ``--retries`` messages are sent again with
their ``message_id`` and must come back ``duplicate`` without adding a line. Lost or doubled
messages are counted and printed (the script exits 1 if there are any).

Run from the repository root::

    .venv/bin/python tools/bench/bench_http.py                   # ~2 min on 2 cores at load 16
    .venv/bin/python tools/bench/bench_http.py --customers 200 --stream
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

import httpx2  # noqa: E402
from pydantic import BaseModel  # noqa: E402

import resolvekit as rk  # noqa: E402

KEY = "bench-key"


class Order(BaseModel):
    id: str
    status: str


class OrderStatus(rk.Intent):
    """Customer asks where an order is."""

    examples = ("where is my order", "track my package", "status of order W1234567")
    order_id: str = rk.Slot(pattern=r"#?W\d{7}", ask="Which order?")


def build_agent() -> rk.Agent[Any]:
    """The benchmarked agent (the same in process and in the server)."""
    agent: rk.Agent[Any] = rk.Agent("Bench", model="test", store="memory://", handoff=[])

    @agent.tool(effect="read")
    async def get_order(ctx: rk.Context[Any], order_id: str) -> Order:
        """Look up an order.

        Args:
            order_id: the order number.
        """
        return Order(id=order_id, status="shipped")

    @agent.playbook(OrderStatus)
    async def status(ctx: rk.Context[Any], intent: OrderStatus) -> rk.PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        return ctx.resolve(f"Order {order.id} is {order.status}")

    return agent


def app_factory() -> Any:
    """The server's app (``uvicorn bench_http:app_factory --factory``)."""
    return build_agent().to_asgi(api_keys=[KEY], customer_rate=None, key_rate=None)


def message(customer: int, turn: int) -> str:
    return f"where is order W{customer:07d}, message {turn}"


Send = Callable[[str, str, str], Awaitable[dict[str, Any]]]


async def drive(
    send: Send, customers: int, turns: int, concurrency: int
) -> tuple[float, list[float]]:
    """Every customer's turns, ``concurrency`` customers at a time; wall time and latencies."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def customer(c: int) -> None:
        async with gate:
            for t in range(turns):
                started = time.perf_counter()
                result = await send(f"c{c}", message(c, t), f"c{c}-m{t}")
                latencies.append(time.perf_counter() - started)
                assert result["outcome"] == "resolved", result

    started = time.perf_counter()
    await asyncio.gather(*(customer(c) for c in range(customers)))
    return time.perf_counter() - started, latencies


Read = Callable[[str], Awaitable[list[tuple[str, str]]]]


async def check(
    read: Read, send: Send, customers: int, turns: int, retries: int
) -> tuple[int, int]:
    """Lost and doubled messages, after ``retries`` redeliveries."""
    rng = random.Random(7)
    for _ in range(retries):
        c, t = rng.randrange(customers), rng.randrange(turns)
        result = await send(f"c{c}", message(c, t), f"c{c}-m{t}")
        assert result["duplicate"], result
    lost = doubled = 0
    for c in range(customers):
        lines = await read(f"c{c}")
        said = [text for role, text in lines if role == "customer"]
        replies = [text for role, text in lines if role == "agent"]
        for t in range(turns):
            count = said.count(message(c, t))
            lost += count == 0
            doubled += max(0, count - 1)
        doubled += max(0, len(replies) - turns)
        lost += max(0, turns - len(replies))
    return lost, doubled


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, fast: bool) -> subprocess.Popen[bytes]:
    """uvicorn with httptools and uvloop (``fast``, its default when they are installed) or
    with its pure-Python parser h11 on asyncio's loop."""
    path = os.pathsep.join([str(ROOT / "src"), str(Path(__file__).parent)])
    http = ["httptools", "--loop", "uvloop"] if fast else ["h11", "--loop", "asyncio"]
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench_http:app_factory", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--http", *http],
        env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_ready(url: str) -> None:
    async with httpx2.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


async def run_in_process(args: argparse.Namespace) -> dict[str, Any]:
    agent = build_agent()
    await agent.warm_up()

    async def send(customer: str, text: str, message_id: str) -> dict[str, Any]:
        result = await agent.handle(customer, text, message_id=message_id)
        return {"outcome": result.outcome, "duplicate": result.duplicate}

    async def read(customer: str) -> list[tuple[str, str]]:
        conv = await agent.conversation(customer)
        return [] if conv is None else [(m.role, m.text) for m in conv.transcript]

    cpu = time.process_time()
    wall, latencies = await drive(send, args.customers, args.turns, args.concurrency)
    cpu = time.process_time() - cpu
    lost, doubled = await check(read, send, args.customers, args.turns, args.retries)
    await agent.close()
    return {"wall": wall, "latencies": latencies, "lost": lost, "doubled": doubled, "cpu": cpu}


async def run_http(args: argparse.Namespace, *, stream: bool, fast: bool) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, fast)
    try:
        await wait_ready(url)
        limits = httpx2.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        async with httpx2.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits, timeout=120
        ) as client:

            async def send(customer: str, text: str, message_id: str) -> dict[str, Any]:
                path = f"/v1/customers/{customer}/messages"
                body = {"text": text, "message_id": message_id}
                if not stream:
                    response = await client.post(path, json=body)
                    response.raise_for_status()
                    data: dict[str, Any] = response.json()
                    return data
                async with client.stream("POST", path + "/stream", json=body) as response:
                    response.raise_for_status()
                    event = ""
                    async for line in response.aiter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "done":
                            done: dict[str, Any] = json.loads(line[6:])
                            return done
                raise AssertionError("the stream ended without a done event")

            async def read(customer: str) -> list[tuple[str, str]]:
                response = await client.get(f"/v1/customers/{customer}/conversation")
                if response.status_code == 404:
                    return []
                response.raise_for_status()
                return [(m["role"], m["text"]) for m in response.json()["transcript"]]

            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            wall, latencies = await drive(send, args.customers, args.turns, args.concurrency)
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
            lost, doubled = await check(read, send, args.customers, args.turns, args.retries)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(120)
    return {
        "wall": wall,
        "latencies": latencies,
        "lost": lost,
        "doubled": doubled,
        "cpu": server_cpu,
        "client_cpu": client_cpu,
    }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


async def main(args: argparse.Namespace) -> int:
    print(
        f"{args.customers} customers x {args.turns} turns, concurrency {args.concurrency}, "
        f"{args.retries} redeliveries; load before: {load()}"
    )
    variants: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
        ("in-process", lambda: run_in_process(args)),
        ("http", lambda: run_http(args, stream=False, fast=True)),
        ("http-h11", lambda: run_http(args, stream=False, fast=False)),
    ]
    if args.stream:
        variants.append(("http-stream", lambda: run_http(args, stream=True, fast=True)))
    results: dict[str, dict[str, Any]] = {}
    for name, run in variants:
        results[name] = await run()
    base = results["in-process"]
    base_rate = len(base["latencies"]) / base["wall"]
    header = ("variant", "turns/s", "ratio", "p50 ms", "p99 ms", "cpu ms", "client", "lost")
    print("{:<12} {:>9} {:>7} {:>8} {:>8} {:>7} {:>7} {:>5} doubled".format(*header))
    bad = 0
    for name, r in results.items():
        rate = len(r["latencies"]) / r["wall"]
        p50, p99 = (quantile(r["latencies"], q) * 1000 for q in (0.5, 0.99))
        per_turn = 1000 / len(r["latencies"])
        client = f"{r['client_cpu'] * per_turn:7.2f}" if "client_cpu" in r else "      -"
        print(
            f"{name:<12} {rate:9.1f} {rate / base_rate:6.2f}x {p50:8.1f} {p99:8.1f} "
            f"{r['cpu'] * per_turn:7.2f} {client} {r['lost']:5d} {r['doubled']:7d}"
        )
        bad += r["lost"] + r["doubled"]
    print(f"load after: {load()}")
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=2, help="messages per customer")
    parser.add_argument("--concurrency", type=int, default=32, help="customers in flight")
    parser.add_argument("--retries", type=int, default=50, help="redeliveries checked")
    parser.add_argument("--stream", action="store_true", help="also the SSE route")
    sys.exit(asyncio.run(main(parser.parse_args())))
