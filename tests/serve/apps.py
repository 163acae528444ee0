"""Apps the uvicorn tests serve in a subprocess: the shop agent, and a slow agent whose one
tool sleeps ``$SLOW_SECONDS`` after touching ``$SLOW_MARKER`` (so a test knows the turn is under
way), on the SQLite store ``$SLOW_DB``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import resolvekit as rk
from tests.engine.shop import Backend, build_agent


class CheckStock(rk.Intent):
    """Customer asks whether an item is in stock."""

    examples = ["is the lamp in stock", "do you have desks in stock", "check stock please"]


def slow_agent(store: str) -> rk.Agent[Any]:
    agent: rk.Agent[Any] = rk.Agent("Slow", model="test", store=store, handoff=[])

    @agent.tool(effect="read")
    async def count_stock(ctx: rk.Context[Any]) -> int:
        """Count the stock (slowly)."""
        Path(os.environ["SLOW_MARKER"]).touch()  # noqa: ASYNC240 - a test signal, instant
        await asyncio.sleep(float(os.environ.get("SLOW_SECONDS", "3")))
        return 7

    @agent.playbook(CheckStock)
    async def check(ctx: rk.Context[Any], intent: CheckStock) -> rk.PlaybookOutcome:
        count = await ctx.call(count_stock)
        return ctx.resolve(f"We have {count} in stock")

    return agent


def slow_app() -> Any:
    return slow_agent(f"sqlite:///{os.environ['SLOW_DB']}").to_asgi()


def shop_app() -> Any:
    store = os.environ.get("SHOP_STORE", "memory://")
    return build_agent(Backend(), "test", store=store, handoff=[]).to_asgi()


shop = build_agent(Backend(), "test", handoff=[])
"""For ``resolvekit serve tests.serve.apps:shop``."""
