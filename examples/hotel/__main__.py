"""``python -m examples.hotel``: a few demo conversations with the hotel agent, offline."""

from __future__ import annotations

import asyncio

from examples.hotel import build_agent, demo_state
from examples.offline_agent import play_demo

agent = build_agent(model="local", deps=demo_state())

DEMO = [
    ["Can you check my booking HB1001?"],
    ["I need to change the dates of HB1001", "December 21", "December 24", "yes"],
    ["What time is check-in?"],
    ["How many points do I have?"],
]


async def main() -> None:
    await play_demo(agent, "g-ana", DEMO, "guest")


if __name__ == "__main__":
    asyncio.run(main())
