"""Token prices: a small per-1M-token table and the lookup that tolerates dated model names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_PRICES", "Price", "price_for"]


@dataclass(kw_only=True, frozen=True)
class Price:
    """What a model costs, per million tokens."""

    input: float
    """Per 1M prompt tokens."""
    output: float
    """Per 1M completion tokens."""


DEFAULT_PRICES: Mapping[str, Price] = {
    # USD per 1M tokens, OpenAI list prices when this table was written; pass your own.
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-5": Price(input=1.25, output=10.00),
    "gpt-5-mini": Price(input=0.25, output=2.00),
    "gpt-5-nano": Price(input=0.05, output=0.40),
    "o4-mini": Price(input=1.10, output=4.40),
}
"""Default price table. A model not in it (local servers, new models) costs 0."""


def price_for(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of ``model``: an exact key, else the longest key it extends with ``-...``.

    ``gpt-4.1-mini-2025-04-14`` is priced as ``gpt-4.1-mini``, never as ``gpt-4.1``.
    """
    if model in prices:
        return prices[model]
    matches = [key for key in prices if model.startswith(key + "-")]
    return prices[max(matches, key=len)] if matches else None
