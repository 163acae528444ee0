"""Keeping a conversation's row honest and bounded: message receipts and compaction.

Compaction runs only against a store that keeps an archive (``store.archived``); these tests
drive :func:`compact` with a stand-in store and check what moves to ``archive_out`` and what
stays in the row.
"""

from __future__ import annotations

from typing import Any

import resolvekit as rk
from resolvekit.engine.bookkeeping import (
    KEEP_MESSAGES,
    KEEP_RUNS,
    KEEP_STEPS,
    compact,
    keep_receipt,
    receipt_result,
)
from resolvekit.handoffs import Handoff
from resolvekit.messages import Citation, Usage
from resolvekit.results import TurnResult
from resolvekit.sessions import (
    FREE_RUN,
    MAX_RECEIPTS,
    Conversation,
    PendingState,
    PlaybookRun,
    Step,
)


class ArchivingStore:
    """Stands in for a store with an archive."""

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        return []


def result(reply: str, **changes: Any) -> TurnResult:
    values: dict[str, Any] = {
        "reply": reply,
        "outcome": "replied",
        "confidence": None,
        "handoff": None,
        "trace": [rk.TraceEvent(kind="model", data={"x": 1})],
        "conversation_id": "conv-1",
    }
    return TurnResult(**{**values, **changes})


# -- receipts --------------------------------------------------------------------------------


def test_a_receipt_gives_back_the_whole_result_marked_duplicate() -> None:
    conv = Conversation(id="conv-1", customer_id="c")
    handoff = Handoff(
        conversation_id="conv-1", customer_id="c", channel="chat", reason="r", resume_token="t"
    )
    original = result(
        "Cancel order W1234567?",
        outcome="awaiting_customer",
        confidence=0.8,
        handoff=handoff,
        intent="CancelOrder",
        slots={"order_id": "W1234567"},
        citations=[Citation(doc_id="faq")],
        pending="confirm",
        question_id="q-1",
        usage=Usage(prompt_tokens=3, completion_tokens=4, requests=1, cost=0.5),
        error=ValueError("boom"),
    )
    keep_receipt(conv, "m-1", original)
    stored = conv.receipts["m-1"]
    assert stored["error"] == "ValueError: boom"
    again = receipt_result(stored)
    assert again.duplicate and again.trace == []
    assert (again.reply, again.outcome, again.confidence) == (
        "Cancel order W1234567?",
        "awaiting_customer",
        0.8,
    )
    assert again.handoff is not None and again.handoff.model_dump() == handoff.model_dump()
    assert (again.conversation_id, again.intent, again.slots) == (
        "conv-1",
        "CancelOrder",
        {"order_id": "W1234567"},
    )
    assert again.citations == [Citation(doc_id="faq")]
    assert (again.pending, again.question_id) == ("confirm", "q-1")
    assert again.usage.to_json() == original.usage.to_json()


def test_a_receipt_of_a_plain_reply_has_no_handoff_or_error() -> None:
    conv = Conversation(id="conv-1", customer_id="c")
    keep_receipt(conv, "m-1", result("hi"))
    stored = conv.receipts["m-1"]
    assert (stored["handoff"], stored["error"]) == (None, None)
    again = receipt_result(stored)
    assert (again.handoff, again.slots, again.citations, again.pending) == (None, {}, [], None)


def test_receipts_keep_the_newest_and_a_repeat_counts_as_new() -> None:
    conv = Conversation(id="conv-1", customer_id="c")
    for n in range(MAX_RECEIPTS):
        keep_receipt(conv, f"m{n}", result(str(n)))
    assert len(conv.receipts) == MAX_RECEIPTS
    keep_receipt(conv, "m0", result("again"))  # m0 is now the newest
    keep_receipt(conv, "new", result("new"))
    assert len(conv.receipts) == MAX_RECEIPTS
    assert "m1" not in conv.receipts and "m0" in conv.receipts
    assert list(conv.receipts)[-2:] == ["m0", "new"]
    assert conv.receipts["m0"]["reply"] == "again"


# -- compaction ------------------------------------------------------------------------------


def chat(n: int) -> Conversation:
    conv = Conversation(id="conv-1", customer_id="c")
    conv.transcript = [rk.Message(role="customer", text=f"message {i}") for i in range(n)]
    return conv


def test_nothing_is_compacted_for_a_store_without_an_archive() -> None:
    conv = chat(3 * KEEP_MESSAGES)
    compact(conv, object())  # type: ignore[arg-type]
    assert len(conv.transcript) == 3 * KEEP_MESSAGES and conv.archive_out == []


def test_old_messages_move_out_in_one_chunk_once_the_row_holds_twice_the_limit() -> None:
    conv = chat(2 * KEEP_MESSAGES - 1)
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(conv.transcript) == 2 * KEEP_MESSAGES - 1 and conv.archive_out == []
    conv.transcript.append(rk.Message(role="agent", text="the last one"))
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(conv.transcript) == KEEP_MESSAGES
    assert conv.transcript[0].text == f"message {KEEP_MESSAGES}"
    assert conv.transcript[-1].text == "the last one"
    (chunk,) = conv.archive_out
    assert chunk["kind"] == "messages"
    assert [m["text"] for m in chunk["messages"]] == [f"message {i}" for i in range(KEEP_MESSAGES)]


def runs(conv: Conversation, statuses: list[str]) -> None:
    conv.runs = [
        PlaybookRun(id=f"r{i}", intent="CancelOrder", status=status)  # type: ignore[arg-type]
        for i, status in enumerate(statuses)
    ]


def test_finished_runs_move_out_once_enough_of_them_are_older_than_the_newest() -> None:
    conv = chat(1)
    runs(conv, ["resolved"] * (2 * KEEP_RUNS - 1))
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(conv.runs) == 2 * KEEP_RUNS - 1 and conv.archive_out == []
    runs(conv, ["resolved"] * (2 * KEEP_RUNS))
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert [r.id for r in conv.runs] == [f"r{i}" for i in range(KEEP_RUNS, 2 * KEEP_RUNS)]
    assert [(e["kind"], e["run"]["id"]) for e in conv.archive_out] == [
        ("run", f"r{i}") for i in range(KEEP_RUNS)
    ]


def test_unfinished_pending_and_free_runs_stay_in_the_row() -> None:
    conv = chat(1)
    finished = ["resolved", "refused", "cancelled", "failed", "escalated"]
    statuses = [finished[i % 5] for i in range(2 * KEEP_RUNS + 3)]
    statuses[0], statuses[1] = "suspended", "collecting"
    runs(conv, statuses)
    conv.pending = PendingState(kind="resume", question="Back to it?", run_id="r2")
    conv.runs.insert(5, PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free"))
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    kept = [r.id for r in conv.runs]
    assert kept[:4] == ["r0", "r1", "r2", FREE_RUN]
    assert kept[4:] == [f"r{i}" for i in range(KEEP_RUNS + 3, 2 * KEEP_RUNS + 3)]
    moved = [e["run"]["id"] for e in conv.archive_out]
    assert moved == [f"r{i}" for i in range(3, KEEP_RUNS + 3)]


def free_steps(conv: Conversation, n: int, started: int | None = None) -> PlaybookRun:
    free = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
    free.journal = [
        Step(index=i, kind="call", key="ping", status="started" if i == started else "done")
        for i in range(n)
    ]
    conv.runs.append(free)
    return free


def test_old_free_mode_steps_move_out_and_the_base_follows() -> None:
    conv = chat(1)
    free = free_steps(conv, 2 * KEEP_STEPS - 1)
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(free.journal) == 2 * KEEP_STEPS - 1 and conv.archive_out == []
    free.journal.append(Step(index=2 * KEEP_STEPS - 1, kind="call", key="ping"))
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert free.base == KEEP_STEPS
    assert [s.index for s in free.journal] == list(range(KEEP_STEPS, 2 * KEEP_STEPS))
    (chunk,) = conv.archive_out
    assert (chunk["kind"], chunk["run"]) == ("steps", FREE_RUN)
    assert [s["index"] for s in chunk["steps"]] == list(range(KEEP_STEPS))
    more = range(2 * KEEP_STEPS, 3 * KEEP_STEPS)
    free.journal.extend(Step(index=i, kind="call", key="ping") for i in more)
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert free.base == 2 * KEEP_STEPS  # the base counts every step ever archived
    assert free.journal[0].index == free.base


def test_a_started_call_is_never_archived() -> None:
    conv = chat(1)
    free = free_steps(conv, 2 * KEEP_STEPS, started=7)
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert free.base == 7 and free.journal[0].status == "started"
    assert [s["index"] for s in conv.archive_out[0]["steps"]] == list(range(7))
    conv.archive_out.clear()
    first = chat(1)
    free = free_steps(first, 2 * KEEP_STEPS, started=0)
    compact(first, ArchivingStore())  # type: ignore[arg-type]
    assert free.base == 0 and len(free.journal) == 2 * KEEP_STEPS and first.archive_out == []


def test_free_mode_steps_stay_while_a_free_mode_question_is_open() -> None:
    conv = chat(1)
    free = free_steps(conv, 2 * KEEP_STEPS)
    conv.pending = PendingState(kind="tool_confirm", question="Charge?", run_id=FREE_RUN)
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(free.journal) == 2 * KEEP_STEPS and conv.archive_out == []
    conv.pending = PendingState(kind="confirm", question="Cancel?", run_id="r1")
    compact(conv, ArchivingStore())  # type: ignore[arg-type]
    assert len(free.journal) == KEEP_STEPS
