"""Asking, listing and deciding approvals on every store (memory, SQLite, PostgreSQL, encrypted),
and two supervisors deciding at once over the same database from two agents: one wins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk

from .refunds import Bank, build

StoreMaker = Callable[[], rk.Store]


@pytest.fixture(params=["memory", "sqlite", "postgres", "encrypted"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> StoreMaker:
    """Opens the same store again on each call (a second process would)."""
    if request.param == "memory":
        shared = rk.MemoryStore()
        return lambda: shared
    if request.param == "sqlite":
        return lambda: rk.SQLiteStore(tmp_path / "s.db")
    if request.param == "encrypted":
        key = rk.EncryptedStore.new_key()
        return lambda: rk.EncryptedStore(rk.SQLiteStore(tmp_path / "e.db"), key=key)
    url = request.getfixturevalue("postgres_url")
    table = f"t_{uuid.uuid4().hex[:12]}"
    return lambda: rk.PostgresStore(url, table=table)


async def test_ask_list_and_decide_on_every_store(stores: StoreMaker) -> None:
    bank = Bank()
    support = build(bank, store=stores())
    asked = await support.handle("c1", "refund CH2002")
    assert asked.pending == "approval"
    console = build(bank, store=stores())
    [row] = await console.approvals(role="team_lead")
    assert (row.customer_id, row.amount, row.role) == ("c1", 120.0, "team_lead")
    decided = await console.decide(row.id, approve=True, approver="ana", role="team_lead")
    assert decided.result.outcome == "resolved" and bank.refunds == [("CH2002", 120.0)]
    assert await support.approvals() == []
    with pytest.raises(rk.ApprovalAlreadyDecided):
        await support.decide(row.id, approve=False, approver="bob", role="team_lead")
    assert bank.refunds == [("CH2002", 120.0)]
    await support.close()
    await console.close()


async def test_two_supervisors_deciding_at_once_one_wins(stores: StoreMaker) -> None:
    bank = Bank()
    first = build(bank, store=stores())
    await first.handle("c1", "refund CH2002")
    [row] = await first.approvals()
    second = build(bank, store=stores())

    async def attempt(agent: rk.Agent[Bank], who: str, approve: bool) -> Any:
        try:
            return await agent.decide(row.id, approve=approve, approver=who, role="team_lead")
        except rk.ApprovalAlreadyDecided as exc:
            return exc

    outcomes = await asyncio.gather(attempt(first, "ana", True), attempt(second, "bob", False))
    won = [o for o in outcomes if isinstance(o, rk.Decided)]
    lost = [o for o in outcomes if isinstance(o, rk.ApprovalAlreadyDecided)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].approver == won[0].approval.approver
    assert len(bank.refunds) == (1 if won[0].approval.approved else 0)
    await first.close()
    await second.close()
