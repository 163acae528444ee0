"""Kill-point tests: a real child process is SIGKILLed at each instrumented point of a write.

For playbooks and free mode, idempotent and plain tools, SQLite and PostgreSQL, and every kill
point (before / after the write-ahead checkpoint, right after the backend committed, before /
after the result is saved), a child process runs "cancel my order" then "yes" and dies; a fresh
child then recovers by the redelivered message, by the customer's next message, or by the sweep
(``resolvekit recover``'s ``Agent.recover``). The parent checks the bank and the store:

- **0 duplicated**: the bank holds at most one write.
- **0 lost**: a yes that reached the store either produced exactly one write recorded as done,
  or a handoff saying the outcome is unknown.
- **0 unreported**: no write is left ``started``; a write in the bank that the journal does not
  record as done is in an ``unknown_outcome`` handoff.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk

from ..sessions.conftest import new_table
from ._child import KILL_POINTS

ROOT = Path(__file__).resolve().parents[2]
MODES = ("playbook", "free")
RECOVERIES = ("redeliver", "next", "sweep")


def run_child(config: dict[str, Any], *, expect_kill: bool) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.durability._child", json.dumps(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if expect_kill:
        assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])
    else:
        assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def bank_writes(path: Path) -> list[tuple[str, str | None]]:
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT order_id, key FROM ledger ORDER BY n").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def open_store(store_url: str, table: str) -> rk.Store:
    if store_url.startswith("postgresql"):
        return rk.PostgresStore(store_url, table=table)
    return rk.SQLiteStore(store_url)


async def conversations(store_url: str, table: str) -> list[rk.Conversation]:
    store = open_store(store_url, table)
    try:
        found = [await store.open_conversation("c")]
        found += await store.history("c")
        return [c for c in found if c is not None]
    finally:
        await store.close()


CASES = [
    pytest.param(
        mode,
        idempotent,
        point,
        RECOVERIES[n % len(RECOVERIES)],
    )
    for n, (mode, idempotent, point) in enumerate(
        itertools.product(MODES, (True, False), KILL_POINTS)
    )
]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.parametrize(("mode", "idempotent", "point", "recovery"), CASES)
def test_a_write_killed_at_any_point_is_done_once_or_reported(
    store_url: str, tmp_path: Path, mode: str, idempotent: bool, point: str, recovery: str
) -> None:
    bank = tmp_path / "bank.db"
    table = new_table()
    opening = "cancel my order W1234567"
    config: dict[str, Any] = {
        "store": store_url,
        "table": table,
        "bank": str(bank),
        "mode": mode,
        "idempotent": idempotent,
        "kill": None,
        "lease_ttl": 0.5,  # the killed worker's lock on the customer expires quickly
        "steps": [["say", "c", opening, "m1"]],
    }
    (asked,) = run_child(config, expect_kill=False)
    assert asked["outcome"] == "awaiting_customer", asked
    run_child({**config, "kill": point, "steps": [["say", "c", "yes", "m2"]]}, expect_kill=True)
    died_with = bank_writes(bank)
    assert len(died_with) <= 1
    then = {
        "redeliver": [["say", "c", "yes", "m2"]],
        "next": [["say", "c", "hello?", "m3"]],
        "sweep": [["recover"]],
    }[recovery]
    run_child({**config, "steps": then}, expect_kill=False)

    writes = bank_writes(bank)
    assert len(writes) <= 1, f"duplicated write: {writes}"  # 0 duplicated
    (conversation, *_) = asyncio.run(conversations(store_url, table))
    steps = [
        s for r in conversation.runs for s in r.journal if s.kind == "call" and s.key == "cancel"
    ]
    yes = any(
        s.kind == "confirm" and s.status == "done" and s.result is True
        for r in conversation.runs
        for s in r.journal
    )
    assert all(s.status != "started" for s in steps), "a write left started: unreported"
    handoff = conversation.handoff or {}
    reported = "unknown" in str(handoff.get("reason", ""))
    done = [s for s in steps if s.status == "done"]
    if writes and not done:
        assert reported, "a write reached the bank but is neither recorded nor reported"
    if yes:
        assert (len(writes) == 1 and done) or reported, "a confirmed write was lost"
    if done:
        assert len(writes) == 1, "the journal says done but the bank has no write"
    if not yes:
        assert writes == [], "a write without a recorded yes"
