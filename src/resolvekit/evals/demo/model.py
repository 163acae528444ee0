"""A deterministic keyword model for the demo suite (a :class:`FunctionModel`).

It is deliberately simple, so the demo shows what the evals catch: it understands "change the
address" but not "send my parcel to my new flat", which it answers with a help-centre link (a
deflection the report shows).
"""

from __future__ import annotations

import re
from typing import Any

from ..._text import normalize
from ...messages import (
    AnswerFromKnowledge,
    AskClarification,
    Confirm,
    Decision,
    Escalate,
    FillSlots,
    Reply,
    StartIntent,
)
from ...models import ModelRequest, ModelResponse, Signals
from ...models.function import FunctionModel

__all__ = ["decide", "keyword_model"]

_INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CancelOrder", ("cancel",)),
    ("RefundDamaged", ("refund", "broken", "damaged", "money back")),
    ("ChangeAddress", ("change the delivery address", "update the address", "change my address")),
    ("OrderStatus", ("where is", "track", "status")),
)
_HUMAN = ("human", "person", "representative", "real agent")
_YES = ("yes", "yeah", "sure", "go ahead", "please do", "ok", "okay")
_NO = ("no", "nope", "don't", "do not", "not what")
_ORDER = re.compile(r"\bW\d{4}\b")
_ADDRESS = re.compile(r"\b\d+\s+[A-Za-z][A-Za-z ]*(?:,\s*[A-Za-z][A-Za-z ]*)?")


def keyword_model() -> FunctionModel:
    """The demo's offline model."""
    return FunctionModel(decide, name="demo-keywords")


def decide(request: ModelRequest) -> ModelResponse:
    """One decision for ``request`` from keywords and regular expressions."""
    text = request.text
    words = f" {normalize(text)} "
    if any(f" {w} " in words for w in _HUMAN):
        return _respond(Escalate(reason="customer asked for a human"), human=True)
    pending = request.pending
    if pending is not None and pending.kind in ("confirm", "resume"):
        if any(f" {w} " in words for w in _NO):
            return _respond(Confirm(answer="no"))
        if any(f" {w} " in words for w in _YES):
            return _respond(Confirm(answer="yes"))
        return _respond(Confirm(answer="unsure"))
    if pending is not None and request.active_intent is not None:
        names = [s.name for s in _slots_of(request, request.active_intent)]
        if pending.slot is not None and pending.slot.name not in names:
            names.append(pending.slot.name)
        values = _extract(text, names)
        if values:
            return _respond(FillSlots(slots=values))
        return _respond(AskClarification(text=f"Sorry, I didn't catch that. {pending.question}"))
    for intent, cues in _INTENTS:
        if any(cue in words for cue in cues):
            names = [s.name for s in _slots_of(request, intent)]
            return _respond(StartIntent(intent=intent, slots=_extract(text, names)))
    if any(f" {w} " in words for w in ("hi", "hello", "thanks", "thank you")):
        return _respond(Reply(text="Hello! How can I help you today?"))
    return _respond(AnswerFromKnowledge(query=text))


def _respond(decision: Decision, *, human: bool = False) -> ModelResponse:
    return ModelResponse(decision=decision, confidence=1.0, signals=Signals(human_request=human))


def _slots_of(request: ModelRequest, intent: str) -> list[Any]:
    spec = next((i for i in request.intents if i.name == intent), None)
    return list(spec.slots) if spec is not None else []


def _extract(text: str, names: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    lowered = text.lower()
    for name in names:
        if name == "order_id" and (match := _ORDER.search(text)):
            values[name] = match.group(0)
        elif name == "reason":
            if "mistake" in lowered:
                values[name] = "ordered by mistake"
            elif "no longer" in lowered or "don't need" in lowered:
                values[name] = "no longer needed"
        elif name == "address" and (match := _ADDRESS.search(text)):
            values[name] = match.group(0).strip().rstrip(".")
    return values
