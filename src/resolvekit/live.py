"""Live turn events: watch a turn as it runs (what an HTTP stream or a UI renders).

A turn records trace events and reply text as it goes; an *observer* set with :func:`observe`
sees each of them at once, in the task that handles the message::

    from resolvekit.live import observe

    def show(kind: str, data: dict) -> None:
        print(kind, data)

    with observe(show):
        result = await agent.handle("c-42", "cancel order W1234567")

The observer is called synchronously with ``(kind, data)``:

- every trace event as it is recorded (``kind`` is the :class:`~resolvekit.TraceEvent` kind:
  ``model``, ``tool``, ``slot``, ``confirm``, ``escalation``...; ``data`` is its data, raw);
- ``"tool_started"`` with ``{"tool", "args"}`` just before a tool runs (a ``tool`` trace
  event follows when it finishes);
- ``"say"`` with ``{"text"}`` each time reply text is added (the final reply is these texts
  joined by newlines).

The data is the engine's own, unredacted: redact before showing or shipping it. An observer must
be quick and must not raise (an exception is logged and the observer is dropped for the rest of
the turn). The observer is read once when a turn starts (a context variable, so it follows the
task that calls :meth:`Agent.handle`); when nobody observes, a turn pays one ``None`` check per
event.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["TurnObserver", "current_observer", "observe"]

TurnObserver = Callable[[str, dict[str, Any]], None]
"""Called with ``(kind, data)`` for each live event of a turn."""

_OBSERVER: ContextVar[TurnObserver | None] = ContextVar("resolvekit_observer", default=None)

log = logging.getLogger("resolvekit")


@contextlib.contextmanager
def observe(observer: TurnObserver) -> Iterator[None]:
    """Turns started inside this block (in this task, or tasks it creates) report their events
    to ``observer``."""
    token = _OBSERVER.set(observer)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


def current_observer() -> TurnObserver | None:
    """The observer a turn starting now reports to (None when nobody observes)."""
    return _OBSERVER.get()


def safe(observer: TurnObserver | None) -> TurnObserver | None:
    """``observer`` wrapped so that its first exception is logged and silences it."""
    if observer is None:
        return None
    broken = False

    def call(kind: str, data: dict[str, Any]) -> None:
        nonlocal broken
        if broken:
            return
        try:
            observer(kind, data)
        except Exception:
            broken = True
            log.exception("a turn observer failed; it is dropped for this turn")

    return call
