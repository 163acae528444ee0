"""Demo conversations with the bank agent, offline: ``python -m examples.bank [--model test]``.

Also the agent for ``resolvekit chat examples/bank/__main__.py:agent`` (customer ``cust-ana``
of :func:`examples.bank.demo_state`)."""

from __future__ import annotations

import argparse
import asyncio

import resolvekit as rk

from . import build_agent, demo_state

DEMO: list[list[str]] = [
    ["I lost my card", "4821", "yes"],
    ["I don't recognise a payment from Bluebird Cafe", "yes"],
    ["send $75.50 to Maria Silva", "yes"],
    # Last: a person takes the conversation over, and the agent then only records messages.
    ["There's a $640 charge from SkyJet Airlines I never made"],
]

agent = build_agent(model="local", deps=demo_state())


async def demo(model: str = "local") -> list[rk.TurnResult]:
    """Play :data:`DEMO` as customer ``cust-ana`` on one bank; returns every turn's result."""
    bank = demo_state()
    bot = build_agent(model=model)
    results = []
    for lines in DEMO:
        for line in lines:
            result = await bot.handle("cust-ana", line, deps=bank)
            print(f"customer: {line}\nagent:    {result.reply}  [{result.outcome}]")
            results.append(result)
        print()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    asyncio.run(demo(parser.parse_args().model))
