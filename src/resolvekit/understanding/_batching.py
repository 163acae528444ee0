"""One forward pass for many concurrent messages: an embedder that batches its callers.

LocalModel classifies each conversation's message in its own thread. Embedding them one by one
costs one forward pass each, with its fixed overhead (a few dozen numpy calls per layer, small
matrix products that use the core badly) and, on the old path, a global lock the threads
queued on. :class:`BatchingEmbedder` hands every ``embed`` call to one worker thread, which
gathers the calls that arrive within ``max_wait`` seconds (or while its previous pass ran), up
to ``max_batch`` texts, and embeds them in one pass; each caller gets its own rows back.

A text is computed once per pass however many callers sent it, and a text of the last few passes
is not computed again: concurrent conversations often send the same text at once (LocalModel
classifies the *masked* message, so "return order [id]" from 30 customers is one text), and
each of them missed the cache in front of this embedder before the first pass wrote it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import UserError
from ._embedder import check_texts

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._embedder import Embedder

__all__ = ["BatchingEmbedder"]

_RECENT_PASSES = 4
"""Vectors of about this many full passes are kept to serve texts sent again meanwhile."""


class _Request:
    __slots__ = ("done", "error", "result", "texts")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.done = threading.Event()
        self.result: npt.NDArray[np.float32] | None = None
        self.error: BaseException | None = None


class BatchingEmbedder:
    """Wraps an embedder so concurrent ``embed`` calls share forward passes.

    Vectors equal the wrapped embedder's (each text's row does not depend on what else is in its
    batch, to float rounding). Attributes the wrapper does not define (``load``, ``blocks``,
    ``first_block_name``...) are the wrapped embedder's.

    Args:
        inner: the embedder that runs the passes (called from one worker thread only).
        max_batch: texts per pass at most (default: the inner embedder's ``batch_size``, or 64).
        max_wait: seconds the worker waits for more calls before a pass that is not full.
    """

    def __init__(
        self, inner: Embedder, *, max_batch: int | None = None, max_wait: float = 0.001
    ) -> None:
        if isinstance(inner, BatchingEmbedder):
            raise UserError("The embedder already batches; do not wrap a BatchingEmbedder again")
        self.inner = inner
        self.max_batch = max_batch or int(getattr(inner, "batch_size", 64))
        if self.max_batch < 1 or max_wait < 0:
            raise UserError("BatchingEmbedder needs max_batch >= 1 and max_wait >= 0")
        self.max_wait = max_wait
        self.passes = 0
        """Forward passes run so far (for tests and benchmarks)."""
        self.computed = 0
        """Texts the inner embedder was given so far (duplicates and recent texts are not)."""
        self._recent: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._start_fresh()

    def _start_fresh(self) -> None:
        """No queue and no worker yet (also in a child process forked from one that had them:
        the worker thread does not survive the fork)."""
        self._pid = os.getpid()
        self._queue: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._worker: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (during unpickling, say): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        check_texts(texts)
        if len(texts) == 0 or threading.current_thread() is self._worker:
            return self.inner.embed(texts)
        request = _Request(list(texts))
        if self._pid != os.getpid():
            self._start_fresh()
        with self._ready:
            self._queue.append(request)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="resolvekit-embedder", daemon=True
                )
                self._worker.start()
            self._ready.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _take(self) -> list[_Request]:
        """The next batch: waits for a first call, then up to ``max_wait`` for more."""
        with self._ready:
            while not self._queue:
                self._ready.wait()
            deadline = time.monotonic() + self.max_wait
            while sum(len(r.texts) for r in self._queue) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            batch = [self._queue.popleft()]
            size = len(batch[0].texts)
            while self._queue and size + len(self._queue[0].texts) <= self.max_batch:
                size += len(self._queue[0].texts)
                batch.append(self._queue.popleft())
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            texts = [t for request in batch for t in request.texts]
            try:
                vectors = self._embed_once(texts)
            except BaseException as exc:  # every caller of the pass gets the error
                for request in batch:
                    request.error = exc
                    request.done.set()
                continue
            start = 0
            for request in batch:
                request.result = vectors[start : start + len(request.texts)]
                start += len(request.texts)
                request.done.set()

    def _embed_once(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The rows of ``texts``, each distinct text not among the recent ones computed once."""
        recent = self._recent
        new = list(dict.fromkeys(t for t in texts if t not in recent))
        if new:
            computed = np.asarray(self.inner.embed(new), dtype=np.float32)
            self.passes += 1
            self.computed += len(new)
            for text, row in zip(new, computed, strict=True):
                recent[text] = row
        out = np.stack([recent[t] for t in texts])
        for text in texts:
            recent.move_to_end(text)
        while len(recent) > _RECENT_PASSES * self.max_batch:
            recent.popitem(last=False)
        return out
