"""Per-turn engine overhead: resolvekit against openai-agents and pydantic-ai, instant fake models.

Every agent gets the same two read tools (``get_order``, ``get_shipping``, both async and instant)
and a fake model that answers at once, so the wall time of a turn is the framework's own
overhead. The scenarios:

- ``rk free``: ``free_mode=True``; the model calls ``get_order``, then ``get_shipping``, then
  replies (three model steps in one turn) -- the same work the peers do.
- ``rk playbook``: the model starts an intent with its one slot (one model step); the playbook
  makes two ``ctx.call`` and resolves (two journaled tool steps).
- both again on a SQLite store in a temporary directory (durable: every turn is persisted), and
  on PostgreSQL (a throwaway ``pgserver`` on a Unix socket) when psycopg and pgserver are installed.
- ``openai-agents``: ``Runner.run`` with a fake ``agents.models.interface.Model``, tracing off.
- ``pydantic-ai``: ``pydantic_ai.Agent`` with ``FunctionModel``.
- ``openai-agents + SQLiteSession``: the peer's own durable history, next to rk's SQLite rows.

Two shapes of traffic: *short* (every turn from a new customer; each framework starts from an
empty conversation) and *long* (each customer talks for ``--long-turns`` turns, so transcripts
and journals grow; peers carry their history the way their docs show: ``to_input_list()`` and
``message_history``). Variants run interleaved in rounds so the noise of a shared machine spreads
evenly over them. Then ``import resolvekit`` is timed in fresh interpreters against ``import
pydantic``.

Run from the repository root::

    .venv/bin/python tools/bench/bench_turn.py            # about 1-2 minutes on 2 cores
    .venv/bin/python tools/bench/bench_turn.py --turns 90 --rounds 1 --long-turns 10  # quick
    .venv/bin/python tools/bench/bench_turn.py --profile  # + cProfile of rk's turns
    .venv/bin/python tools/bench/bench_turn.py --what-if  # + unshipped fixes, marked *, and
                                                          #   micro costs (docs/benchmarks.md)
    .venv/bin/python tools/bench/bench_turn.py --write    # the second tool is a write

``--write`` makes every framework's second tool a write, ``add_note`` (rk: ``effect="write"``,
no confirmation, so it is journaled ahead and checkpointed before it runs; the peers: a plain
function tool), the shape where the outside review measured openai-agents at only ~10x.

The peers are optional: install them with ``pip install -e '.[bench]'``; a missing one is skipped
with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import itertools
import json
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

import resolvekit as rk  # noqa: E402

ORDER = {"id": "W1234567", "status": "shipped", "items": ["lamp"]}
SHIPPING = {"carrier": "UPS", "eta": "2026-05-12", "tracking": "1Z999"}
REPLY = "Your order W1234567 shipped with UPS and arrives on 2026-05-12."

Turn = Callable[[str, str], Awaitable[None]]
"""``turn(conversation_key, text)`` handles one customer message."""


@dataclass(kw_only=True)
class Variant:
    """One framework configuration being timed."""

    name: str
    make_turn: Callable[[], Turn]
    """Builds a fresh agent and returns its per-turn coroutine function."""
    group: str
    """``memory`` (in-process state) or ``durable`` (persisted per turn)."""
    times: dict[str, list[float]] = field(default_factory=dict)
    """Per-turn wall seconds for each traffic shape (``short``, ``long``)."""
    cpu: dict[str, list[float]] = field(default_factory=dict)
    """Per-turn CPU seconds of the process (all threads): wall time minus preemption by the
    other work on a shared machine, plus any work done in threads."""
    by_position: list[list[float]] = field(default_factory=list)
    """Long traffic only: seconds of the n-th turn of each conversation."""


# -- resolvekit -------------------------------------------------------------------------------


async def _get_order(order_id: str) -> dict[str, Any]:
    """Look up an order.

    Args:
        order_id: the order number, e.g. W1234567.
    """
    return dict(ORDER, id=order_id)


async def _get_shipping(order_id: str) -> dict[str, Any]:
    """Look up an order's shipment.

    Args:
        order_id: the order number, e.g. W1234567.
    """
    return dict(SHIPPING)


async def _add_note(order_id: str, note: str) -> dict[str, Any]:
    """Add a note to an order and return its shipment (a write).

    Args:
        order_id: the order number, e.g. W1234567.
        note: the note to add.
    """
    return dict(SHIPPING)


WRITE = False
"""``--write``: the second tool is ``add_note`` (a write) instead of ``get_shipping``."""


def _second() -> tuple[str, Callable[..., Awaitable[dict[str, Any]]], dict[str, Any]]:
    """The second tool every framework calls: its name, function and arguments."""
    if WRITE:
        return "add_note", _add_note, {"order_id": "W1234567", "note": "asked for an update"}
    return "get_shipping", _get_shipping, {"order_id": "W1234567"}


def _tool_results_this_turn(messages: list[rk.Message]) -> int:
    count = 0
    for message in reversed(messages):
        if message.role == "customer":
            break
        if message.role == "tool":
            count += 1
    return count


def _store_url(store: Any) -> Any:
    """``memory://``, a store object, or a directory (a new SQLite file in it: one per agent,
    so variants never share conversations)."""
    if isinstance(store, Path):
        return f"sqlite:///{store / f'rk-{next(_DB_NUMBERS)}.db'}"
    if isinstance(store, tuple) and store[0] == "postgres":
        # A new table per agent on the bench's throwaway server, as SQLite gets a new file.
        from resolvekit.sessions.postgres import PostgresStore

        return PostgresStore(store[1], table=f"bench_{next(_DB_NUMBERS)}")
    if isinstance(store, tuple) and store[0] == "sqlite-full":
        # What-if: fsync every commit, like SQLite's default (and openai-agents' SQLiteSession).
        from resolvekit.sessions.sqlite import SQLiteStore

        sqlite_store = SQLiteStore(store[1] / f"rk-{next(_DB_NUMBERS)}.db")
        sqlite_store._db.execute("PRAGMA synchronous=FULL")
        return sqlite_store
    return store


_DB_NUMBERS = itertools.count()


async def _fast_retry(fn: Callable[[], Awaitable[Any]], **options: Any) -> Any:
    """What-if: call once directly; build the tenacity machinery only after a failure."""
    from resolvekit import _retry

    try:
        return await fn()
    except BaseException as exc:
        if options["attempts"] <= 1 or not options["retry_on"](exc):
            raise
    wait = _retry.backoff_delay(
        1,
        initial=options.get("initial", 0.5),
        max_wait=options.get("max_wait", 20.0),
        jitter=options.get("jitter", 0.5),
    )
    await asyncio.sleep(wait)
    return await _SHIPPED_RETRY(fn, **dict(options, attempts=options["attempts"] - 1))


def _shipped_retry() -> Any:
    from resolvekit import _retry

    return _retry.retry_async


_SHIPPED_RETRY = _shipped_retry()


def rk_free(store: Any, *, fast_retry: bool = False) -> Callable[[], Turn]:
    """resolvekit free mode: call_tool a, call_tool b, reply.

    Args:
        store: ``"memory://"``, ``"indexed"`` (what-if store), a store, or a directory for a
            new SQLite file.
        fast_retry: what-if: tools skip tenacity unless they fail (patched for this turn only).
    """

    second, second_fn, second_args = _second()
    effect: Literal["read", "write"] = "write" if WRITE else "read"

    def make() -> Turn:
        def decide(request: rk.ModelRequest) -> Any:
            done = _tool_results_this_turn(request.messages)
            if done == 0:
                return rk.CallTool(tool="get_order", args={"order_id": "W1234567"})
            if done == 1:
                return rk.CallTool(tool=second, args=second_args)
            return rk.Reply(text=REPLY)

        model = rk.FunctionModel(decide)
        agent: rk.Agent[None] = rk.Agent(
            name="bench", model=model, store=_store_url(store), free_mode=True
        )
        agent.tool(name="get_order")(_get_order)
        agent.tool(name=second, effect=effect)(second_fn)

        async def turn(customer: str, text: str) -> None:
            if fast_retry:
                from resolvekit import _retry

                _retry.retry_async = _fast_retry
                try:
                    result = await agent.handle(customer, text)
                finally:
                    _retry.retry_async = _SHIPPED_RETRY
            else:
                result = await agent.handle(customer, text)
            model.requests.clear()  # the test double keeps every request; not engine state
            if result.reply != REPLY:
                raise AssertionError(f"rk free: unexpected turn {result.outcome}: {result.reply}")

        return turn

    return make


class TrackOrder(rk.Intent):
    """Customer asks where an order is."""

    order_id: str = rk.Slot(pattern=r"W\d{7}", ask="Which order?")


def rk_playbook(store: Any) -> Callable[[], Turn]:
    """resolvekit playbook mode: start_intent with its slot; two ctx.call; resolve."""

    second, second_fn, second_args = _second()
    effect: Literal["read", "write"] = "write" if WRITE else "read"

    def make() -> Turn:
        model = rk.FunctionModel(
            lambda request: rk.StartIntent(intent="TrackOrder", slots={"order_id": "W1234567"})
        )
        agent: rk.Agent[None] = rk.Agent(name="bench", model=model, store=_store_url(store))
        get_order = agent.tool(name="get_order")(_get_order)
        then = agent.tool(name=second, effect=effect)(second_fn)

        @agent.playbook(TrackOrder)
        async def track(ctx: rk.Context[None], intent: TrackOrder) -> rk.PlaybookOutcome:
            order = await ctx.call(get_order, order_id=intent.order_id)
            ship = await ctx.call(then, **second_args)
            return ctx.resolve(
                f"Your order {order['id']} shipped with {ship['carrier']} "
                f"and arrives on {ship['eta']}."
            )

        async def turn(customer: str, text: str) -> None:
            result = await agent.handle(customer, text)
            model.requests.clear()
            if result.outcome != "resolved" or result.reply != REPLY:
                raise AssertionError(f"rk playbook: unexpected {result.outcome}: {result.reply}")

        return turn

    return make


# -- openai-agents ----------------------------------------------------------------------------


def peer_openai_agents(durable_dir: Path | None) -> Callable[[], Turn]:
    """openai-agents: a fake Model returning function_call, function_call, message."""
    import agents
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    agents.set_tracing_disabled(True)

    # The same functions as resolvekit's, registered under the same names.
    second, second_fn, second_args = _second()
    get_order = agents.function_tool(_get_order, name_override="get_order")
    then = agents.function_tool(second_fn, name_override=second)
    first_args = {"order_id": "W1234567"}

    class FakeModel(Model):
        """Answers at once: two function calls, then the final text."""

        def __init__(self) -> None:
            self.calls = itertools.count()

        async def get_response(
            self, system_instructions: Any, input: Any, *a: Any, **k: Any
        ) -> Any:
            done = 0
            items = [input] if isinstance(input, str) else input
            for item in reversed(items):
                if isinstance(item, str) or item.get("role") == "user":
                    break
                if item.get("type") == "function_call_output":
                    done += 1
            call_id = f"call_{next(self.calls)}"
            output: list[Any]
            if done < 2:
                output = [
                    ResponseFunctionToolCall(
                        id=f"fc_{call_id}",
                        call_id=call_id,
                        name="get_order" if done == 0 else second,
                        arguments=json.dumps(first_args if done == 0 else second_args),
                        type="function_call",
                        status="completed",
                    )
                ]
            else:
                output = [
                    ResponseOutputMessage(
                        id=f"msg_{call_id}",
                        type="message",
                        role="assistant",
                        status="completed",
                        content=[
                            ResponseOutputText(
                                text=REPLY, type="output_text", annotations=[], logprobs=[]
                            )
                        ],
                    )
                ]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("the benchmark does not stream")

    def make() -> Turn:
        agent = agents.Agent(
            name="bench",
            instructions="Help with orders.",
            model=FakeModel(),
            tools=[get_order, then],
        )
        histories: dict[str, list[Any]] = {}
        db = str(durable_dir / f"oa-{next(_DB_NUMBERS)}.db") if durable_dir else None

        async def turn(customer: str, text: str) -> None:
            if db is not None:
                session = agents.SQLiteSession(customer, db)
                result = await agents.Runner.run(agent, text, session=session)
                session.close()
            else:
                previous = histories.get(customer, [])
                run_input = [*previous, {"role": "user", "content": text}]
                result = await agents.Runner.run(agent, run_input)
                histories[customer] = result.to_input_list()
            if result.final_output != REPLY:
                raise AssertionError(f"openai-agents: unexpected {result.final_output!r}")

        return turn

    return make


# -- pydantic-ai ------------------------------------------------------------------------------


def peer_pydantic_ai() -> Callable[[], Turn]:
    """pydantic-ai: FunctionModel returning ToolCallPart, ToolCallPart, TextPart."""
    from pydantic_ai import Agent
    from pydantic_ai.messages import (
        ModelMessage,
        ModelRequest,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
        UserPromptPart,
    )
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    second, second_fn, second_args = _second()

    def decide(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = 0
        for message in reversed(messages):
            if not isinstance(message, ModelRequest):
                continue
            if any(isinstance(p, UserPromptPart) for p in message.parts):
                break
            done += sum(isinstance(p, ToolReturnPart) for p in message.parts)
        if done == 0:
            return ModelResponse(parts=[ToolCallPart("get_order", {"order_id": "W1234567"})])
        if done == 1:
            return ModelResponse(parts=[ToolCallPart(second, second_args)])
        return ModelResponse(parts=[TextPart(REPLY)])

    def make() -> Turn:
        agent = Agent(FunctionModel(decide), instructions="Help with orders.")

        agent.tool_plain(name="get_order")(_get_order)
        agent.tool_plain(name=second)(second_fn)

        histories: dict[str, list[ModelMessage]] = {}

        async def turn(customer: str, text: str) -> None:
            result = await agent.run(text, message_history=histories.get(customer))
            histories[customer] = result.all_messages()
            if result.output != REPLY:
                raise AssertionError(f"pydantic-ai: unexpected {result.output!r}")

        return turn

    return make


# -- measuring --------------------------------------------------------------------------------


def build_variants(
    tmp: Path, skip: list[str], what_if: bool, postgres: str | None = None
) -> list[Variant]:
    variants = [
        Variant(name="rk free", make_turn=rk_free("memory://"), group="memory"),
        Variant(name="rk playbook", make_turn=rk_playbook("memory://"), group="memory"),
        Variant(name="rk free sqlite", make_turn=rk_free(tmp), group="durable"),
        Variant(name="rk playbook sqlite", make_turn=rk_playbook(tmp), group="durable"),
    ]
    if postgres is None:
        skip.append("PostgreSQL (pip install -e '.[postgres,dev]' for psycopg and pgserver)")
    else:
        variants += [
            Variant(
                name="rk free postgres", make_turn=rk_free(("postgres", postgres)), group="durable"
            ),
            Variant(
                name="rk playbook postgres",
                make_turn=rk_playbook(("postgres", postgres)),
                group="durable",
            ),
        ]
    if what_if:
        variants += [
            Variant(
                name="rk free fastretry*",
                make_turn=rk_free("memory://", fast_retry=True),
                group="what-if",
            ),
            Variant(
                name="rk free sqlite-fsync*",
                make_turn=rk_free(("sqlite-full", tmp)),
                group="what-if",
            ),
        ]
    try:
        import agents  # noqa: F401
    except ImportError:
        skip.append("openai-agents (pip install openai-agents, or -e '.[bench]')")
    else:
        variants.append(
            Variant(name="openai-agents", make_turn=peer_openai_agents(None), group="memory")
        )
        variants.append(
            Variant(name="openai-agents sqlite", make_turn=peer_openai_agents(tmp), group="durable")
        )
    try:
        import pydantic_ai  # noqa: F401
    except ImportError:
        skip.append("pydantic-ai (pip install pydantic-ai-slim, or -e '.[bench]')")
    else:
        variants.append(Variant(name="pydantic-ai", make_turn=peer_pydantic_ai(), group="memory"))
    return variants


async def _timed(v: Variant, shape: str, turn: Turn, customer: str, text: str) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    await turn(customer, text)
    seconds = time.perf_counter() - started
    v.times[shape].append(seconds)
    v.cpu[shape].append(time.process_time() - cpu)
    return seconds


async def run_short(variants: list[Variant], turns: int, rounds: int, warmup: int) -> None:
    """Every turn from a new customer, on one long-lived agent per variant."""
    live = {v.name: v.make_turn() for v in variants}
    for v in variants:
        for i in range(warmup):
            await live[v.name](f"warm-{i}", "where is my order W1234567?")
        v.times["short"], v.cpu["short"] = [], []
    per_round = max(1, turns // rounds)
    for r in range(rounds):
        for v in variants:
            gc.collect()
            turn = live[v.name]
            for i in range(per_round):
                await _timed(v, "short", turn, f"s{r}-{i}", "where is my order W1234567?")


async def run_long(variants: list[Variant], conversations: int, length: int, warmup: int) -> None:
    """``conversations`` customers per variant, each talking for ``length`` turns."""
    live = {v.name: v.make_turn() for v in variants}
    for v in variants:
        for i in range(warmup):
            await live[v.name](f"warm-{i}", "where is my order W1234567?")
        v.times["long"], v.cpu["long"] = [], []
        v.by_position = [[] for _ in range(length)]
    for c in range(conversations):
        for v in variants:
            gc.collect()
            turn = live[v.name]
            for n in range(length):
                text = f"and order W1234567 now? ({n})"
                seconds = await _timed(v, "long", turn, f"long-{c}", text)
                v.by_position[n].append(seconds)


def _ms(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        statistics.fmean(values) * 1000,
        statistics.median(values) * 1000,
        p95 * 1000,
    )


def report(variants: list[Variant], shape: str, lines: list[str]) -> None:
    base_names = ["rk free", "rk playbook"]
    bases = {v.name: statistics.fmean(v.times[shape]) for v in variants if v.name in base_names}
    header = (
        f"| {'variant':<22} | {'turns':>5} | {'mean ms':>8} | {'p50 ms':>7} | {'p95 ms':>7} "
        f"| {'cpu ms':>6} | {'÷ rk free':>9} | {'÷ rk playbook':>13} |"
    )
    lines += [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    for v in variants:
        values = v.times.get(shape, [])
        if not values:
            continue
        mean, p50, p95 = _ms(values)
        ratios = [
            f"{statistics.fmean(values) / bases[b]:.2f}" if b in bases else "-" for b in base_names
        ]
        cpu = statistics.fmean(v.cpu[shape]) * 1000
        lines.append(
            f"| {v.name:<22} | {len(values):>5} | {mean:>8.3f} | {p50:>7.3f} | {p95:>7.3f} "
            f"| {cpu:>6.3f} | {ratios[0]:>9} | {ratios[1]:>13} |"
        )


def verdict(variants: list[Variant], shape: str, lines: list[str]) -> None:
    """The issue's target: resolvekit's turn costs at most a tenth of each peer's."""
    by_name = {v.name: v for v in variants if v.times.get(shape)}
    peers = [n for n in ("openai-agents", "pydantic-ai") if n in by_name]
    if not peers:
        lines.append("\n(no peer installed: nothing to compare against)")
        return
    lines.append("")
    # The target is about the engine: durable stores (a file, a database server) are compared
    # with the peers' own durable sessions in the tables, not held to it.
    durable = {v.name for v in variants if v.group == "durable" or "sqlite" in v.name}
    for rk_name in [v.name for v in variants if v.name.startswith("rk ")]:
        if rk_name in durable:
            continue
        if rk_name not in by_name:
            continue
        ours = by_name[rk_name].times[shape]
        parts = []
        for peer in peers:
            theirs = by_name[peer].times[shape]
            mean_ratio = statistics.fmean(theirs) / statistics.fmean(ours)
            p50_ratio = statistics.median(theirs) / statistics.median(ours)
            parts.append(f"{peer} is {mean_ratio:.1f}x (mean) / {p50_ratio:.1f}x (p50)")
        met = all(
            statistics.fmean(by_name[p].times[shape]) >= 10 * statistics.fmean(ours) for p in peers
        )
        lines.append(f"- {rk_name}: {'; '.join(parts)} -> target 10x {'met' if met else 'NOT met'}")


async def micro(lines: list[str], repeats: int = 3000) -> None:
    """Per-call costs of pieces of a turn, to size the suggested fixes."""
    from resolvekit._retry import retry_async

    async def instant() -> int:
        return 1

    def instant_sync() -> int:
        return 1

    async def per_call(make: Callable[[], Awaitable[Any]]) -> float:
        started = time.perf_counter()
        for _ in range(repeats):
            await make()
        return (time.perf_counter() - started) / repeats * 1e6

    direct = await per_call(instant)
    retried = await per_call(
        lambda: retry_async(instant, attempts=3, retry_on=lambda e: True, initial=0.2, max_wait=2.0)
    )
    threaded = await per_call(lambda: asyncio.to_thread(instant_sync))
    lines += [
        "| piece                                                   | µs per call |",
        "|---------------------------------------------------------|-------------|",
        f"| {'await tool()':<55} | {direct:>11.1f} |",
        f"| {'_retry.retry_async(tool, attempts=3) (tenacity)':<55} | {retried:>11.1f} |",
        f"| {'asyncio.to_thread(sync_tool) (how sync tools run)':<55} | {threaded:>11.1f} |",
    ]
    # What persisting a grown conversation costs: rk saves and loads the whole row every turn.
    from resolvekit.sessions import decode_conversation, encode_conversation
    from resolvekit.sessions.memory import MemoryStore

    store = MemoryStore()
    turn = rk_free(store)()
    store_turns = 50
    for n in range(store_turns):
        await turn("grow", f"order W1234567 ({n})")
    conversation = await store.open_conversation("grow")
    assert conversation is not None
    raw = encode_conversation(conversation)
    started = time.perf_counter()
    for _ in range(200):
        encode_conversation(conversation)
    dump = (time.perf_counter() - started) / 200 * 1e6
    started = time.perf_counter()
    for _ in range(200):
        decode_conversation(conversation.id, raw, where="bench")
    load = (time.perf_counter() - started) / 200 * 1e6
    lines += [
        f"| {f'save: encode_conversation, {store_turns}-turn conv, {len(raw) // 1024} KiB':<55} "
        f"| {dump:>11.1f} |",
        f"| {'load: decode_conversation, same':<55} | {load:>11.1f} |",
    ]


def report_growth(variants: list[Variant], lines: list[str]) -> None:
    """How the cost of a turn grows with the conversation (long traffic)."""
    length = len(variants[0].by_position) if variants else 0
    if not length:
        return
    picks = sorted({0, 1, length // 2, length - 1})
    header = "| variant                | " + " | ".join(f"turn {p + 1:>2} ms" for p in picks) + " |"
    lines += [header, "|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|"]
    for v in variants:
        cells = [f"{statistics.median(v.by_position[p]) * 1000:>10.3f}" for p in picks]
        lines.append(f"| {v.name:<22} | " + " | ".join(cells) + " |")


def report_short_drift(variants: list[Variant], lines: list[str]) -> None:
    """Short traffic piles customers into one store: does a turn slow down as it fills?"""
    lines.append("| variant                | first 10% p50 ms | last 10% p50 ms |")
    lines.append("|------------------------|------------------|-----------------|")
    for v in variants:
        values = v.times.get("short", [])
        tenth = max(1, len(values) // 10)
        first = statistics.median(values[:tenth]) * 1000
        last = statistics.median(values[-tenth:]) * 1000
        lines.append(f"| {v.name:<22} | {first:>16.3f} | {last:>15.3f} |")


# -- imports ----------------------------------------------------------------------------------

IMPORTS = {
    "import pydantic (baseline)": "import pydantic",
    # The first BaseModel class loads pydantic's plugins (an entry-point scan of every
    # installed distribution): a cost every pydantic-based library pays once.
    "asyncio + pydantic + first model (floor)": (
        "import asyncio, pydantic; pydantic.create_model('M', x=(int, ...))"
    ),
    "import resolvekit": "import resolvekit",
    "import resolvekit; resolvekit.Agent": "import resolvekit; resolvekit.Agent",
    "import agents (openai-agents)": "import agents",
    "import pydantic_ai": "import pydantic_ai",
}


def time_import(statement: str, repeats: int) -> float | None:
    """Median seconds of ``statement`` in fresh interpreters (startup excluded)."""
    code = (
        "import time, sys; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
        f"{statement}; print(time.perf_counter() - t)"
    )
    samples = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "src")],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def report_imports(repeats: int, lines: list[str]) -> None:
    baseline = time_import(IMPORTS["import pydantic (baseline)"], repeats)
    lines.append("| statement                                | median ms | ÷ import pydantic |")
    lines.append("|------------------------------------------|-----------|-------------------|")
    for label, statement in IMPORTS.items():
        seconds = baseline if statement == "import pydantic" else time_import(statement, repeats)
        if seconds is None:
            lines.append(f"| {label:<40} | {'n/a':>9} | {'not installed':>17} |")
            continue
        ratio = f"{seconds / baseline:.2f}" if baseline else "-"
        lines.append(f"| {label:<40} | {seconds * 1000:>9.1f} | {ratio:>17} |")


# -- profiling --------------------------------------------------------------------------------


async def profile(turns: int, lines: list[str], tmp: Path) -> None:
    """cProfile of rk's short turns (memory and SQLite stores); the heaviest resolvekit
    functions, then the heaviest by own time."""
    for name, make in [
        ("rk free (memory://)", rk_free("memory://")),
        ("rk free sqlite", rk_free(tmp)),
        ("rk playbook (memory://)", rk_playbook("memory://")),
    ]:
        turn = make()
        for i in range(20):
            await turn(f"warm-{i}", "where is my order W1234567?")
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(turns):
            await turn(f"p-{i}", "where is my order W1234567?")
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"resolvekit", 20)
        stats.sort_stats("tottime").print_stats(15)
        lines += [f"### cProfile: {name}, {turns} short turns", "```", out.getvalue(), "```"]


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=360, help="short turns per variant")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (short)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed turns per variant")
    parser.add_argument("--long-turns", type=int, default=50, help="turns per long conversation")
    parser.add_argument(
        "--conversations", type=int, default=6, help="long conversations per variant"
    )
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--profile", action="store_true", help="cProfile rk's turns too")
    parser.add_argument("--profile-turns", type=int, default=300)
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also time suggested fixes: an indexed memory store (rows marked *) and micro costs",
    )
    parser.add_argument(
        "--write", action="store_true", help="the second tool is a write (add_note) everywhere"
    )
    args = parser.parse_args(argv)
    global WRITE
    WRITE = args.write

    skipped: list[str] = []
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rk-bench-") as tmpdir, _postgres(tmpdir) as pg:
        tmp = Path(tmpdir)
        variants = build_variants(tmp, skipped, args.what_if, pg)
        if args.only:
            variants = [v for v in variants if v.name in args.only]
        for message in skipped:
            print(f"skipped: {message} is not installed", file=sys.stderr)
        load_before = _load()
        started = time.perf_counter()
        asyncio.run(run_short(variants, args.turns, args.rounds, args.warmup))
        asyncio.run(run_long(variants, args.conversations, args.long_turns, args.warmup))
        elapsed = time.perf_counter() - started
        versions = _versions()
        lines += [
            "## Per-turn overhead, instant fake model, "
            + ("an async read tool and an async write tool" if WRITE else "two async read tools"),
            f"python {platform.python_version()} on {platform.machine()}, "
            f"{_cores()} cores; {versions}; timing took {elapsed:.0f}s; "
            f"load average {load_before} before, {_load()} after (other work shares the cores)",
            "",
            f"### Short: a new customer every turn ({args.turns} turns, {args.rounds} rounds)",
            "",
        ]
        report(variants, "short", lines)
        verdict(variants, "short", lines)
        lines += ["", "Store filling up (short traffic, same agent):", ""]
        report_short_drift(variants, lines)
        lines += [
            "",
            f"### Long: {args.conversations} customers x {args.long_turns} turns each",
            "",
        ]
        report(variants, "long", lines)
        verdict(variants, "long", lines)
        lines += ["", "Median ms of the n-th turn of a conversation:", ""]
        report_growth(variants, lines)
        lines += ["", f"### Import time (fresh interpreter, median of {args.import_repeats})", ""]
        report_imports(args.import_repeats, lines)
        if args.what_if:
            lines += ["", "### What-if: micro costs inside one rk turn", ""]
            asyncio.run(micro(lines))
        if args.profile:
            lines.append("")
            asyncio.run(profile(args.profile_turns, lines, tmp))
    print("\n".join(lines))
    return 0


@contextlib.contextmanager
def _postgres(tmpdir: str) -> Iterator[str | None]:
    """A throwaway PostgreSQL server on a Unix socket (``pgserver``), or None if not installed."""
    try:
        import psycopg  # noqa: F401
        from pgserver.postgres_server import get_server
    except ImportError:
        yield None
        return
    server = get_server(Path(tmpdir) / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def _load() -> str:
    import os

    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("pydantic", "openai-agents", "pydantic-ai-slim"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


if __name__ == "__main__":
    raise SystemExit(main())
