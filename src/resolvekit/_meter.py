"""Whose CPU time a worker-thread job is: the caller's, when the caller is being timed.

Code that runs part of its work on a thread pool of its own (a :class:`LocalModel`'s
executor) wraps the job with :func:`metered`; whoever times the caller (the eval runner's
per-turn CPU clock, :mod:`resolvekit.evals._clock`) sets :data:`JOB_METER` for the duration
and is told the job's thread CPU time. With no meter set, :func:`metered` returns the job
unchanged, so this costs nothing outside an eval.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["JOB_METER", "metered"]

_T = TypeVar("_T")

JOB_METER: ContextVar[Callable[[float], None] | None] = ContextVar(
    "resolvekit_job_meter", default=None
)
"""Called with the thread CPU seconds of each :func:`metered` job submitted while it is set."""


def metered(fn: Callable[..., _T]) -> Callable[..., _T]:
    """``fn``, reporting its thread CPU time to the meter set now (read when called here,
    i.e. in the submitting task, not in the worker thread), or ``fn`` itself without one."""
    meter = JOB_METER.get()
    if meter is None:
        return fn

    @functools.wraps(fn)
    def job(*args: Any, **kwargs: Any) -> _T:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            meter(time.thread_time() - start)

    return job
