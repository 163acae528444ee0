"""A worker process for the durable-approval test (run with ``python -m``): the refund agent
of :mod:`tests.approvals.refunds` on a SQLite file, its bank's refunds kept in a JSON file, and
the clock moved ``offset`` seconds ahead (a simulated clock: ``time.time`` is shifted before
resolvekit is imported).

Usage: ``python -m tests.approvals._worker '<json config>'``; the config holds ``store``
(a SQLite path), ``bank`` (a JSON path), ``offset`` (seconds) and ``steps``: a list of
``["say", customer, text]``, ``["list"]`` or ``["decide", approve, approver, role]`` (the
oldest pending approval). It prints one JSON line per step.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

CONFIG: dict[str, Any] = json.loads(sys.argv[1]) if __name__ == "__main__" else {}
_real_time = time.time
time.time = lambda: _real_time() + float(CONFIG.get("offset", 0))  # before resolvekit loads

import resolvekit as rk  # noqa: E402

from .refunds import Bank, build  # noqa: E402


async def main(config: dict[str, Any], bank: Bank) -> None:
    sent: list[rk.Notification] = []
    agent = build(bank, store=rk.SQLiteStore(config["store"]), notify=sent.append)
    try:
        for step in config["steps"]:
            out: dict[str, Any] = {"now": time.time()}
            if step[0] == "say":
                result = await agent.handle(step[1], step[2])
                out.update(reply=result.reply, outcome=result.outcome, pending=result.pending)
            elif step[0] == "list":
                rows = await agent.approvals()
                out["rows"] = [
                    {"id": r.id, "role": r.role, "amount": r.amount, "waiting": r.waiting}
                    for r in rows
                ]
            else:
                [row, *_] = await agent.approvals()
                decided = await agent.decide(
                    row.id, approve=step[1], approver=step[2], role=step[3]
                )
                out.update(
                    decision=decided.approval.decision,
                    decided_at=decided.approval.decided_at,
                    outcome=decided.result.outcome,
                    notified=[(n.customer_id, n.channel, n.message) for n in sent],
                )
            print(json.dumps(out), flush=True)
    finally:
        await agent.close()


if __name__ == "__main__":
    bank_file = Path(CONFIG["bank"])
    bank = Bank()
    if bank_file.exists():
        bank.refunds = [tuple(r) for r in json.loads(bank_file.read_text())]  # type: ignore[misc]
    try:
        asyncio.run(main(CONFIG, bank))
    finally:
        bank_file.write_text(json.dumps(bank.refunds))
