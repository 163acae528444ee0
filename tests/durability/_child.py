"""A worker process for the kill-point and multi-process tests (run with ``python -m``).

It builds a small shop agent on a real store (SQLite file or PostgreSQL table), with a write tool
that records into a separate SQLite "bank" database, and can SIGKILL itself at an instrumented
point of a write: before or after the write-ahead checkpoint, right after the backend committed,
before or after the result is saved. The parent process then starts a fresh worker to recover,
and checks the bank and the store.

Usage: ``python -m tests.durability._child '<json config>'``; the config holds ``store`` (URL),
``table`` (PostgreSQL), ``bank`` (path), ``mode`` (``playbook`` or ``free``), ``idempotent``,
``kill`` (a point or null), ``lease_ttl`` (SQLite: how soon a dead worker's lock expires) and
``steps``: a list of ``["say", customer, text, message_id]`` or
``["recover"]``. It prints one JSON line per step result.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from typing import Any

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse

KILL_POINTS = (
    "checkpoint.before",
    "checkpoint.after",
    "tool.after_commit",
    "result.before",
    "result.after",
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def bank(path: str) -> sqlite3.Connection:
    """The bank's ledger, opened by every worker on each write. Switching a file to WAL needs
    an exclusive lock that SQLite refuses at once ("database is locked") instead of waiting for
    it, so several workers opening a new file together retry until one of them has switched
    it: the write itself must never fail on the test's own bookkeeping."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    deadline = time.monotonic() + 30
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS ledger (n INTEGER PRIMARY KEY, customer TEXT, "
                "order_id TEXT, key TEXT UNIQUE)"
            )
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)


def write_state(conversation: rk.Conversation) -> str | None:
    """``started`` / ``done`` / ``error`` of the (last) cancel write, None before it."""
    steps = [
        s for r in conversation.runs for s in r.journal if s.kind == "call" and s.key == "cancel"
    ]
    return steps[-1].status if steps else None


def killing(store: Any, point: str | None) -> Any:
    """Wrap ``store.save`` to die before or after the save that records a write's state."""
    if point is None or not point.startswith(("checkpoint.", "result.")):
        return store
    stage, when = point.split(".")
    wanted = {"checkpoint": ("started",), "result": ("done", "error")}[stage]
    original = store.save

    async def save(conversation: rk.Conversation) -> None:
        hit = write_state(conversation) in wanted
        if hit and when == "before":
            die()
        await original(conversation)
        if hit and when == "after":
            die()

    store.save = save
    return store


def build(config: dict[str, Any]) -> rk.Agent[Any]:
    store: Any
    if config["store"].startswith("postgresql"):
        store = rk.PostgresStore(config["store"], table=config["table"])
    else:
        store = rk.SQLiteStore(config["store"], lease_ttl=config.get("lease_ttl", 15.0))
    store = killing(store, config.get("kill"))
    free = config["mode"] == "free"

    def decide(request: ModelRequest) -> ModelResponse:
        if request.pending is not None and request.pending.kind in ("confirm", "tool_confirm"):
            return ModelResponse(decision=rk.Confirm(answer="yes"))
        if request.pending is not None:
            return ModelResponse(decision=rk.Confirm(answer="yes"))
        last = request.messages[-1] if request.messages else None
        if free:
            if last is not None and last.role == "tool":
                return ModelResponse(decision=rk.Reply(text="Cancelled."))
            if "cancel" in request.text:
                return ModelResponse(
                    decision=rk.CallTool(tool="cancel", args={"order_id": "W1234567"})
                )
            return ModelResponse(decision=rk.Reply(text="How can I help?"))
        if "cancel" in request.text:
            return ModelResponse(
                decision=rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"})
            )
        return ModelResponse(decision=rk.Reply(text="How can I help?"))

    agent: rk.Agent[Any] = rk.Agent(
        name="durable",
        model=rk.FunctionModel(decide),
        store=store,
        handoff=[],
        free_mode=free,
    )
    point = config.get("kill")

    def commit(ctx: rk.Context[Any], order_id: str, key: str | None) -> str:
        db = bank(config["bank"])
        try:
            db.execute(
                "INSERT OR IGNORE INTO ledger (customer, order_id, key) VALUES (?, ?, ?)",
                (ctx.customer_id, order_id, key),
            )
        finally:
            db.close()
        if point == "tool.after_commit":
            die()
        return f"{order_id} cancelled"

    if config["idempotent"]:

        @agent.tool(effect="write", confirm=True, name="cancel")
        def cancel_keyed(ctx: rk.Context[Any], order_id: str, idempotency_key: str) -> str:
            """Cancel an order."""
            return commit(ctx, order_id, idempotency_key)

    else:

        @agent.tool(effect="write", confirm=True, name="cancel")
        def cancel_plain(ctx: rk.Context[Any], order_id: str) -> str:
            """Cancel an order."""
            return commit(ctx, order_id, None)

    class CancelOrder(rk.Intent):
        """Cancel an order."""

        examples = ["cancel my order"]
        order_id: str = rk.Slot(pattern=r"W\d{7}")

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Any], intent: CancelOrder) -> rk.PlaybookOutcome:
        if not await ctx.confirm(f"Cancel order {intent.order_id}?"):
            return ctx.resolve("kept")
        await ctx.call(agent.tools["cancel"], order_id=intent.order_id)
        return ctx.resolve(f"Order {intent.order_id} cancelled")

    return agent


def summary(result: rk.TurnResult) -> dict[str, Any]:
    return {
        "reply": result.reply,
        "outcome": result.outcome,
        "duplicate": result.duplicate,
        "handoff": result.handoff.reason if result.handoff else None,
        "conversation": result.conversation_id,
    }


async def run(config: dict[str, Any]) -> None:
    agent = build(config)
    try:
        for step in config["steps"]:
            if step[0] == "recover":
                results = await agent.recover(older_than=-3600)
                print(json.dumps({"recovered": [summary(r) for r in results]}), flush=True)
                continue
            _, customer, text, message_id = step
            for attempt in range(20):
                try:
                    result = await agent.handle(customer, text, message_id=message_id)
                    break
                except (rk.ConcurrentUpdate, rk.StoreError) as exc:  # retried like a webhook
                    if attempt == 19:
                        raise
                    print(json.dumps({"retry": str(exc)[:200]}), flush=True)
                    await asyncio.sleep(0.05 * (attempt + 1))
            print(json.dumps(summary(result)), flush=True)
    finally:
        await agent.close()


if __name__ == "__main__":
    asyncio.run(run(json.loads(sys.argv[1])))
