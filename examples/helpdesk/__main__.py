"""Demo conversations with the helpdesk agent, offline: ``python -m examples.helpdesk``."""

from __future__ import annotations

import argparse
import asyncio

import resolvekit as rk

from . import build_agent, demo_state

DEMO: list[list[str]] = [
    ["I forgot my password", "lena@brightlabs.io", "4417"],
    ["I want to upgrade to the Business plan", "yes"],
    ["How do I download my invoices?"],
    ["cancel my subscription", "no thanks", "yes"],
]


async def demo(model: str = "local") -> list[rk.TurnResult]:
    """Play :data:`DEMO` as customer ``acc-lena``; returns every turn's result."""
    desk = demo_state()
    bot = build_agent(model=model)
    results = []
    for lines in DEMO:
        for line in lines:
            result = await bot.handle("acc-lena", line, deps=desk)
            print(f"customer: {line}\nagent:    {result.reply}  [{result.outcome}]")
            results.append(result)
        print()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    asyncio.run(demo(parser.parse_args().model))
