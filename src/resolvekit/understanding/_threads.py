"""Keep numpy's BLAS threads off torch's cores around one-message work.

After a multi-threaded BLAS call, OpenBLAS's worker threads busy-wait for a while before they
sleep. When the next thing the process does is a torch forward pass (the next message's
embedding), those spinning threads take cores from torch's own pool: on the 2-core project
machine, classifying one message at a time cost ~40 ms instead of ~16 ms (embedding ~13 ms +
classifier ~3 ms). Small matrix products gain nothing from a second BLAS thread, so single-message
work runs with BLAS limited to one thread and no worker ever wakes up.

The limit covers the BLAS libraries loaded when it is first used (numpy's, the one these matrix
products run on, is always among them). threadpoolctl ships with scikit-learn, which
sentence-transformers requires; without it the limit is skipped.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

__all__ = ["SMALL_BATCH", "blas_single_thread"]

SMALL_BATCH = 16
"""Rows up to which classification runs with single-threaded BLAS."""

_controller: Any = None
_lock = threading.Lock()


def blas_single_thread() -> contextlib.AbstractContextManager[object]:
    """A context in which BLAS libraries use one thread (a no-op without threadpoolctl)."""
    global _controller
    with _lock:
        if _controller is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _controller = False
            else:
                _controller = ThreadpoolController()
    if _controller is False:
        return contextlib.nullcontext()
    limited: contextlib.AbstractContextManager[object] = _controller.limit(
        limits=1, user_api="blas"
    )
    return limited
