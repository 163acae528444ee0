"""Pieces the blind-run examples share (hotel, grocery): the offline model with a fixed
"today", money and reference formatting, and the demo conversations of ``python -m``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import resolvekit as rk

__all__ = ["money", "offline_model", "play_demo", "references"]


def offline_model(
    model: rk.Model | str | None, today: dt.date, negative_examples: Sequence[str]
) -> rk.Model | str:
    """``model`` itself, unless it is ``None``/``"local"`` (LocalModel) or ``"test"``
    (LocalModel on the hashing embedder): then a LocalModel reading relative dates from
    ``today``, with ``negative_examples`` trained as out of scope (docs/first-domain.md)."""
    if model not in (None, "local", "test"):
        return model
    from resolvekit.models.local import LocalModel
    from resolvekit.understanding.embedders import HashingEmbedder

    embedder = HashingEmbedder() if model == "test" else None
    return LocalModel(embedder, today=lambda: today, negative_examples=list(negative_examples))


def money(amount: float) -> str:
    """``12.5`` as ``$12.50``."""
    return f"${amount:,.2f}"


def references(pattern: re.Pattern[str], text: str) -> list[str]:
    """The references ``pattern`` finds in ``text``, spaces dropped, upper-cased."""
    return [m.group(0).replace(" ", "").upper() for m in pattern.finditer(text)]


async def play_demo(
    agent: rk.Agent[Any], customer_id: str, conversations: Sequence[Sequence[str]], speaker: str
) -> None:
    """Print each conversation of ``conversations`` (customer lines) with the agent's replies."""
    for lines in conversations:
        for line in lines:
            result = await agent.handle(customer_id, line)
            print(f"{speaker}: {line}\nagent: {result.reply}  [{result.outcome}]")
        print()
