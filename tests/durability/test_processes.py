"""Several worker processes share one store and receive every message several times.

Four processes each deliver both messages of every customer ("cancel my order W1234567", then
"yes"), in their own random order of customers, with the same message ids: a webhook delivered
four times to a pool of workers. Afterwards each customer has one conversation, each message was
processed once, the bank holds one write per customer, and nobody was handed over for an unknown
outcome (a live process's write is never mistaken for a crashed one).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..sessions.conftest import new_table
from .test_kill_points import ROOT, open_store

PROCESSES = 4
CUSTOMERS = 30


def steps_for(seed: int) -> list[list[str]]:
    customers = [f"c{n}" for n in range(CUSTOMERS)]
    random.Random(seed).shuffle(customers)
    steps: list[list[str]] = []
    for customer in customers:
        steps.append(["say", customer, "cancel my order W1234567", f"{customer}-1"])
        steps.append(["say", customer, "yes", f"{customer}-2"])
    return steps


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.parametrize("mode", ["playbook", "free"])
def test_four_processes_with_duplicated_deliveries(
    store_url: str, tmp_path: Path, mode: str
) -> None:
    bank = tmp_path / "bank.db"
    table = new_table()
    base: dict[str, Any] = {
        "store": store_url,
        "table": table,
        "bank": str(bank),
        "mode": mode,
        "idempotent": False,  # a plain write: a spurious recovery would show as a handoff
        "kill": None,
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.durability._child",
                json.dumps({**base, "steps": steps_for(seed)}),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(PROCESSES)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    results = [json.loads(line) for out, _ in outputs for line in out.splitlines() if line]
    turns = [r for r in results if "outcome" in r]
    assert len(turns) == PROCESSES * CUSTOMERS * 2
    assert sum(not r["duplicate"] for r in turns) == CUSTOMERS * 2  # each message once
    assert [r for r in turns if r["handoff"]] == []  # 0 spurious unknown_outcome

    db = sqlite3.connect(bank)
    ledger = db.execute("SELECT customer, COUNT(*) FROM ledger GROUP BY customer").fetchall()
    db.close()
    assert sorted(ledger) == sorted((f"c{n}", 1) for n in range(CUSTOMERS))

    async def check_store() -> None:
        store = open_store(store_url, table)
        try:
            for n in range(CUSTOMERS):
                customer = f"c{n}"
                conversation = await store.open_conversation(customer)
                assert conversation is not None
                assert await store.history(customer) == []  # one conversation, never forked
                said = [m.text for m in conversation.transcript if m.role == "customer"]
                assert said == ["cancel my order W1234567", "yes"]
        finally:
            await store.close()

    asyncio.run(check_store())
