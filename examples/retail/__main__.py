"""Talk to the retail agent in the terminal, offline.

    .venv/bin/python -m examples.retail                     # a random customer from db.json
    .venv/bin/python -m examples.retail --user yusuf_rossi_9620
    .venv/bin/python -m examples.retail --demo              # a short scripted conversation

Type ``/why`` to see the intent, slots, tool calls and escalation decision behind the last turn;
an empty line or ``/quit`` ends the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Callable
from typing import TextIO

import resolvekit as rk

from .agent import build_agent
from .db import DataMissing, RetailDB, User, load_db

DEMO = [
    "Hi, I received my order and want to exchange something",
    "I'm Yusuf Rossi, zip 19122",
    "#W2378156",
    "the smart thermostat",
    "no, that's all",
    "Google Assistant",
    "yes",
    "no thanks, bye",
]


def introduce(db: RetailDB, user: User) -> str:
    """Who the person plays: what they need to authenticate, and their orders."""
    lines = [
        f"You are {user.name.first_name} {user.name.last_name} (user id {user.user_id}).",
        f"  email: {user.email}   zip: {user.address.zip}",
        "  orders:",
    ]
    for order_id in user.orders:
        order = db.orders[order_id]
        items = ", ".join(i.name for i in order.items)
        lines.append(f"    {order_id}  {order.status:<26} {items}")
    return "\n".join(lines)


def explain(result: rk.TurnResult) -> str:
    """The decision behind a turn, from its trace."""
    lines = [
        f"outcome: {result.outcome}   intent: {result.intent}   confidence: {result.confidence}"
    ]
    if result.slots:
        lines.append(f"slots: {json.dumps(result.slots)}")
    for event in result.trace:
        data = event.data
        if event.kind == "model":
            lines.append(f"model decision: {json.dumps(data.get('decision'), default=str)}")
        elif event.kind == "tool":
            shown = json.dumps(data.get("args", {}), default=str)
            status = data.get("status") or data.get("kind")
            lines.append(f"tool {data.get('tool')}({shown}) -> {status}")
        elif event.kind in ("escalation", "knowledge", "confirm", "ask", "playbook"):
            lines.append(f"{event.kind}: {json.dumps(data, default=str)[:200]}")
    if result.handoff is not None:
        lines.append(f"handed over: {result.handoff.reason}")
    else:
        lines.append("escalation: none")
    return "\n".join(lines)


async def chat(
    agent: rk.Agent[RetailDB],
    db: RetailDB,
    user: User,
    *,
    read: Callable[[str], str] = input,
    out: TextIO = sys.stdout,
) -> None:
    """The terminal chat loop (``read`` and ``out`` are injectable for tests)."""
    print(introduce(db, user), file=out)
    print("Type your messages; /why explains the last turn; an empty line ends.", file=out)
    last: rk.TurnResult | None = None
    customer = f"chat-{user.user_id}"
    while True:
        try:
            line = (await asyncio.to_thread(read, "you> ")).strip()
        except EOFError:
            return
        if not line or line == "/quit":
            return
        if line == "/why":
            print(explain(last) if last else "Nothing yet.", file=out)
            continue
        last = await agent.handle(customer, line, deps=db)
        print(f"agent> {last.reply}", file=out)
        if last.outcome == "escalated":
            return


async def demo(agent: rk.Agent[RetailDB], db: RetailDB, *, out: TextIO = sys.stdout) -> None:
    """Play :data:`DEMO` and show what changed in the database."""
    before = db.orders["#W2378156"].status
    for line in DEMO:
        result = await agent.handle("demo", line, deps=db)
        print(f"customer: {line}\nagent:    {result.reply}\n", file=out)
    order = db.orders["#W2378156"]
    print(
        f"order #W2378156: {before} -> {order.status}; exchange {order.exchange_items} -> "
        f"{order.exchange_new_items}, difference {order.exchange_price_difference}",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.retail", description=__doc__)
    parser.add_argument("--user", help="the user id to play (default: a random one)")
    parser.add_argument("--demo", action="store_true", help="play a scripted conversation")
    parser.add_argument("--model", default="local", help='"local" (default), "test", "openai:…"')
    parser.add_argument("--seed", type=int, default=None, help="seed for the random user")
    args = parser.parse_args(argv)
    try:
        db = load_db()
    except DataMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    agent = build_agent(model=args.model)
    if args.demo:
        asyncio.run(demo(agent, db))
        return 0
    if args.user is not None and args.user not in db.users:
        print(f"No user {args.user!r} in db.json", file=sys.stderr)
        return 2
    user_id = args.user or random.Random(args.seed).choice(sorted(db.users))
    asyncio.run(chat(agent, db, db.users[user_id]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
