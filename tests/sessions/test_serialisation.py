"""A conversation's JSON: one serialiser, old rows still load, damage is a typed error."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from pydantic_core import from_json, to_json

import resolvekit as rk
from resolvekit.sessions import (
    DEFAULT_WRITE_DEADLINE,
    FREE_RUN,
    Conversation,
    PendingState,
    PlaybookRun,
    Step,
    decode_conversation,
    encode_conversation,
)


def _rich() -> Conversation:
    conversation = Conversation.new("c-1", "voice")
    conversation.transcript += [
        rk.Message(role="customer", text="cancel W1234567 \x00 ☃"),
        rk.Message(role="tool", text="{}", tool_call={"name": "get_order", "args": {"id": 1}}),
    ]
    run = PlaybookRun(id="r1", intent="CancelOrder", slots={"order_id": "W1234567"})
    run.journal += [
        Step(index=0, kind="call", key="get_order", result={"status": "pending", "n": None}),
        Step(
            index=1,
            kind="confirm",
            key="Cancel?",
            status="done",
            result=True,
            evidence={"words": "yes", "message_id": "m-1"},
        ),
        Step(index=2, kind="call", key="cancel", status="started", deadline=5.0, owner="p-1"),
    ]
    run.superseded.append(Step(index=0, kind="ask", key="Why?", status="done", result="x"))
    conversation.runs.append(run)
    conversation.pending = PendingState(kind="confirm", question="Cancel?", run_id="r1", step=1)
    conversation.facts = {"order_id": "W1234567", "nothing": None}
    conversation.usage = rk.Usage(requests=2, prompt_tokens=10, completion_tokens=3, cost=0.5)
    conversation.receipts = {"m-1": {"reply": "ok"}}
    conversation.current_message = "m-2"
    conversation.archived = 4
    conversation.archive_out = [{"kind": "run", "id": "r0"}]
    return conversation


def test_round_trip_keeps_everything_but_archive_out() -> None:
    conversation = _rich()
    raw = encode_conversation(conversation)
    assert b"archive_out" not in raw
    loaded = decode_conversation(conversation.id, raw.decode(), where="test")
    assert loaded.archive_out == []
    loaded.archive_out = conversation.archive_out
    assert loaded == conversation
    assert isinstance(loaded.runs[0].journal[1], Step)
    assert isinstance(loaded.transcript[1], rk.Message)
    assert loaded.to_json() == conversation.to_json() == from_json(raw)
    assert Conversation.from_json(conversation.to_json()) == loaded


def test_a_row_written_before_the_new_fields_still_loads() -> None:
    old = {
        "id": "conv-1",
        "customer_id": "c-1",
        "status": "open",
        "channel": "chat",
        "created_at": 1.0,
        "updated_at": 2.0,
        "transcript": [{"role": "customer", "text": "hi", "channel": "chat", "at": 1.0}],
        "runs": [
            {
                "id": "r1",
                "intent": "CancelOrder",
                "slots": {},
                "status": "waiting",
                "journal": [
                    {
                        "index": 0,
                        "kind": "ask",
                        "key": "Why?",
                        "args": {},
                        "status": "pending",
                        "result": None,
                        "error": None,
                        "effect": None,
                        "idempotency_key": None,
                        "at": 1.5,
                    }
                ],
                "superseded": [],
                "summary": "",
                "opening": "cancel",
                "started_at": 1.0,
                "queued": False,
            }
        ],
        "facts": {},
        "pending": {
            "kind": "ask",
            "question": "Why?",
            "run_id": "r1",
            "slot": "reason",
            "step": 0,
            "tool": None,
            "attempts": 0,
        },
        "counters": {},
        "offered": [],
        "handoff": None,
        "resume_token": None,
        "summary": "",
        "history": [],
        "usage": {"requests": 1, "prompt_tokens": 2, "completion_tokens": 3, "cost": 0.0},
        "version": 3,
    }
    loaded = decode_conversation("conv-1", to_json(old).decode(), where="test")
    assert loaded.version == 3 and loaded.receipts == {} and loaded.archived == 0
    assert loaded.current_message is None
    assert loaded.runs[0].journal[0].evidence is None and loaded.runs[0].journal[0].owner is None
    assert loaded.pending is not None and loaded.pending.id  # a fresh question id


def _damaged(change: str) -> Any:
    data = _rich().to_json()
    if change == "not_json":
        return "{not json"
    if change == "not_a_dict":
        return to_json([data]).decode()
    if change == "wrong_type":
        data["transcript"] = "hello"
    elif change == "missing_key":
        del data["customer_id"]
    elif change == "bad_literal":
        data["runs"][0]["journal"][0]["status"] = "exploded"
    elif change == "pending_step_outside_journal":
        data["pending"]["step"] = 3
    elif change == "pending_step_negative":
        data["pending"]["step"] = -1
    elif change == "pending_run_unknown":
        data["pending"]["run_id"] = "nope"
    elif change == "another_id":
        data["id"] = "someone-else"
    return to_json(data).decode()


@pytest.mark.parametrize(
    "change",
    [
        "not_json",
        "not_a_dict",
        "wrong_type",
        "missing_key",
        "bad_literal",
        "pending_step_outside_journal",
        "pending_step_negative",
        "pending_run_unknown",
        "another_id",
    ],
)
def test_damage_is_corrupt_store_naming_the_row(change: str) -> None:
    conversation = _rich()
    with pytest.raises(rk.CorruptStore, match=f"Conversation {conversation.id} in db.sqlite"):
        decode_conversation(conversation.id, _damaged(change), where="db.sqlite")


@pytest.mark.parametrize(("step", "loads"), [(199, False), (200, True), (201, True), (202, False)])
def test_a_pending_step_counts_from_the_base_of_a_compacted_journal(step: int, loads: bool) -> None:
    """Free mode's journal moves its oldest steps to the archive and counts on from ``base``: a
    question asked after a compaction names a step past ``len(journal)``."""
    conversation = Conversation.new("c-1", "chat")
    free = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free", base=200)
    free.journal = [
        Step(index=200, kind="call", key="get_order", status="done"),
        Step(index=201, kind="confirm", key="Cancel?", status="pending"),
    ]
    conversation.runs.append(free)
    conversation.pending = PendingState(
        kind="tool_confirm", question="Cancel?", run_id=FREE_RUN, step=step
    )
    raw = encode_conversation(conversation).decode()
    if loads:
        assert decode_conversation(conversation.id, raw, where="db").pending == conversation.pending
    else:
        with pytest.raises(rk.CorruptStore, match=f"pending.step {step} is outside"):
            decode_conversation(conversation.id, raw, where="db")


def test_damage_report_never_quotes_the_customer() -> None:
    data = _rich().to_json()
    data["transcript"][0]["role"] = "my card is 4111 1111 1111 1111"
    with pytest.raises(rk.CorruptStore) as caught:
        decode_conversation(data["id"], to_json(data).decode(), where="db")
    assert "4111" not in str(caught.value)
    assert "transcript.0.role" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_data_that_is_not_text_is_corrupt() -> None:
    with pytest.raises(rk.CorruptStore, match="bytes, not text"):
        decode_conversation("x", b"{}", where="db")


def test_an_encrypted_row_read_without_its_key_says_so() -> None:
    with pytest.raises(rk.CorruptStore, match="encrypted"):
        decode_conversation("x", "gAAAAABl" + "A" * 80, where="db")


@pytest.mark.parametrize("cls", [Conversation, PlaybookRun, Step, PendingState, rk.Message])
def test_every_optional_field_defaults_to_none(cls: type) -> None:
    """Rows leave out fields that are None, which reads back the same only while this holds."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if type(None) in typing.get_args(hints[field.name]):
            assert field.default is None, f"{cls.__name__}.{field.name}"


def test_none_inside_plain_json_values_is_kept() -> None:
    conversation = _rich()
    conversation.runs[0].journal[0].args = {"note": None}
    raw = encode_conversation(conversation)
    loaded = decode_conversation(conversation.id, raw.decode(), where="test")
    assert loaded.facts == {"order_id": "W1234567", "nothing": None}
    assert loaded.runs[0].journal[0].args == {"note": None}
    assert loaded.runs[0].journal[0].result == {"status": "pending", "n": None}
    assert b'"effect"' not in raw  # None fields are left out


def _full(conversation: Conversation) -> Any:
    """The conversation dumped by the one serialiser, with no step cache involved."""
    return Conversation.to_json(conversation)


def _same_as_full(conversation: Conversation) -> None:
    assert from_json(encode_conversation(conversation)) == _full(conversation)
    started = [
        s.deadline if s.deadline is not None else s.at + DEFAULT_WRITE_DEADLINE
        for r in conversation.runs
        for s in r.journal
        if s.kind == "call" and s.status == "started"
    ]
    assert conversation.inflight_until() == (max(started) if started else None)


def _changes() -> list[tuple[str, typing.Callable[[Conversation], None]]]:
    def step(c: Conversation, i: int) -> Step:
        return c.runs[0].journal[i]

    def confirm_to_pending(c: Conversation) -> None:
        s = step(c, 1)
        s.status, s.result = "pending", None

    def truncate(c: Conversation) -> None:
        run = c.runs[0]
        run.superseded += run.journal[1:]
        del run.journal[1:]

    def finish_started(c: Conversation) -> None:
        s = step(c, 2)
        s.status, s.result, s.deadline, s.owner = "done", {"ok": True}, None, None

    def replace_step(c: Conversation) -> None:
        c.runs[0].journal[0] = Step(index=0, kind="call", key="get_order", result={"n": 2})

    def new_run(c: Conversation) -> None:
        c.runs.append(PlaybookRun(id="r2", intent="Other"))

    def compact(c: Conversation) -> None:
        c.runs.clear()
        c.archived += 1

    def finished_restarted(c: Conversation) -> None:
        s = step(c, 0)
        s.status, s.deadline = "started", 99.0

    def grow(c: Conversation) -> None:
        run = c.runs[0]
        for i in range(3, 8):
            run.journal.append(Step(index=i, kind="call", key="x", result={"i": i}))

    return [
        ("a finished step started again", finished_restarted),
        ("the journal grows", grow),
        ("result reassigned", lambda c: setattr(step(c, 0), "result", {"status": "cancelled"})),
        ("status to error", lambda c: setattr(step(c, 0), "status", "error")),
        ("evidence replaced", lambda c: setattr(step(c, 1), "evidence", {"words": "no"})),
        ("ask re-validated", confirm_to_pending),
        ("truncated by a correction", truncate),
        ("a started write finishes", finish_started),
        ("a step replaced", replace_step),
        ("another run", new_run),
        ("compacted", compact),
        ("slots changed", lambda c: c.runs[0].slots.update(order_id="W7")),
        ("transcript grows", lambda c: c.transcript.append(rk.Message(role="agent", text="k"))),
    ]


@pytest.mark.parametrize(("name", "change"), _changes(), ids=[n for n, _ in _changes()])
def test_a_save_after_any_change_is_the_full_dump(name: str, change: Any) -> None:
    # Finished steps keep their JSON between saves; a change to any field must show.
    conversation = _rich()
    _same_as_full(conversation)
    _same_as_full(conversation)  # second save served from the kept JSON
    change(conversation)
    _same_as_full(conversation)
    _same_as_full(conversation)


def test_kept_json_is_reused_for_unchanged_finished_steps() -> None:
    conversation = _rich()
    encode_conversation(conversation)
    finished = conversation.runs[0].journal[0]
    kept = finished.__dict__["_resolvekit_json"]
    encode_conversation(conversation)
    assert finished.__dict__["_resolvekit_json"] is kept
    assert "_resolvekit_json" not in conversation.runs[0].journal[2].__dict__  # still started


def test_a_round_trip_after_caching_loads_the_same_conversation() -> None:
    conversation = _rich()
    encode_conversation(conversation)
    raw = encode_conversation(conversation)
    loaded = decode_conversation(conversation.id, raw.decode(), where="test")
    assert loaded.runs == conversation.runs


def test_a_conversation_without_journals_encodes_in_one_piece() -> None:
    conversation = Conversation.new("c-2", "chat")
    conversation.runs.append(PlaybookRun(id="r1", intent="X"))
    _same_as_full(conversation)
