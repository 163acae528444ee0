"""What OpenTelemetry tracing costs a turn: the same playbook turn with tracing off, on with
OpenTelemetry's no-op provider (``Agent(tracing=True)`` and no provider configured), and on with
the SDK exporting every span to memory through a ``SimpleSpanProcessor`` (the most a process pays
before any network exporter). Variants run interleaved in rounds, so the noise of a shared machine
spreads evenly over them; the ratios are to "off" in the same run.

The turn: the model starts an intent with its slot; the playbook makes two ``ctx.call`` (two
async read tools, instant) and resolves, on the memory store: 4 spans when traced (the turn, the
model decision, the playbook, two tool calls).

Run from the repository root (needs the ``otel`` extra)::

    .venv/bin/python tools/bench/bench_tracing.py [--turns 400 --rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import resolvekit as rk
from resolvekit.tracing import instrument


class TrackOrder(rk.Intent):
    """Customer asks where an order is."""

    order_id: str = rk.Slot(pattern=r"W\d{7}", ask="Which order?")


def build(tracing: str) -> tuple[Callable[[str], Awaitable[None]], Any]:
    """A turn function for ``tracing`` (``off``, ``noop``, ``sdk``) and the exporter (or None)."""
    model = rk.FunctionModel(
        lambda request: rk.StartIntent(intent="TrackOrder", slots={"order_id": "W1234567"})
    )
    agent: rk.Agent[None] = rk.Agent(name="bench", model=model, store="memory://")

    @agent.tool
    async def get_order(order_id: str) -> dict[str, str]:
        return {"id": order_id, "status": "shipped"}

    @agent.tool
    async def get_shipping(order_id: str) -> dict[str, str]:
        return {"carrier": "UPS", "eta": "Friday"}

    @agent.playbook(TrackOrder)
    async def track(ctx: rk.Context[None], intent: TrackOrder) -> rk.PlaybookOutcome:
        order = await ctx.call(get_order, order_id=intent.order_id)
        ship = await ctx.call(get_shipping, order_id=intent.order_id)
        return ctx.resolve(f"{order['id']} ships with {ship['carrier']}")

    exporter = None
    if tracing == "noop":
        from opentelemetry.trace import NoOpTracerProvider

        instrument(agent, tracer_provider=NoOpTracerProvider())
    elif tracing == "sdk":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrument(agent, tracer_provider=provider)

    async def turn(customer: str) -> None:
        result = await agent.handle(customer, "where is W1234567")
        model.requests.clear()
        if result.outcome != "resolved":
            raise AssertionError(f"unexpected {result.outcome}: {result.reply}")
        if exporter is not None:
            exporter.clear()

    return turn, exporter


async def timed(
    turn: Callable[[str], Awaitable[None]], name: str, n: int, start: int
) -> list[tuple[float, float]]:
    """``n`` turns, each from a new customer (the short shape): (wall ms, CPU ms) each."""
    times: list[tuple[float, float]] = []
    for i in range(n):
        began, cpu = time.perf_counter(), time.process_time()
        await turn(f"{name}-{start + i}")
        times.append(((time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000))
    return times


async def main(turns: int, rounds: int, warmup: int) -> None:
    load = os.getloadavg()[:3]
    variants = {name: build(name)[0] for name in ("off", "noop", "sdk")}
    for name, turn in variants.items():
        await timed(turn, f"warm-{name}", warmup, 0)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    per_round = turns // rounds
    for r in range(rounds):
        for name, turn in variants.items():
            gc.collect()
            samples[name] += await timed(turn, name, per_round, r * per_round)
    print(f"load average before: {load}, after: {os.getloadavg()[:3]}")
    head = ("tracing", "turns", "mean ms", "p50 ms", "p99 ms", "cpu ms", "p50/off", "cpu/off")
    print("{:<8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}".format(*head))
    off_p50 = statistics.median(w for w, _ in samples["off"])
    off_cpu = statistics.mean(c for _, c in samples["off"])
    for name, values in samples.items():
        wall = sorted(w for w, _ in values)
        cpu = statistics.mean(c for _, c in values)
        p50, p99 = statistics.median(wall), wall[min(len(wall) - 1, int(len(wall) * 0.99))]
        row = f"{name:<8} {len(wall):>6} {statistics.mean(wall):>8.3f} {p50:>8.3f} {p99:>8.3f}"
        print(f"{row} {cpu:>8.3f} {p50 / off_p50:>7.2f}x {cpu / off_cpu:>7.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=400, help="timed turns per variant")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=30, help="untimed turns per variant")
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.rounds, args.warmup))
