"""The handoff inbox and agent assist console on the order-support agent.

Two customers of examples/order_support.py ask for a person mid-request; the console serves
their handoffs (offline, on LocalModel):

    .venv/bin/python examples/console_demo.py            # http://127.0.0.1:8100/

Log in with any name and the key it prints (or --key). Messages to customers are printed.
Roles: "lead" may decide approvals (this shop asks for none). See docs/console.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repo root

import resolvekit as rk
from examples import order_support
from resolvekit.console import HumanReply, create_app

CONVERSATIONS = [
    ("c-1", ["I want to cancel order W1000001", "this is ridiculous, get me a human"]),
    ("c-2", ["I moved, please change the delivery address of W2000001",
             "I want to speak to a person"]),
]  # fmt: skip


async def seed(agent: rk.Agent[Any], shop: order_support.Shop) -> list[rk.TurnResult]:
    """Play the conversations that end with a person; returns their last turns."""
    last = []
    for customer, lines in CONVERSATIONS:
        for line in lines:
            result = await agent.handle(customer, line, deps=shop)
        last.append(result)
    return last


def print_reply(reply: HumanReply) -> None:
    """The reply target: where a real deployment sends to the customer's channel."""
    who = reply.human or "bot"
    print(f"to {reply.customer_id} on {reply.channel} from {who}: {reply.text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--key", default=None, help="the console key (default: a new one)")
    args = parser.parse_args()
    import uvicorn

    agent = order_support.agent
    shop = order_support.Shop()
    agent.deps = shop
    for result in asyncio.run(seed(agent, shop)):
        print(f"{result.conversation_id}: {result.outcome}", flush=True)
    key = args.key or secrets.token_urlsafe(12)
    print(f"console on http://127.0.0.1:{args.port}/  key: {key}", flush=True)
    app = create_app(agent, api_key=key, reply_target=print_reply, roles={"lead": "team_lead"})
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
