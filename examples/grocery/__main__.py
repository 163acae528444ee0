"""``python -m examples.grocery``: a few demo conversations with the grocery agent, offline."""

from __future__ import annotations

import asyncio

from examples.grocery import build_agent, demo_state
from examples.offline_agent import play_demo

agent = build_agent(model="local", deps=demo_state())

DEMO = [
    ["Where is my order G1001?"],
    ["Can I move my delivery G1001 to Saturday morning?", "yes"],
    ["The eggs in order G1002 were smashed", "as credit please", "yes"],
    ["Do I need ID for wine?"],
]


async def main() -> None:
    await play_demo(agent, "c-mia", DEMO, "customer")


if __name__ == "__main__":
    asyncio.run(main())
