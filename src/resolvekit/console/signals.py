"""The frustration signal: how upset the customer seems, from what the engine recorded.

Deliberately simple and explainable — a human agent sees the reasons, not a score from a
black box. Points are added for:

- **negative words** in the customer's messages (:data:`NEGATIVE_WORDS`: "useless",
  "ridiculous", "angry"...), 1 per message that has any;
- **repeated messages**: a customer message that says again what an earlier one said
  (same words once normalised), 1 each;
- **repeated questions**: the agent asking the same question more than once, 1 per repeat;
- **refusals**: a playbook that refused, and each "no" to a confirmation, 1 each;
- **clarifications and tool failures** the engine counted (``conversation.counters``), 1 per
  two;
- **asking for a person**: the handoff's reason says the customer asked for a human, 1.

The level is ``low`` under 2 points, ``medium`` under 4 and ``high`` from 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ..sessions import Conversation

__all__ = ["NEGATIVE_WORDS", "Frustration", "frustration"]

NEGATIVE_WORDS = frozenset(
    {
        "angry", "annoyed", "annoying", "awful", "disappointed", "disgusting", "frustrated",
        "frustrating", "furious", "hate", "horrible", "joke", "pathetic", "rediculous",
        "ridiculous", "rubbish", "scam", "stupid", "terrible", "unacceptable", "upset",
        "useless", "waste", "worst", "wtf",
    }
)  # fmt: skip
"""Words that count as negative in a customer's message (lower case, whole words)."""

Level = Literal["low", "medium", "high"]

_WORD = re.compile(r"[a-z']+")


@dataclass(kw_only=True)
class Frustration:
    """How frustrated the customer seems, and why."""

    level: Level
    points: int
    reasons: list[str] = field(default_factory=list)
    """One line per signal found ("2 messages with negative words: useless, ridiculous")."""


def frustration(conversation: Conversation) -> Frustration:
    """The frustration signal of ``conversation`` (see the module's documentation)."""
    reasons: list[str] = []
    points = 0
    customer = [m.text for m in conversation.transcript if m.role == "customer"]
    negative = [sorted(set(_WORD.findall(t.lower())) & NEGATIVE_WORDS) for t in customer]
    hits = [words for words in negative if words]
    if hits:
        points += len(hits)
        words = sorted({w for found in hits for w in found})
        reasons.append(f"{len(hits)} message(s) with negative words: {', '.join(words)}")
    repeated = _repeats(customer)
    if repeated:
        points += repeated
        reasons.append(f"the customer repeated themselves {repeated} time(s)")
    questions = [m.text for m in conversation.transcript if m.role == "agent" and "?" in m.text]
    asked_again = _repeats(questions)
    if asked_again:
        points += asked_again
        reasons.append(f"the agent asked the same question again {asked_again} time(s)")
    refusals = sum(1 for run in conversation.runs if run.status == "refused")
    refusals += sum(
        1
        for run in conversation.runs
        for step in run.journal
        if step.kind == "confirm" and step.status == "done" and step.result is False
    )
    if refusals:
        points += refusals
        reasons.append(f"{refusals} refusal(s) or declined confirmation(s)")
    counted = sum(v for k, v in conversation.counters.items() if k in _COUNTERS)
    if counted >= 2:
        points += counted // 2
        reasons.append(f"{counted} clarification(s) or failed tool call(s)")
    reason = str((conversation.handoff or {}).get("reason", ""))
    if "human" in reason.lower() or "person" in reason.lower():
        points += 1
        reasons.append("the customer asked for a person")
    level: Level = "low" if points < 2 else "medium" if points < 4 else "high"
    return Frustration(level=level, points=points, reasons=reasons)


_COUNTERS = frozenset({"clarifications", "tool_failures"})


def _repeats(texts: list[str]) -> int:
    seen: set[str] = set()
    count = 0
    for text in texts:
        key = " ".join(_WORD.findall(text.lower()))
        if not key:
            continue
        if key in seen:
            count += 1
        seen.add(key)
    return count
