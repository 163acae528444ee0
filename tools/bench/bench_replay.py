"""Replay cost as a conversation grows: does turn 500 cost about what turn 10 costs?

A durable playbook replays its journal on every turn. This bench runs one long request whose
playbook does, on every turn, one tool call and one ``ctx.ask`` (the shape the outside review
measured: turn 500 cost 104-114 ms, the whole conversation 27 s, quadratic), on the memory,
SQLite and PostgreSQL stores, and prints the median CPU time of ``Agent.handle`` (the process's,
so the store's worker thread counts; wall time on a shared machine mostly measures the others)
around turns 10, 100, 250 and 500 (a window of 9 turns around each), and the ratio of turn 500
to turn 10 (goal: within 2x). The model is an instant ``FunctionModel`` that answers the pending
question, so what is timed is the engine, the replay and the store.

Run from the repository root (about a minute; PostgreSQL needs the ``dev`` extra's pgserver)::

    .venv/bin/python tools/bench/bench_replay.py
    .venv/bin/python tools/bench/bench_replay.py --turns 200 --stores memory sqlite
    .venv/bin/python tools/bench/bench_replay.py --stores memory --profile  # what still grows
    .venv/bin/python tools/bench/bench_replay.py --baseline main --rounds 3  # before and after

``--baseline REV`` measures git revision REV's library code (its ``src``, exported to a
temporary folder) and this checkout's with this bench, alternately, each run in a fresh
process, ``--rounds`` times: the two are compared at the same load. The last column, the
median of the last 50 turns over that of the first 50, is the steadier reading of the curve
on a busy machine (a 9-turn median can catch a burst of the neighbours' work).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(  # --src: the library code to measure (--baseline passes a revision's)
    0,
    sys.argv[sys.argv.index("--src") + 1]
    if "--src" in sys.argv
    else str(Path(__file__).resolve().parents[2] / "src"),
)

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse
from resolvekit.sessions.base import Store

ROOT = Path(__file__).resolve().parents[2]
MARKS = (10, 100, 250, 500)
_TAIL = "whole run s | last 50 ÷ first 50"


class Loop(rk.Intent):
    """Answer questions until told to stop."""

    examples: ClassVar[list[str]] = ["start the loop"]


def build(store: Store | str) -> rk.Agent[None]:
    def decide(request: ModelRequest) -> ModelResponse:
        pending = request.pending
        if pending is not None and pending.slot is not None:
            return ModelResponse(decision=rk.FillSlots(slots={pending.slot.name: request.text}))
        return ModelResponse(decision=rk.StartIntent(intent="Loop"))

    agent: rk.Agent[None] = rk.Agent(
        name="replay", model=rk.FunctionModel(decide), store=store, handoff=[]
    )

    @agent.tool
    def lookup(n: int) -> dict[str, int]:
        """Look something up."""
        return {"n": n, "square": n * n}

    @agent.playbook(Loop)
    async def loop(ctx: rk.Context[None], intent: Loop) -> rk.PlaybookOutcome:
        n = 0
        while True:
            found = await ctx.call(lookup, n=n)
            answer = await ctx.ask(f"Question {n} ({found['square']})?", int)
            if answer < 0:
                return ctx.resolve(f"stopped after {n} questions")
            n += 1

    return agent


async def run(store: Store | str, turns: int, profile: bool = False) -> list[float]:
    """CPU milliseconds (every thread of the process: the store's worker included) of each
    turn's ``handle``; CPU time, not wall time, so that other work on the machine does not
    blur the curve."""
    agent = build(store)
    times: list[float] = []
    try:
        await agent.handle("c", "start the loop")
        profiler = cProfile.Profile()
        for turn in range(turns):
            if profile and turn == turns - 50:
                profiler.enable()
            started = time.process_time()
            result = await agent.handle("c", str(turn))
            times.append((time.process_time() - started) * 1000)
            if result.pending != "ask":
                raise RuntimeError(f"turn {turn}: the loop stopped: {result.reply!r}")
    finally:
        await agent.close()
    if profile:
        profiler.disable()
        print(f"\ncProfile of the last 50 turns ({store!r}), by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return times


def around(times: list[float], turn: int) -> float:
    window = times[max(0, turn - 5) : turn + 4]
    return statistics.median(window) if window else float("nan")


def stores(names: list[str], tmp: Path) -> list[tuple[str, Any]]:
    chosen: list[tuple[str, Any]] = []
    for name in names:
        if name == "memory":
            chosen.append(("memory", "memory://"))
        elif name == "sqlite":
            chosen.append(("sqlite", f"sqlite:///{tmp / 'replay.db'}"))
        elif name == "postgres":
            try:
                from pgserver import postgres_server
            except ImportError:
                print("postgres: skipped (pip install pgserver)")
                continue
            server = postgres_server.get_server(Path(tempfile.mkdtemp(prefix="bench-pg-")))
            from resolvekit.sessions.postgres import PostgresStore

            chosen.append(("postgres", PostgresStore(server.get_uri(), table="replay")))
    return chosen


@contextmanager
def _exported(rev: str) -> Iterator[Path]:
    """Git revision ``rev``'s ``src``, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "src"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def _compare(args: argparse.Namespace, marks: list[int]) -> None:
    """Measure the baseline's code and this checkout's alternately, in fresh processes."""
    header = " | ".join(f"turn {m} ms" for m in marks)
    print(f"| code | round | load | store | {header} | last ÷ turn {marks[0]} | {_TAIL} |")
    print("|---|---:|---:|---|" + "---:|" * (len(marks) + 3))
    with _exported(args.baseline) as baseline:
        versions = [(args.baseline, baseline / "src"), ("this", ROOT / "src")]
        for round_ in range(1, args.rounds + 1):
            for tag, src in versions:
                load = os.getloadavg()[0]
                command = [sys.executable, __file__, "--src", str(src), "--turns", str(args.turns)]
                command += ["--stores", *args.stores]
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                for line in out.splitlines():
                    cells = [c.strip() for c in line.strip("|").split("|")]
                    if line.startswith("| ") and cells[0] in args.stores:
                        print(f"| {tag} | {round_} | {load:.1f} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--stores", nargs="*", default=["memory", "sqlite", "postgres"])
    parser.add_argument("--profile", action="store_true", help="cProfile the last 50 turns")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: runs of each")
    parser.add_argument("--src", help="the library code to measure (default: this checkout's)")
    args = parser.parse_args()
    marks = [m for m in MARKS if m <= args.turns]
    if args.baseline:
        _compare(args, marks)
        return
    load = os.getloadavg()
    print(f"## Replay cost per turn (one call + one ctx.ask per turn), {args.turns} turns, CPU ms")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores\n")
    header = " | ".join(f"turn {m:>3} ms" for m in marks)
    print(f"| store    | {header} | last ÷ turn {marks[0]} | {_TAIL} |")
    rule = "|".join("-" * 13 for _ in marks)
    print(f"|----------|{rule}|---------------|-------------|-------|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, store in stores(args.stores, Path(tmp)):
            times = asyncio.run(run(store, args.turns, args.profile))
            medians = [around(times, m - 1) for m in marks]
            cells = " | ".join(f"{v:>11.2f}" for v in medians)
            ratio = medians[-1] / medians[0]
            blocks = statistics.median(times[-50:]) / statistics.median(times[:50])
            total = sum(times) / 1000
            print(f"| {name:<8} | {cells} | {ratio:>13.2f} | {total:>11.1f} | {blocks:>5.2f} |")


if __name__ == "__main__":
    main()
