"""Keeping a conversation's row honest and bounded.

- **Receipts**: the result of each message delivered with a ``message_id``, so a redelivery gets
  the stored result back and runs nothing.
- **Compaction**: old transcript lines, finished playbook runs and old free-mode steps move to the
  store's archive (saved in the same transaction as the row), so a turn's cost does not grow with
  the length of the conversation.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ..handoffs import Handoff
from ..messages import Citation, Usage
from ..results import TurnResult
from ..sessions import FREE_RUN, MAX_RECEIPTS, Conversation, PlaybookRun, Step, Store

__all__ = ["KEEP_MESSAGES", "KEEP_RUNS", "KEEP_STEPS", "compact", "keep_receipt", "receipt_result"]

KEEP_MESSAGES = 200
"""Transcript lines kept in the row; older ones go to the archive in chunks of this many."""
KEEP_RUNS = 20
"""Finished playbook runs kept in the row (the newest); older finished runs are archived."""
KEEP_STEPS = 200
"""Free-mode journal steps kept in the row; older finished ones are archived."""

_RUN: TypeAdapter[PlaybookRun] = TypeAdapter(PlaybookRun)
_STEPS: TypeAdapter[list[Step]] = TypeAdapter(list[Step])

_FINISHED = frozenset({"resolved", "refused", "cancelled", "failed", "escalated"})


def keep_receipt(conversation: Conversation, message_id: str, result: TurnResult) -> None:
    """Remember ``result`` as the answer to ``message_id`` (the newest :data:`MAX_RECEIPTS`)."""
    receipts = conversation.receipts
    receipts.pop(message_id, None)
    receipts[message_id] = {
        "reply": result.reply,
        "outcome": result.outcome,
        "confidence": result.confidence,
        "handoff": result.handoff.model_dump(mode="json") if result.handoff else None,
        "conversation_id": result.conversation_id,
        "intent": result.intent,
        "slots": result.slots,
        "citations": [c.model_dump(mode="json") for c in result.citations],
        "pending": result.pending,
        "question_id": result.question_id,
        "options": result.options,
        "usage": result.usage.to_json(),
        "error": f"{type(result.error).__name__}: {result.error}" if result.error else None,
    }
    for old in list(receipts)[: max(0, len(receipts) - MAX_RECEIPTS)]:
        del receipts[old]


def receipt_result(stored: dict[str, Any]) -> TurnResult:
    """The stored result of an already handled message, marked ``duplicate``."""
    return TurnResult(
        reply=stored["reply"],
        outcome=stored["outcome"],
        confidence=stored.get("confidence"),
        handoff=Handoff.model_validate(stored["handoff"]) if stored.get("handoff") else None,
        trace=[],
        conversation_id=stored["conversation_id"],
        intent=stored.get("intent"),
        slots=dict(stored.get("slots") or {}),
        citations=[Citation.model_validate(c) for c in stored.get("citations") or []],
        pending=stored.get("pending"),
        question_id=stored.get("question_id"),
        options=list(stored.get("options") or []),
        usage=Usage.from_json(stored.get("usage") or {}),
        duplicate=True,
    )


def compact(conversation: Conversation, store: Store) -> None:
    """Queue old transcript lines, finished runs and old free-mode steps for the archive.

    Nothing happens when ``store`` keeps no archive (a custom store without ``archived``).
    What moves out is summarised nowhere else: read it back with ``store.archived(id)``.
    """
    if getattr(store, "archived", None) is None:
        return
    out = conversation.archive_out
    transcript = conversation.transcript
    if len(transcript) >= 2 * KEEP_MESSAGES:
        moved = transcript[: len(transcript) - KEEP_MESSAGES]
        out.append({"kind": "messages", "messages": [m.to_json() for m in moved]})
        del transcript[: len(moved)]
    pending = conversation.pending
    keep = {pending.run_id} if pending is not None else set()
    runs = [r for r in conversation.runs if r.intent != FREE_RUN]
    finished = [r for r in runs[:-KEEP_RUNS] if r.status in _FINISHED and r.id not in keep]
    if len(finished) >= KEEP_RUNS:
        for run in finished:
            out.append({"kind": "run", "run": _RUN.dump_python(run, mode="json")})
        gone = {r.id for r in finished}
        conversation.runs = [r for r in conversation.runs if r.id not in gone]
    free = conversation.run(FREE_RUN)
    if free is not None and (pending is None or pending.run_id != FREE_RUN):
        journal = free.journal
        if len(journal) >= 2 * KEEP_STEPS:
            cut = len(journal) - KEEP_STEPS
            # Never archive a call still "started": recovery must find it in the row.
            started = [i for i, s in enumerate(journal[:cut]) if s.status == "started"]
            cut = started[0] if started else cut
            if cut:
                out.append(
                    {
                        "kind": "steps",
                        "run": FREE_RUN,
                        "steps": _STEPS.dump_python(journal[:cut], mode="json"),
                    }
                )
                del journal[:cut]
                free.base += cut
