"""Playbooks: slot collection, confirmation, corrections, topic switches and durable replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.sessions.sqlite import SQLiteStore

from .shop import Backend, CancelOrder, Order, build_agent


async def test_cancel_happy_path_asks_missing_slot_confirms_and_writes_once() -> None:
    backend = Backend()
    with rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "no longer needed"}),
            rk.Confirm(answer="yes"),
        ]
    ) as model:
        agent = build_agent(backend, model)
        first = await agent.handle("c-42", "cancel order W1234567")
        assert (first.reply, first.outcome, first.pending) == (
            "Why do you want to cancel?",
            "awaiting_customer",
            "slot",
        )
        second = await agent.handle("c-42", "I don't need it anymore")
        assert (second.reply, second.outcome, second.pending) == (
            "Cancel order W1234567?",
            "awaiting_customer",
            "confirm",
        )
        assert backend.writes == []
        third = await agent.handle("c-42", "yes")
    assert (third.reply, third.outcome) == ("Order W1234567 cancelled", "resolved")
    assert backend.writes == [("cancel", "W1234567")]
    assert third.intent == "CancelOrder"
    assert third.slots == {"order_id": "W1234567", "reason": "no longer needed"}
    tool_events = [e.data for e in third.trace if e.kind == "tool"]
    # get_order was replayed from the journal, not called again; only the write ran this turn.
    assert [e["tool"] for e in tool_events] == ["cancel_order"]


async def test_missing_slots_are_asked_one_at_a_time_in_declaration_order() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder"),
            rk.FillSlots(slots={"order_id": "W1234567"}),
        ]
    )
    agent = build_agent(Backend(), model)
    assert (await agent.handle("c", "cancel")).reply == "What is the order number?"
    assert (await agent.handle("c", "W1234567")).reply == "Why do you want to cancel?"


async def test_invalid_slot_value_is_reasked_with_a_clear_message() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "12345", "reason": "meh"}),
            rk.FillSlots(slots={"order_id": "w 123 4567"}),
        ]
    )
    agent = build_agent(Backend(), model)
    first = await agent.handle("c", "cancel 12345")
    assert first.reply == "That doesn't look like a valid order id. What is the order number?"
    second = await agent.handle("c", "w 123 4567")
    # Spaces and case are forgiven; then the next missing slot is asked.
    assert second.slots["order_id"] == "W1234567"
    assert second.reply == "Why do you want to cancel?"


async def test_a_slot_the_customer_cannot_give_ends_in_a_handoff_not_a_loop() -> None:
    """Each unusable answer counts; after ``max_clarifications`` re-asks the agent escalates
    with the run's context instead of asking forever."""
    model = rk.ScriptedModel(
        [rk.StartIntent(intent="CancelOrder", slots={})]
        + [rk.FillSlots(slots={"order_id": "I don't know"}) for _ in range(3)]
    )
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_clarifications=2))
    assert (await agent.handle("c", "cancel my order")).reply == "What is the order number?"
    for _ in range(2):
        again = await agent.handle("c", "I don't know")
        assert again.outcome == "awaiting_customer"
        assert again.reply.endswith("What is the order number?")
    last = await agent.handle("c", "I don't know")
    assert last.outcome == "escalated"
    assert last.handoff is not None
    assert last.handoff.reason == "the customer could not give the order id"
    assert last.handoff.intent == "CancelOrder"


async def test_a_good_answer_after_a_bad_one_starts_the_count_again() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={}),
            rk.FillSlots(slots={"order_id": "no idea"}),
            rk.FillSlots(slots={"order_id": "no idea"}),
            rk.FillSlots(slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "meh"}),
            rk.FillSlots(slots={"reason": "meh"}),
        ]
    )
    agent = build_agent(Backend(), model, escalation=rk.EscalationPolicy(max_clarifications=2))
    for text in ("cancel", "no idea", "no idea", "W1234567", "meh"):
        assert (await agent.handle("c", text)).outcome == "awaiting_customer"
    assert (await agent.handle("c", "meh")).outcome == "awaiting_customer"


async def test_invalid_choice_is_reasked_with_the_allowed_values() -> None:
    model = rk.ScriptedModel(
        [rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567", "reason": "meh"})]
    )
    result = await build_agent(Backend(), model).handle("c", "cancel W1234567, meh")
    assert result.reply == (
        "That doesn't look like a valid reason; it should be one of: 'no longer needed' or "
        "'ordered by mistake'. Why do you want to cancel?"
    )
    assert "reason" not in result.slots


async def test_slot_correction_rewinds_the_playbook_before_any_write() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.FillSlots(slots={"order_id": "W7654321"}),  # "no, the other order"
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    assert (await agent.handle("c", "cancel W1234567")).reply == "Cancel order W1234567?"
    corrected = await agent.handle("c", "no, the other order, W7654321")
    assert corrected.reply == "Cancel order W7654321?"
    rewinds = [e.data for e in corrected.trace if e.kind == "rewind"]
    assert rewinds == [{"step": 0, "now": """call 'get_order' {"order_id": "W7654321"}"""}]
    done = await agent.handle("c", "yes")
    assert done.outcome == "resolved"
    assert backend.writes == [("cancel", "W7654321")]
    conversation = await agent.conversation("c")
    assert conversation is not None
    run = conversation.runs[0]
    assert [s.key for s in run.superseded] == ["get_order", "Cancel order W1234567?"]


async def test_correction_after_a_write_escalates_instead_of_rewriting_history() -> None:
    backend = Backend()

    class Refund(rk.Intent):
        """Refund an order, then ask for feedback."""

        order_id: str = rk.Slot(pattern=r"W\d{7}")

    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="Refund", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"order_id": "W7654321"}),  # too late: the refund went out
        ]
    )
    agent = build_agent(backend, model)

    @agent.tool(effect="write")
    def refund(ctx: rk.Context[Backend], order_id: str) -> str:
        ctx.deps.writes.append(("refund", order_id))
        return "refunded"

    @agent.playbook(Refund)
    async def run_refund(ctx: rk.Context[Backend], intent: Refund) -> rk.PlaybookOutcome:
        await ctx.call(refund, order_id=intent.order_id)
        await ctx.ask("How was your experience?")
        return ctx.resolve("done")

    assert (await agent.handle("c", "refund W1234567")).reply == "How was your experience?"
    result = await agent.handle("c", "no wait, I meant W7654321")
    assert result.outcome == "escalated"
    assert isinstance(result.error, rk.CorrectionAfterWrite)
    assert (result.error.slot, result.error.step, result.error.tool) == ("order_id", 0, "refund")
    assert result.handoff is not None
    assert [(a.tool, a.args, a.status) for a in result.handoff.actions] == [
        ("refund", {"order_id": "W1234567"}, "done")
    ]
    assert backend.writes == [("refund", "W1234567")]


async def test_topic_switch_suspends_then_resumes_explicitly() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W5555555"}),
            rk.Confirm(answer="yes"),  # go back to the cancellation
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    assert (await agent.handle("c", "cancel W1234567")).reply == "Why do you want to cancel?"
    status = await agent.handle("c", "wait, where is W5555555?")
    assert status.outcome == "resolved"
    assert status.reply == (
        "Order W5555555 is delivered\nShall we go back to your earlier request (cancel order)?"
    )
    assert status.pending == "resume"
    back = await agent.handle("c", "yes")
    assert back.reply == "Why do you want to cancel?"
    assert (await agent.handle("c", "by mistake")).reply == "Cancel order W1234567?"
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    assert backend.writes == [("cancel", "W1234567")]


async def test_topic_switch_then_no_cancels_the_suspended_playbook() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W5555555"}),
            rk.Confirm(answer="no"),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567")
    await agent.handle("c", "where is W5555555?")
    dropped = await agent.handle("c", "no")
    assert dropped.reply == "OK, I've dropped that request."
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert [r.status for r in conversation.runs] == ["cancelled", "resolved"]


async def test_declined_confirmation_never_writes() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Confirm(answer="no"),
        ]
    )
    agent = build_agent(backend, model)
    await agent.handle("c", "cancel W1234567 by mistake")
    result = await agent.handle("c", "no, keep it")
    assert (result.outcome, result.reply) == ("resolved", "customer kept the order")
    assert backend.writes == []


async def test_unsure_confirmation_is_asked_again() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Confirm(answer="unsure"),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567 by mistake")
    again = await agent.handle("c", "hmm")
    assert again.reply == "Just to be sure, please answer yes or no: Cancel order W1234567?"
    assert again.pending == "confirm"


@pytest.mark.parametrize("reload_each_turn", [True])
async def test_write_runs_exactly_once_when_agent_is_rebuilt_from_sqlite_every_turn(
    tmp_path: Path, reload_each_turn: bool
) -> None:
    backend = Backend()
    db = tmp_path / "support.db"
    script = [
        rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
        rk.FillSlots(slots={"reason": "no longer needed"}),
        rk.Confirm(answer="yes"),
        rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
    ]
    replies = []
    for text, step in zip(
        ["cancel W1234567", "not needed", "yes", "status of W1234567?"], script, strict=True
    ):
        agent = build_agent(backend, rk.ScriptedModel([step]), store=f"sqlite:///{db}")
        result = await agent.handle("c-42", text)
        replies.append(result.reply)
        await agent.store.close()
    assert replies == [
        "Why do you want to cancel?",
        "Cancel order W1234567?",
        "Order W1234567 cancelled",
        "Order W1234567 is cancelled",
    ]
    assert backend.writes == [("cancel", "W1234567")]
    store = SQLiteStore(db)
    conversation = await store.open_conversation("c-42")
    assert conversation is not None
    journal = conversation.runs[0].journal
    assert [(s.kind, s.key, s.status) for s in journal] == [
        ("call", "get_order", "done"),
        ("confirm", "Cancel order W1234567?", "done"),
        ("call", "cancel_order", "done"),
    ]
    assert journal[2].idempotency_key == f"{conversation.id}:{conversation.runs[0].id}:2"


async def test_replay_divergence_names_the_step_and_hands_over() -> None:
    backend = Backend()
    agent = build_agent(
        backend,
        rk.ScriptedModel(
            [
                rk.StartIntent(
                    intent="CancelOrder",
                    slots={"order_id": "W1234567", "reason": "no longer needed"},
                ),
                rk.Confirm(answer="yes"),
            ]
        ),
    )
    await agent.handle("c", "cancel W1234567")
    # A deploy changes the playbook under the running conversation.
    get_order = agent.tools["get_order"]

    async def changed(ctx: rk.Context[Backend], intent: CancelOrder) -> rk.PlaybookOutcome:
        await ctx.call(get_order, order_id="W7654321")
        return ctx.resolve("?")

    agent.playbooks["CancelOrder"] = changed
    result = await agent.handle("c", "yes")
    assert result.outcome == "escalated"
    assert isinstance(result.error, rk.ReplayDivergence)
    assert result.error.step == 0
    assert "W1234567" in result.error.expected and "W7654321" in result.error.got
    assert result.handoff is not None and "Replay diverged at step 0" in (
        result.handoff.error or ""
    )
    assert backend.writes == []


async def test_replay_divergence_raises_with_raise_errors() -> None:
    agent = build_agent(
        Backend(),
        rk.ScriptedModel(
            [
                rk.StartIntent(
                    intent="CancelOrder",
                    slots={"order_id": "W1234567", "reason": "no longer needed"},
                ),
                rk.Confirm(answer="yes"),
            ]
        ),
        raise_errors=True,
    )
    await agent.handle("c", "cancel W1234567")

    async def changed(ctx: rk.Context[Backend], intent: CancelOrder) -> rk.PlaybookOutcome:
        ctx.say("something else first")
        return ctx.resolve("?")

    agent.playbooks["CancelOrder"] = changed
    with pytest.raises(rk.ReplayDivergence, match="step 0"):
        await agent.handle("c", "yes")
    # The customer's message was kept even though the turn failed.
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert conversation.transcript[-1].text == "yes"


class Crash(BaseException):
    """Simulates the process dying in the middle of a tool call."""


def _payment_agent(
    db: Path, *, idempotent: bool, crash: list[bool], effects: list[str], script: list[object]
) -> rk.Agent[Backend]:
    agent = build_agent(Backend(), rk.ScriptedModel(script), store=f"sqlite:///{db}")

    class Pay(rk.Intent):
        """Pay an invoice."""

    def charge_with_key(idempotency_key: str) -> str:
        if idempotency_key not in effects:  # the payment provider deduplicates by key
            effects.append(idempotency_key)
        if crash[0]:
            crash[0] = False
            raise Crash
        return "charged"

    def charge_without_key() -> str:
        effects.append("charge")
        if crash[0]:
            crash[0] = False
            raise Crash
        return "charged"

    charge = agent.tool(effect="write", confirm=True, name="charge")(
        charge_with_key if idempotent else charge_without_key
    )

    @agent.playbook(Pay)
    async def pay(ctx: rk.Context[Backend], intent: Pay) -> rk.PlaybookOutcome:
        if not await ctx.confirm("Pay 10 USD?"):
            return ctx.resolve("not paid")
        result = await ctx.try_call(charge)
        if isinstance(result, rk.ToolError):
            return ctx.escalate(f"payment state unknown: {result.kind}")
        return ctx.resolve("paid")

    return agent


async def _crash_during_charge(db: Path, *, idempotent: bool, effects: list[str]) -> None:
    crash = [True]
    agent = _payment_agent(
        db,
        idempotent=idempotent,
        crash=crash,
        effects=effects,
        script=[rk.StartIntent(intent="Pay"), rk.Confirm(answer="yes")],
    )
    assert (await agent.handle("c", "pay my invoice")).reply == "Pay 10 USD?"
    with pytest.raises(Crash):
        await agent.handle("c", "yes")
    await agent.store.close()
    # The write was journaled ahead of the call: a new process finds it "started".
    store = SQLiteStore(db)
    conversation = await store.open_conversation("c")
    assert conversation is not None
    assert conversation.runs[0].journal[-1].status == "started"
    await store.close()


async def test_crash_between_call_and_commit_recovers_idempotent_write_without_duplicate(
    tmp_path: Path,
) -> None:
    db, effects = tmp_path / "crash.db", []
    await _crash_during_charge(db, idempotent=True, effects=effects)
    revived = _payment_agent(
        db,
        idempotent=True,
        crash=[False],
        effects=effects,
        script=[rk.Reply(text="Anything else?")],
    )
    result = await revived.handle("c", "hello? did it work?")
    # The next turn first recovers the interrupted run: same key, so no second charge.
    assert result.reply == "paid\nAnything else?"
    assert len(effects) == 1
    recover = [e.data for e in result.trace if e.kind == "recover"]
    assert recover == [{"tool": "charge", "key": effects[0]}]


async def test_crash_with_non_idempotent_write_is_never_repeated(tmp_path: Path) -> None:
    db, effects = tmp_path / "crash.db", []
    await _crash_during_charge(db, idempotent=False, effects=effects)
    revived = _payment_agent(db, idempotent=False, crash=[False], effects=effects, script=[])
    result = await revived.handle("c", "hello? did it work?")
    assert effects == ["charge"]
    assert result.outcome == "escalated"
    assert result.handoff is not None
    assert result.handoff.reason == "payment state unknown: unknown_outcome"
    message = (
        "the call was interrupted and the tool takes no idempotency key, so it is not "
        "repeated; a human must check whether it took effect"
    )
    tool_events = [e.data for e in result.trace if e.kind == "tool"]
    assert tool_events == [
        {"tool": "charge", "args": {}, "kind": "unknown_outcome", "message": message}
    ]
    (action,) = result.handoff.actions
    assert (action.tool, action.status, action.error) == (
        "charge",
        "error",
        {"tool": "charge", "kind": "unknown_outcome", "message": message},
    )


async def test_say_is_sent_once_not_on_every_replay() -> None:
    class Hello(rk.Intent):
        """Say hello then ask."""

    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.StartIntent(intent="Hello"), rk.FillSlots(slots={"answer": "Ana"})]),
    )

    @agent.playbook(Hello)
    async def hello(ctx: rk.Context[Backend], intent: Hello) -> rk.PlaybookOutcome:
        ctx.say("Welcome!")
        name = await ctx.ask("What is your name?")
        return ctx.resolve(f"Hi {name}")

    first = await agent.handle("c", "hello")
    assert first.reply == "Welcome!\nWhat is your name?"
    second = await agent.handle("c", "Ana")
    assert second.reply == "Hi Ana"


async def test_ask_validates_the_answer_type_and_reasks() -> None:
    class Count(rk.Intent):
        """Ask for a number."""

    agent = build_agent(
        Backend(),
        rk.ScriptedModel(
            [
                rk.StartIntent(intent="Count"),
                rk.FillSlots(slots={"quantity": "lots"}),
                rk.FillSlots(slots={"quantity": "3"}),
            ]
        ),
    )

    @agent.playbook(Count)
    async def count(ctx: rk.Context[Backend], intent: Count) -> rk.PlaybookOutcome:
        n = await ctx.ask("How many?", int, name="quantity")
        return ctx.resolve(f"{n * 2}")

    assert (await agent.handle("c", "count")).reply == "How many?"
    again = await agent.handle("c", "lots")
    assert again.reply == "The quantity should be a number. How many?"
    assert (await agent.handle("c", "3")).reply == "6"


async def test_remembered_facts_are_reused_and_slots_known_are_not_asked_again() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"}),
            rk.StartIntent(intent="CancelOrder", slots={"reason": "ordered by mistake"}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "where is W1234567")
    result = await agent.handle("c", "cancel it, I ordered by mistake")
    assert result.reply == "Cancel order W1234567?"
    assert any(e.kind == "slot" and e.data.get("event") == "reused" for e in result.trace)


def test_tool_results_round_trip_to_their_declared_type() -> None:
    agent = build_agent(Backend(), rk.ScriptedModel([]))
    tool = agent.tools["get_order"]
    assert tool.load_result(tool.dump_result(Order(id="W1", status="pending"))) == Order(
        id="W1", status="pending"
    )


async def test_request_text_is_the_message_that_started_the_run_on_every_replay() -> None:
    class Note(rk.Intent):
        """Take a note."""

    seen: list[str] = []
    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.StartIntent(intent="Note"), rk.Confirm(answer="yes")]),
        parked_playbooks=0,  # replayed on every turn
    )

    @agent.playbook(Note)
    async def note(ctx: rk.Context[Backend], intent: Note) -> rk.PlaybookOutcome:
        seen.append(ctx.request_text)
        await ctx.confirm("Save it?")
        return ctx.resolve("saved")

    await agent.handle("c", "note: buy milk")
    await agent.handle("c", "yes")
    assert seen == ["note: buy milk", "note: buy milk"]


class UpdateBillingEmail(rk.Intent):
    """Customer wants invoices sent to another address."""

    billing_email: str = rk.Slot(ask="Which address should invoices go to?")
    contact: str = rk.Slot(kind="email", ask="Where can we reach you?")
    email_subject: str = ""  # named like an email, but not an address
    backup_email: str = rk.Slot(pattern=r"\S+@\S+", ask="Backup?")  # its own pattern rules


@pytest.mark.parametrize("slot", ["billing_email", "contact"])
def test_an_email_slot_takes_only_an_address(slot: str) -> None:
    assert UpdateBillingEmail.validate_slot(slot, " ann@example.com ") == "ann@example.com"
    for bad in ("ann at example dot com", "ann@example", "ann@@example.com"):
        with pytest.raises(ValueError, match=r"should look like name@example\.com"):
            UpdateBillingEmail.validate_slot(slot, bad)


def test_only_email_slots_are_held_to_an_address() -> None:
    assert UpdateBillingEmail.validate_slot("email_subject", "Invoice March") == "Invoice March"
    assert UpdateBillingEmail.validate_slot("backup_email", "a@b") == "a@b"


async def test_an_id_a_finished_request_used_is_not_reused_for_the_same_request() -> None:
    """After cancelling W1234567, "I want to cancel another order" asks which one; another
    intent still reuses the id ("where is it?")."""
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W1234567", "reason": "ordered by mistake"}
            ),
            rk.Confirm(answer="yes"),
            rk.StartIntent(intent="OrderStatus", slots={}),
            rk.StartIntent(intent="CancelOrder", slots={}),
        ]
    )
    agent = build_agent(Backend(), model)
    await agent.handle("c", "cancel W1234567, ordered by mistake")
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    status = await agent.handle("c", "where is it now?")
    assert status.slots["order_id"] == "W1234567"  # another intent: reused, not asked
    again = await agent.handle("c", "I want to cancel another order")
    assert again.reply == "What is the order number?"
    assert "order_id" not in again.slots


async def test_two_requests_in_one_message_are_both_handled_in_turn() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="OrderStatus",
                slots={"order_id": "W1234567"},
                then=[rk.StartIntent(intent="CancelOrder", slots={"order_id": "W7654321"})],
            ),
            rk.Confirm(answer="yes"),  # yes, go on with the cancellation
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    first = await agent.handle("c", "where is W1234567, and cancel W7654321 please")
    assert first.reply == (
        "Order W1234567 is pending\n"
        "You also asked about something else (cancel order). Shall we do that now?"
    )
    second = await agent.handle("c", "yes")
    assert second.intent == "CancelOrder" and second.slots["order_id"] == "W7654321"
    assert second.reply == "Why do you want to cancel?"
    await agent.handle("c", "by mistake")
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    assert backend.writes == [("cancel", "W7654321")]


async def test_a_queued_request_naming_an_unknown_intent_is_an_invalid_decision() -> None:
    bad = rk.StartIntent(intent="OrderStatus", then=[rk.StartIntent(intent="Nope")])
    model = rk.ScriptedModel([bad, bad])
    result = await build_agent(Backend(), model).handle("c", "x")
    error = model.requests[1].retry_error
    assert error is not None and "unknown intent 'Nope'" in error
    assert result.outcome == "awaiting_customer"


def test_an_unknown_slot_kind_fails_where_it_is_declared() -> None:
    with pytest.raises(rk.UserError, match=r"Unknown slot kind 'name'.*full_name"):
        rk.Slot(kind="name", ask="How should the name be spelled?")  # type: ignore[arg-type]


@pytest.mark.parametrize("parked", [0, 10])
async def test_a_playbook_changing_a_result_in_place_changes_neither_journal_nor_replay(
    parked: int,
) -> None:
    class Basket(rk.Intent):
        """Build a basket."""

    agent = build_agent(
        Backend(),
        rk.ScriptedModel(
            [
                rk.StartIntent(intent="Basket"),
                rk.FillSlots(slots={"more": "a"}),
                rk.FillSlots(slots={"more": "b"}),
            ]
        ),
        parked_playbooks=parked,
    )

    @agent.tool
    def basket() -> dict[str, Any]:  # Any: pydantic keeps the inner list as it is
        """The basket."""
        return {"items": ["x"]}

    @agent.playbook(Basket)
    async def build(ctx: rk.Context[Backend], intent: Basket) -> rk.PlaybookOutcome:
        got = await ctx.call(basket)
        got["items"].append("mine")  # the playbook's own copy
        await ctx.ask("More?", str, name="more")
        got = await ctx.call(basket)
        got["items"].append("again")
        await ctx.ask("Anything else?", str, name="more")
        return ctx.resolve(",".join(got["items"]))

    await agent.handle("c", "basket")
    await agent.handle("c", "a")
    done = await agent.handle("c", "b")
    assert done.reply == "x,again"
    journal = (await agent.conversation("c")).runs[-1].journal
    assert [s.result for s in journal if s.kind == "call"] == [{"items": ["x"]}] * 2
