"""``Agent.warm_up`` on the retail agent: its model wraps LocalModel, and warming the agent up
must reach the wrapped model, so the first customer pays for no model loading or fitting."""

from __future__ import annotations

from typing import Any

import pytest

from examples.retail import build_agent
from examples.retail.model import RetailModel
from resolvekit.models.local import LocalModel
from resolvekit.understanding.classifier import IntentClassifier
from resolvekit.understanding.embedders import HashingEmbedder

from .retail_data import fresh_db, require_data

require_data()


class LoadCountingEmbedder(HashingEmbedder):
    """A hashing embedder with a ``load`` step, like a local sentence model, that counts."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self) -> None:
        self.loads += 1


async def test_first_message_after_warm_up_loads_and_fits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits: list[Any] = []
    fit = IntentClassifier.fit

    def counting_fit(self: IntentClassifier, *args: Any, **kwargs: Any) -> IntentClassifier:
        fits.append(args)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(IntentClassifier, "fit", counting_fit)
    embedder = LoadCountingEmbedder()
    agent = build_agent(model=LocalModel(embedder=embedder), store="memory://", db=fresh_db())
    assert isinstance(agent.model, RetailModel)

    await agent.warm_up()
    assert (len(fits), embedder.loads) == (1, 1)  # the wrapped LocalModel was warmed up

    result = await agent.handle(customer_id="c-1", text="I want to return an item of my order")
    assert result.reply
    assert (len(fits), embedder.loads) == (1, 1)  # nothing loaded or fitted for the customer
