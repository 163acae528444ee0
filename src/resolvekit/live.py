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
  joined by newlines);
- ``"token"`` with ``{"text"}``: a piece of text a model is still writing for the customer
  (:class:`~resolvekit.models.openai.OpenAIModel` streams the text of a reply, a
  clarification or a grounded answer). It is *provisional*: only what the model proposes. A
  ``say`` that follows replaces it (usually with the same text, or text that starts with
  it);
- ``"retract"`` with ``{}``: drop the provisional text shown since the last ``say``: the
  engine will not say it (the request was retried or corrected, the decision was rejected,
  a guard or a handoff said something else, or the turn ended without saying it). A
  ``retract`` always comes before anything that replaces the retracted text.

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

__all__ = ["Provisional", "TurnObserver", "current_observer", "observe"]

TurnObserver = Callable[[str, dict[str, Any]], None]
"""Called with ``(kind, data)`` for each live event of a turn."""

_OBSERVER: ContextVar[TurnObserver | None] = ContextVar("resolvekit_observer", default=None)

log = logging.getLogger("resolvekit")


@contextlib.contextmanager
def observe(observer: TurnObserver | None) -> Iterator[None]:
    """Turns started inside this block (in this task, or tasks it creates) report their events
    to ``observer`` (None: to nobody, whatever an enclosing block set)."""
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


class Provisional:
    """An observer in front of another that keeps provisional ``token`` text honest.

    The engine puts one in front of a turn's observer (and makes it the current observer
    while the turn runs, so models report to it). It passes every event on, and adds a
    ``retract`` whenever tokens shown since the last ``say`` will not be said: a ``say``
    whose text does not start with them, a ``model`` event marking the decision invalid,
    new tokens after a decision that never said the old ones, or :meth:`settle` at the end of
    the turn. A ``retract`` with nothing provisional is dropped.
    """

    def __init__(self, observer: TurnObserver) -> None:
        self.observer = observer
        self.pending = ""
        """The provisional text shown since the last ``say`` or ``retract``."""
        self.decided = False
        """A model decision was recorded after the pending tokens arrived."""

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "token":
            if self.decided:
                self.settle()  # the decision those tokens belonged to did not say them
            self.pending += str(data.get("text", ""))
        elif kind == "retract":
            if not self.pending:
                return
            self.pending = ""
        elif kind == "say":
            said = str(data.get("text", "")).strip()
            if self.pending and not said.startswith(self.pending.strip()):
                self.settle()
            self.pending, self.decided = "", False
        elif kind == "model":
            self.decided = True
            if data.get("invalid"):
                self.settle()
        self.observer(kind, data)

    def settle(self) -> None:
        """Retract what is still provisional (the turn ends, or it will not be said)."""
        self.decided = False
        if self.pending:
            self.pending = ""
            self.observer("retract", {})
