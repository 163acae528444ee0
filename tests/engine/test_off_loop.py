"""CPU work of understanding runs off the event loop, so one customer's embedding does not
stall every other conversation; ``Agent.warm_up`` front-loads the model and classifier."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

import resolvekit as rk
from resolvekit.knowledge import Document, KnowledgeBase
from resolvekit.models.local import LocalModel
from resolvekit.understanding.embedders import HashingEmbedder

from .shop import Backend, build_agent


class LoopWatchingEmbedder(HashingEmbedder):
    """Once armed, ``embed`` returns only after the event loop has run while it waited. Were it
    called on the loop's own thread, the loop could not run and the wait would time out."""

    def __init__(self) -> None:
        super().__init__(256)
        self.armed = False
        self.started = threading.Event()
        self.loop_ran = threading.Event()
        self.saw_loop: list[bool] = []
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        if self.armed:
            self.started.set()
            self.saw_loop.append(self.loop_ran.wait(5))
        return super().embed(texts)


async def _watch_loop(embedder: LoopWatchingEmbedder) -> None:
    """Sets ``loop_ran`` from the event loop once ``embed`` has started: possible only if the
    loop is free while ``embed`` waits."""
    await asyncio.to_thread(embedder.started.wait, 5)
    embedder.loop_ran.set()


async def test_a_local_model_turn_leaves_the_event_loop_free() -> None:
    embedder = LoopWatchingEmbedder()
    agent = build_agent(Backend(), LocalModel(embedder=embedder))
    await agent.warm_up()  # fits the classifier with the embedder unarmed
    embedder.armed = True
    watcher = asyncio.create_task(_watch_loop(embedder))
    result = await agent.handle("c", "where is my order W1234567?")
    await watcher
    assert result.intent == "OrderStatus"
    assert embedder.saw_loop and all(embedder.saw_loop)


async def test_a_knowledge_answer_leaves_the_event_loop_free() -> None:
    embedder = LoopWatchingEmbedder()
    kb = KnowledgeBase(embedder=embedder, threshold=0.1)
    kb.add([Document(id="refunds", text="# Refunds\n\nCard refunds take 5 to 10 business days.")])
    embedder.armed = True
    watcher = asyncio.create_task(_watch_loop(embedder))
    answer = await kb.aanswer("How long do card refunds take?")
    await watcher
    assert answer.answerable and "5 to 10 business days" in answer.text
    assert embedder.saw_loop and all(embedder.saw_loop)


async def test_warm_up_fits_the_classifier_before_the_first_customer() -> None:
    embedder = LoopWatchingEmbedder()
    model = LocalModel(embedder=embedder)
    agent = build_agent(Backend(), model)
    await agent.warm_up()
    fitted = model._classifier
    assert fitted is not None and embedder.calls > 0
    calls = embedder.calls
    result = await agent.handle("c", "cancel order W1234567")
    assert result.intent == "CancelOrder"
    assert model._classifier is fitted  # not refitted: the first turn only embeds its message
    assert embedder.calls == calls + 1


async def test_warm_up_is_harmless_without_a_local_model() -> None:
    model = rk.ScriptedModel([rk.Reply(text="hi")])
    agent = build_agent(Backend(), model)
    await agent.warm_up()
    assert model.requests == [] and model.remaining == 1  # no model request was spent on it
    assert (await agent.handle("c", "hello")).reply == "hi"


class LoadingEmbedder(HashingEmbedder):
    """Stands for a sentence-transformers model: ``load`` is the expensive part."""

    def __init__(self) -> None:
        super().__init__(64)
        self.loaded = False

    def load(self) -> None:
        self.loaded = True


async def test_warm_up_loads_the_model_even_when_everything_is_cached(tmp_path: Path) -> None:
    """After a restart the disk cache answers every example, so fitting alone never loads the
    model; the first new customer message would. warm_up loads it anyway."""
    from resolvekit.understanding.embedders import CachedEmbedder

    first = LocalModel(embedder=CachedEmbedder(LoadingEmbedder(), cache_dir=tmp_path))
    await build_agent(Backend(), first).warm_up()  # fills the cache
    inner = LoadingEmbedder()
    restarted = LocalModel(embedder=CachedEmbedder(inner, cache_dir=tmp_path))
    await build_agent(Backend(), restarted).warm_up()
    assert inner.loaded
