"""The message feed (``GET /v1/customers/{id}/messages?wait=``): how long a human agent's reply
takes to reach a waiting long poll, and what idle long polls cost the store.

Two apps (two workers, each its own agent) share one SQLite store file. ``--customers``
customers of the shop agent are handed off; each has a long poll waiting on app A (in process,
through httpx's ASGI transport). A console on app B's agent replies to them one at a time, a
random fraction of the feed interval apart; the time from the reply being saved to its poll
answering is the latency. Figures per ``feed_interval`` (``--intervals``):

- ``p50`` / ``p95`` / ``max`` latency (ms), against the baseline measured in the same run: one
  ``GET .../conversation`` (one store read and its JSON over the same transport);
- ``reads/s``: store reads made by ``--customers`` idle long polls during ``--idle`` seconds
  (every poll reads once per interval), and this process's CPU per read.

Run from the repository root::

    .venv/bin/python tools/bench/bench_feed.py                 # ~1 min
    .venv/bin/python tools/bench/bench_feed.py --customers 50 --intervals 1 0.25
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from resolvekit.console import Console  # noqa: E402
from resolvekit.models import infer_model  # noqa: E402
from tests.engine.shop import Backend, build_agent  # noqa: E402

HANDOFF = "cancel order W5555555, ordered by mistake"
KEY = "bench-key"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Counted:
    """Counts a store's ``open_conversation`` reads (what each poll does once per interval)."""

    def __init__(self, store: Any) -> None:
        self.reads = 0
        real = store.open_conversation

        async def counted(customer_id: str) -> Any:
            self.reads += 1
            return await real(customer_id)

        store.open_conversation = counted


async def run(customers: int, interval: float, idle: float, db: str) -> dict[str, float]:
    agents = [
        build_agent(Backend(), infer_model("test"), store=f"sqlite:///{db}", handoff=[])
        for _ in "ab"
    ]
    app = agents[0].to_asgi(api_keys=[KEY], feed_interval=interval, key_rate=None)
    counted = Counted(agents[0].store)
    console = Console(agents[1], reply_target=lambda reply: None)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=120
        ) as client:
            ids, cursors = [], []
            for n in range(customers):
                url = f"/v1/customers/b{n}"
                body = (await client.post(f"{url}/messages", json={"text": HANDOFF})).json()
                ids.append(body["conversation_id"])
                cursors.append((await client.get(f"{url}/conversation")).json()["cursor"])
            base = []
            for n in range(customers):
                started = time.perf_counter()
                await client.get(f"/v1/customers/b{n}/conversation")
                base.append((time.perf_counter() - started) * 1000)

            def poll(n: int) -> Any:
                params = {"after": cursors[n], "wait": 30}
                return client.get(f"/v1/customers/b{n}/messages", params=params)

            # idle: every poll waiting, nothing to say
            polls = [asyncio.create_task(poll(n)) for n in range(customers)]
            await asyncio.sleep(interval)  # all of them past their first read
            reads, cpu = counted.reads, time.process_time()
            await asyncio.sleep(idle)
            reads, cpu = counted.reads - reads, time.process_time() - cpu
            # replies, one at a time, at random points of the interval
            latency = []
            for n in range(customers):
                await asyncio.sleep(random.uniform(0, interval))
                await console.reply(ids[n], f"Alex here, customer {n}.", human="Alex")
                saved = time.perf_counter()
                answer = (await polls[n]).json()
                latency.append((time.perf_counter() - saved) * 1000)
                assert [m["text"] for m in answer["messages"]] == [f"Alex here, customer {n}."]
                polls[n] = asyncio.create_task(asyncio.sleep(0))
            await asyncio.gather(*polls)
    for agent in agents:
        await agent.close()
    return {
        "base": statistics.median(base),
        "p50": percentile(latency, 0.5),
        "p95": percentile(latency, 0.95),
        "max": max(latency),
        "reads_s": reads / idle,
        "cpu_read_us": cpu / max(reads, 1) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.25])
    parser.add_argument("--idle", type=float, default=5.0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.customers} customers waiting")
    print(f"{'interval s':>10} {'conv GET ms':>11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
          f" {'p50/GET':>8} {'reads/s':>8} {'cpu/read us':>11}")  # fmt: skip
    for interval in args.intervals:
        with tempfile.TemporaryDirectory() as folder:
            got = asyncio.run(run(args.customers, interval, args.idle, f"{folder}/feed.db"))
        print(
            f"{interval:>10g} {got['base']:>11.1f} {got['p50']:>8.0f} {got['p95']:>8.0f}"
            f" {got['max']:>8.0f} {got['p50'] / got['base']:>8.1f} {got['reads_s']:>8.1f}"
            f" {got['cpu_read_us']:>11.0f}"
        )


if __name__ == "__main__":
    main()
