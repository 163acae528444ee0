"""A process that writes to and reads from a shared embedding cache (for the concurrency test).

Kept out of the test module so that ``spawn`` children import only this small file.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np

from resolvekit.understanding.embedders import CachedEmbedder, HashingEmbedder

DIM = 16


def hammer(directory: str, worker: int, seconds: float, barrier: Any, results: Any) -> None:
    """Embed small batches through the cache for ``seconds``, re-reading it from scratch often.

    Puts ``(worker, texts, None)`` on ``results`` when done, ``(worker, texts, traceback)`` if
    anything raised: every text this worker embedded, so the parent can check they are on disk.
    """
    texts: list[str] = []
    try:
        plain = HashingEmbedder(DIM)
        cached = CachedEmbedder(HashingEmbedder(DIM), cache_dir=directory)
        barrier.wait(timeout=30)
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            # One text of its own, one shared with the other workers.
            batch = [f"worker {worker} message {i}", f"shared message {i % 40}"]
            out = cached.embed(batch)
            np.testing.assert_array_equal(out, plain.embed(batch))
            texts.extend(batch)
            if i % 5 == 0:  # a fresh reader loads every shard on disk, mid-write or not
                reader = CachedEmbedder(HashingEmbedder(DIM), cache_dir=directory)
                reader.store.refresh()
                seen = texts[-20:]
                np.testing.assert_array_equal(reader.embed(seen), plain.embed(seen))
            i += 1
    except BaseException:
        results.put((worker, texts, traceback.format_exc()))
        raise
    results.put((worker, texts, None))
