"""About internals: the model worker's pieces -- concurrent embeds sharing forward passes
(``understanding/_batching.py``), cache writes off the caller's path (``write_behind``), and
LocalModel's turns on its own executor."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.exceptions import UserError
from resolvekit.messages import Message
from resolvekit.models import ModelRequest
from resolvekit.models.local import LocalModel
from resolvekit.specs import IntentSpec
from resolvekit.understanding._batching import BatchingEmbedder
from resolvekit.understanding._cache import CachedEmbedder
from resolvekit.understanding.embedders import HashingEmbedder


class SlowEmbedder(HashingEmbedder):
    """A hashing embedder whose every call takes a while and is recorded."""

    def __init__(self, pause: float = 0.05, fail: bool = False) -> None:
        super().__init__(16)
        self.pause, self.fail = pause, fail
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.pause)
        if self.fail:
            raise UserError("the model broke")
        return super().embed(texts)


def test_concurrent_calls_share_forward_passes() -> None:
    inner = SlowEmbedder()
    batching = BatchingEmbedder(inner, max_batch=64)
    texts = [[f"message number {i}", f"and its second text {i}"] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(batching.embed, texts))
    for got, asked in zip(results, texts, strict=True):
        np.testing.assert_array_equal(got, HashingEmbedder(16).embed(asked))
    assert sum(inner.calls) == 32
    assert len(inner.calls) <= 4  # the calls that came in during a pass went together
    assert batching.passes == len(inner.calls)
    assert inner.threads == {"resolvekit-embedder"}  # one worker runs every pass


def test_a_text_sent_by_many_callers_at_once_is_computed_once() -> None:
    # 30 conversations sending the same (masked) message miss the cache together: one row to
    # compute, whichever pass each caller's request lands in.
    inner = SlowEmbedder(pause=0.02)
    batching = BatchingEmbedder(inner, max_batch=8)
    asked = [["return order [id]", f"other {i % 3}"] for i in range(30)]
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(batching.embed, asked))
    for got, texts in zip(results, asked, strict=True):
        np.testing.assert_array_equal(got, HashingEmbedder(16).embed(texts))
    assert sum(inner.calls) == 4 == batching.computed
    results[0][:] = 0  # a caller's rows are its own
    np.testing.assert_array_equal(batching.embed(asked[1]), results[1])


def test_recent_texts_are_forgotten_past_a_few_passes() -> None:
    inner = SlowEmbedder(pause=0)
    batching = BatchingEmbedder(inner, max_batch=2)
    for i in range(20):
        batching.embed([f"text {i}"])
    batching.embed(["text 19"])  # recent: not computed again
    assert batching.computed == 20
    batching.embed(["text 0"])  # long gone: computed again
    assert batching.computed == 21
    assert len(batching._recent) <= 4 * 2


def test_a_pass_never_exceeds_max_batch() -> None:
    inner = SlowEmbedder(pause=0.02)
    batching = BatchingEmbedder(inner, max_batch=3)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: batching.embed([f"text {i}"]), range(12)))
    assert max(inner.calls) <= 3
    assert sum(inner.calls) == 12


def test_every_caller_of_a_failed_pass_gets_the_error() -> None:
    batching = BatchingEmbedder(SlowEmbedder(fail=True))
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batching.embed, [f"t{i}"]) for i in range(4)]
    for future in futures:
        with pytest.raises(UserError, match="the model broke"):
            future.result()
    batching.inner.fail = False  # type: ignore[attr-defined]
    assert batching.embed(["works again"]).shape == (1, 16)  # the worker survived


def test_the_wrapper_is_the_inner_embedder_to_its_users() -> None:
    inner = HashingEmbedder(16)
    batching = BatchingEmbedder(inner)
    assert (batching.name, batching.dim) == (inner.name, 16)
    assert batching.embed([]).shape == (0, 16)
    with pytest.raises(UserError, match="not a single string"):
        batching.embed("one string")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="already batches"):
        BatchingEmbedder(batching)  # type: ignore[arg-type]


# --- write-behind cache ------------------------------------------------------------------------


def test_write_behind_serves_from_memory_and_writes_one_shard_on_flush(tmp_path: Path) -> None:
    cached = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path, write_behind=True)
    first = cached.embed(["one", "two"])
    cached.embed(["three"])
    np.testing.assert_array_equal(cached.embed(["two", "one"]), first[::-1])
    assert cached.misses == 3
    cached.flush()
    assert len(list(cached.directory.glob("*.npz"))) == 1  # many misses, one file
    other = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path)  # another process, say
    np.testing.assert_array_equal(other.embed(["one", "two"]), first)
    assert other.misses == 0
    cached.flush()  # nothing pending: nothing written
    assert len(list(cached.directory.glob("*.npz"))) == 1


def test_write_behind_flushes_in_the_background(tmp_path: Path) -> None:
    cached = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path, write_behind=True)
    cached.embed(["hello"])
    deadline = time.monotonic() + 30
    while not list(cached.directory.glob("*.npz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(cached.directory.glob("*.npz"))


def test_write_behind_embedders_of_one_folder_share_rows_not_yet_written(tmp_path: Path) -> None:
    first = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path, write_behind=True)
    second = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path, write_behind=True)
    first.embed(["only in memory so far"])
    second.embed(["only in memory so far"])
    assert (first.misses, second.misses) == (1, 0)


def test_without_write_behind_each_call_writes_its_shard(tmp_path: Path) -> None:
    cached = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path)
    cached.embed(["one"])
    cached.embed(["two"])
    assert len(list(cached.directory.glob("*.npz"))) == 2


# --- LocalModel's own executor -----------------------------------------------------------------

INTENTS = [
    IntentSpec(
        name="order_status", description="where is my order", examples=["where is my order"]
    ),
    IntentSpec(name="cancel_order", description="cancel an order", examples=["cancel my order"]),
]


def request(text: str) -> ModelRequest:
    return ModelRequest(
        messages=[Message(role="customer", text=text)],
        intents=INTENTS,
        allowed=frozenset({"start_intent", "reply", "escalate"}),
    )


@pytest.mark.parametrize(
    ("batching", "prefix"), [(True, "resolvekit-localmodel"), (False, "asyncio")]
)
async def test_turns_run_on_the_models_own_threads(batching: bool, prefix: str) -> None:
    embedder = SlowEmbedder(pause=0.0)
    model = LocalModel(embedder=embedder, batching=batching)
    await model.warm_up(INTENTS)
    embedder.threads.clear()
    await asyncio.gather(*(model.request(request(f"where is order {i}")) for i in range(4)))
    assert embedder.threads and all(name.startswith(prefix) for name in embedder.threads)


def _embed_in_child(batching: BatchingEmbedder, cached: CachedEmbedder) -> None:
    assert batching.embed(["in the child"]).shape == (1, 16)
    cached.embed(["written by the child"])
    cached.flush()


def test_a_forked_worker_process_gets_its_own_worker_threads(tmp_path: Path) -> None:
    import multiprocessing

    batching = BatchingEmbedder(HashingEmbedder(16))
    batching.embed(["in the parent"])  # the parent's worker thread runs
    cached = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path, write_behind=True)
    cached.embed(["in the parent"])
    child = multiprocessing.get_context("fork").Process(
        target=_embed_in_child, args=(batching, cached)
    )
    child.start()
    child.join(60)
    if child.is_alive():  # waiting on a worker thread it does not have
        child.kill()
    assert child.exitcode == 0
    other = CachedEmbedder(HashingEmbedder(16), cache_dir=tmp_path)
    other.embed(["written by the child"])
    assert other.misses == 0
