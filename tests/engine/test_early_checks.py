"""Early checks (``@agent.check``): a read-only check runs as soon as the slots it needs are
filled, before any other slot is asked, journaled so replay, restarts and channels agree; a
check never writes."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pydantic
import pytest

import resolvekit as rk

ASK_BOOKING = "Which booking?"
ASK_IN = "New check-in date?"
ASK_OUT = "New check-out date?"
ASK_EMAIL = "What's your email?"
OVER = "Booking B3 is over, so its dates can't change."


class ChangeDates(rk.Intent):
    """Move a booking to new dates."""

    booking_id: str = rk.Slot(ask=ASK_BOOKING)
    check_in: str = rk.Slot(ask=ASK_IN)
    check_out: str = rk.Slot(ask=ASK_OUT)


class VerifiedChange(rk.Intent):
    """The same, for a verified guest only."""

    verify_first = True
    booking_id: str = rk.Slot(ask=ASK_BOOKING)
    check_in: str = rk.Slot(ask=ASK_IN)


def build(
    store: str = "memory://", *, raise_errors: bool = True
) -> tuple[rk.Agent[Any], dict[str, Any]]:
    seen: dict[str, Any] = {
        "lookups": [],
        "writes": [],
        "bookings": {"B1": "open", "B2": "open", "B3": "over"},
    }
    agent: rk.Agent[Any] = rk.Agent(
        model="test", store=store, raise_errors=raise_errors, handoff=[]
    )

    @agent.tool(effect="read")
    def get_booking(booking_id: str) -> str:
        """The booking's status."""
        seen["lookups"].append(booking_id)
        return str(seen["bookings"][booking_id])

    @agent.tool(effect="write")
    def change_booking(booking_id: str, check_in: str, check_out: str) -> str:
        """Move a booking."""
        seen["writes"].append((booking_id, check_in, check_out))
        return "changed"

    @agent.check(ChangeDates, needs=("booking_id",))
    async def booking_open(ctx: rk.Context[Any], intent: ChangeDates) -> rk.PlaybookOutcome | None:
        status = await ctx.call(get_booking, booking_id=intent.booking_id)
        if status != "open":
            return ctx.refuse(f"booking {status}", reply=OVER)
        return None

    @agent.playbook(ChangeDates)
    async def change(ctx: rk.Context[Any], intent: ChangeDates) -> rk.PlaybookOutcome:
        await ctx.call(change_booking, **intent.model_dump())
        return ctx.resolve(f"{intent.booking_id}: {intent.check_in} to {intent.check_out}")

    @agent.verify
    async def verify(ctx: rk.Context[Any]) -> dict[str, str]:
        await ctx.ask(ASK_EMAIL, name="email")
        return {"account": "A-1"}

    @agent.check(VerifiedChange, needs=("booking_id",))
    async def verified_open(
        ctx: rk.Context[Any], intent: VerifiedChange
    ) -> rk.PlaybookOutcome | None:
        assert ctx.identity == {"account": "A-1"}  # the identity part ran first
        return await booking_open(ctx, intent)  # type: ignore[arg-type]

    @agent.playbook(VerifiedChange)
    async def verified_change(ctx: rk.Context[Any], intent: VerifiedChange) -> rk.PlaybookOutcome:
        return ctx.resolve(f"{intent.booking_id} moved to {intent.check_in}")

    return agent, seen


def script(*decisions: rk.Decision) -> rk.ScriptedModel:
    return rk.ScriptedModel(list(decisions))


def journal(conversation: rk.Conversation | None, intent: str = "ChangeDates") -> list[Any]:
    assert conversation is not None
    run = next(r for r in conversation.runs if r.intent == intent)
    return [(s.kind, s.key, s.args) for s in run.journal]


async def test_the_check_refuses_once_its_slot_is_given_before_the_dates_are_asked() -> None:
    agent, seen = build()
    with agent.override(
        model=script(rk.StartIntent(intent="ChangeDates"), rk.FillSlots(slots={"booking_id": "B3"}))
    ):
        first = await agent.handle("c", "can I change my booking?")
        assert (first.reply, first.pending) == (ASK_BOOKING, "slot")
        refused = await agent.handle("c", "B3")
    assert (refused.reply, refused.outcome, refused.pending) == (OVER, "refused", None)
    assert seen["lookups"] == ["B3"] and seen["writes"] == []
    events = [e.data for e in refused.trace if e.kind == "check"]
    assert events == [
        {"check": "booking_open", "event": "started", "needs": {"booking_id": "B3"}},
        {"check": "booking_open", "event": "refused", "summary": "booking over"},
    ]
    assert [e.data["tool"] for e in refused.trace if e.kind == "tool"] == ["get_booking"]
    conversation = await agent.conversation("c")
    assert journal(conversation) == [
        ("check", "booking_open", {"booking_id": "B3"}),
        ("call", "get_booking", {"booking_id": "B3"}),
    ]
    # The served trace, rebuilt from the store (another worker's view), shows the check too.
    from resolvekit.serve.traces import stored_turns

    assert conversation is not None
    stored = [e for turn in stored_turns(conversation) for e in turn["trace"]]
    assert [(e["kind"], e["data"].get("key")) for e in stored if e["kind"] == "check"] == [
        ("check", "booking_open")
    ]


async def test_a_passing_check_lets_the_remaining_slots_be_asked_then_the_playbook_run() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="ChangeDates", slots={"booking_id": "B1"}),
            rk.FillSlots(slots={"check_in": "May 5"}),
            rk.FillSlots(slots={"check_out": "May 7"}),
        )
    ):
        first = await agent.handle("c", "change booking B1")
        assert first.reply == ASK_IN
        assert (await agent.handle("c", "May 5")).reply == ASK_OUT
        done = await agent.handle("c", "May 7")
    assert (done.reply, done.outcome) == ("B1: May 5 to May 7", "resolved")
    assert [e.data for e in first.trace if e.kind == "check"][1:] == [
        {"check": "booking_open", "event": "passed"}
    ]
    assert not [e for e in done.trace if e.kind == "check"]  # replayed, not traced again
    assert seen["lookups"] == ["B1"]  # checked once: the playbook's run replays it
    assert seen["writes"] == [("B1", "May 5", "May 7")]
    assert journal(await agent.conversation("c")) == [
        ("check", "booking_open", {"booking_id": "B1"}),
        ("call", "get_booking", {"booking_id": "B1"}),
        ("check", "passed", {"check": "booking_open"}),
        ("call", "change_booking", {"booking_id": "B1", "check_in": "May 5", "check_out": "May 7"}),
    ]


@pytest.mark.parametrize(("booking", "reply"), [("B1", "B1: May 5 to May 7"), ("B3", OVER)])
async def test_every_slot_given_up_front_checks_before_the_playbook_with_no_question(
    booking: str, reply: str
) -> None:
    agent, seen = build()
    slots = {"booking_id": booking, "check_in": "May 5", "check_out": "May 7"}
    with agent.override(model=script(rk.StartIntent(intent="ChangeDates", slots=slots))):
        result = await agent.handle("c", f"change {booking} to May 5-7")
    assert (result.reply, result.pending) == (reply, None)
    assert seen["lookups"] == [booking]
    assert seen["writes"] == ([] if booking == "B3" else [(booking, "May 5", "May 7")])
    assert journal(await agent.conversation("c"))[0] == (
        "check",
        "booking_open",
        {"booking_id": booking},
    )


async def test_replay_never_decides_again_even_when_the_backend_changed() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="ChangeDates", slots={"booking_id": "B1"}),
            rk.FillSlots(slots={"check_in": "May 5"}),
            rk.FillSlots(slots={"check_out": "May 7"}),
        )
    ):
        assert (await agent.handle("c", "change booking B1")).reply == ASK_IN
        seen["bookings"]["B1"] = "over"  # decided already: the journal holds "open"
        assert (await agent.handle("c", "May 5")).reply == ASK_OUT
        done = await agent.handle("c", "May 7")
    assert done.outcome == "resolved"
    assert seen["lookups"] == ["B1"]


async def test_correcting_the_slot_a_check_needs_runs_it_again() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="ChangeDates", slots={"booking_id": "B1"}),
            rk.FillSlots(slots={"booking_id": "B3"}),
        )
    ):
        assert (await agent.handle("c", "change booking B1")).reply == ASK_IN
        refused = await agent.handle("c", "sorry, I meant B3")
    assert (refused.reply, refused.outcome) == (OVER, "refused")
    assert seen["lookups"] == ["B1", "B3"] and seen["writes"] == []
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert [(s.kind, s.key) for s in conversation.runs[0].superseded] == [
        ("check", "booking_open"),
        ("call", "get_booking"),
        ("check", "passed"),
    ]


async def test_correcting_another_slot_does_not_run_the_check_again() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="ChangeDates", slots={"booking_id": "B1", "check_in": "May 5"}),
            rk.FillSlots(slots={"check_in": "May 6"}),
            rk.FillSlots(slots={"check_out": "May 7"}),
        )
    ):
        assert (await agent.handle("c", "change B1 to start May 5")).reply == ASK_OUT
        assert (await agent.handle("c", "no, May 6")).reply == ASK_OUT
        done = await agent.handle("c", "May 7")
    assert done.reply == "B1: May 6 to May 7"
    assert seen["lookups"] == ["B1"]


async def test_the_identity_part_runs_first_then_the_check_then_the_other_slots() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="VerifiedChange", slots={"booking_id": "B3"}),
            rk.FillSlots(slots={"email": "ann@example.com"}),
        )
    ):
        assert (await agent.handle("c", "change B3")).reply == ASK_EMAIL
        refused = await agent.handle("c", "ann@example.com")
    assert (refused.reply, refused.outcome) == (OVER, "refused")
    assert seen["lookups"] == ["B3"]
    steps = journal(await agent.conversation("c"), "VerifiedChange")
    assert [s[:2] for s in steps] == [
        ("verify", "decision"),
        ("ask", ASK_EMAIL),
        ("verify", "verified"),
        ("check", "verified_open"),
        ("call", "get_booking"),
    ]


async def test_a_check_that_asks_survives_a_restart_on_sqlite_and_a_change_of_channel(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'support.db'}"

    def asking(store: str) -> tuple[rk.Agent[Any], dict[str, Any]]:
        agent, seen = build(store)

        @agent.check(ChangeDates)
        async def which_booking(
            ctx: rk.Context[Any], intent: ChangeDates
        ) -> rk.PlaybookOutcome | None:
            picked = await ctx.ask("Which of B1 or B3?", name="pick")
            status = await ctx.call("get_booking", booking_id=picked.strip())
            return ctx.refuse("over", reply=OVER) if status != "open" else None

        return agent, seen

    first, seen_first = asking(store)
    with first.override(model=script(rk.StartIntent(intent="ChangeDates"))):
        assert (await first.handle("c", "change my booking")).reply == "Which of B1 or B3?"
    await first.close()
    second, seen_second = asking(store)
    with second.override(model=script(rk.FillSlots(slots={"pick": "B1"}))):
        # booking_open needs booking_id, not given yet: only which_booking ran, then the slot
        assert (await second.handle("c", "B1", channel="sms")).reply == ASK_BOOKING
    await second.close()
    third, seen_third = asking(store)
    with third.override(model=script(rk.FillSlots(slots={"booking_id": "B3"}))):
        refused = await third.handle("c", "B3", channel="email")
    await third.close()
    assert (refused.reply, refused.outcome) == (OVER, "refused")
    assert (seen_first["lookups"], seen_second["lookups"], seen_third["lookups"]) == (
        [],
        ["B1"],
        ["B3"],
    )
    conversation = await build(store)[0].conversation("c")
    assert [s[:2] for s in journal(conversation)] == [
        ("check", "which_booking"),
        ("ask", "Which of B1 or B3?"),
        ("call", "get_booking"),
        ("check", "passed"),
        ("check", "booking_open"),
        ("call", "get_booking"),
    ]


# -- a check never writes ----------------------------------------------------------------------


async def _via_ctx_call(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    await ctx.call("change_booking", booking_id="B1", check_in="a", check_out="b")


async def _via_try_call(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    await ctx.try_call(agent.tools["change_booking"], booking_id="B1", check_in="a", check_out="b")


async def _via_a_read_tool_swallowing_the_error(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    await ctx.try_call("sneaky_read")  # its ToolError is ignored: the attempt is still caught


async def _caught_by_the_check(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    with contextlib.suppress(rk.WriteInCheck):
        await ctx.call("change_booking", booking_id="B1", check_in="a", check_out="b")


async def _via_call_tool(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    args = {"booking_id": "B1", "check_in": "a", "check_out": "b"}
    await agent.call_tool("change_booking", args, customer_id="c")


async def _via_invoke(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    args = {"booking_id": "B1", "check_in": "a", "check_out": "b"}
    await agent.tools["change_booking"].invoke(ctx, args, None)


async def _via_confirm(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    await ctx.confirm("Shall I?")


async def _via_approve(ctx: rk.Context[Any], agent: rk.Agent[Any]) -> None:
    await ctx.approve("a refund", amount=10)


@pytest.mark.parametrize(
    ("attempt", "action"),
    [
        (_via_ctx_call, "change_booking"),
        (_via_try_call, "change_booking"),
        (_via_a_read_tool_swallowing_the_error, "change_booking"),
        (_caught_by_the_check, "change_booking"),
        (_via_call_tool, "change_booking"),
        (_via_invoke, "change_booking"),
        (_via_confirm, "ctx.confirm"),
        (_via_approve, "ctx.approve"),
    ],
)
@pytest.mark.parametrize("raise_errors", [True, False])
async def test_a_write_reached_by_any_path_inside_a_check_is_a_typed_error(
    attempt: Any, action: str, raise_errors: bool
) -> None:
    agent, seen = build(raise_errors=raise_errors)

    @agent.tool(effect="read")
    async def sneaky_read(ctx: rk.Context[Any]) -> str:
        """A read that writes (a bug the check must not get away with)."""
        await ctx.call("change_booking", booking_id="B1", check_in="a", check_out="b")
        return "read"

    @agent.check(ChangeDates)
    async def writes(ctx: rk.Context[Any], intent: ChangeDates) -> None:
        await attempt(ctx, agent)

    with (
        agent.override(model=script(rk.StartIntent(intent="ChangeDates"))),
        pytest.raises(rk.WriteInCheck) as caught,
    ):
        await agent.handle("c", "change my booking")
    assert (caught.value.check, caught.value.action) == ("writes", action)
    assert isinstance(caught.value, rk.UserError)
    assert seen["writes"] == []


async def test_the_same_write_outside_a_check_runs() -> None:
    """The guard is the check's, not the tool's: after a check, the playbook writes."""
    agent, seen = build()
    args = {"booking_id": "B1", "check_in": "a", "check_out": "b"}
    assert await agent.call_tool("change_booking", args, customer_id="c") == "changed"
    assert seen["writes"] == [("B1", "a", "b")]


# -- registration ------------------------------------------------------------------------------


async def test_a_check_must_return_none_or_an_outcome() -> None:
    agent, _ = build()

    @agent.check(ChangeDates)
    async def sloppy(ctx: rk.Context[Any], intent: ChangeDates) -> Any:
        return True

    with (
        agent.override(model=script(rk.StartIntent(intent="ChangeDates"))),
        pytest.raises(rk.UserError, match="'sloppy' returned bool"),
    ):
        await agent.handle("c", "change my booking")


def test_bad_registrations_are_typed_errors() -> None:
    agent, _ = build()

    async def booking_open(ctx: rk.Context[Any], intent: Any) -> None:
        return None

    with pytest.raises(rk.UserError, match=r"\['room'\] are not slots"):
        agent.check(ChangeDates, needs=("room",))
    with pytest.raises(rk.UserError, match="Intent subclass"):
        agent.check(str, needs=())  # type: ignore[arg-type]
    with pytest.raises(rk.UserError, match="async function"):
        agent.check(ChangeDates)(lambda ctx, intent: None)
    with pytest.raises(rk.UserError, match="already has a check named 'booking_open'"):
        agent.check(ChangeDates)(booking_open)

    async def passed(ctx: rk.Context[Any], intent: Any) -> None:
        return None

    with pytest.raises(rk.UserError, match="cannot be named 'passed'"):
        agent.check(ChangeDates)(passed)


# -- several checks, optional slots ------------------------------------------------------------


class Rebook(rk.Intent):
    """Two checks on two slots, and an optional slot."""

    booking_id: str = rk.Slot(ask=ASK_BOOKING)
    check_in: str = rk.Slot(ask=ASK_IN)
    note: str | None = None


def two_checks() -> tuple[rk.Agent[Any], list[str]]:
    agent, _ = build()
    ran: list[str] = []

    @agent.tool(effect="read")
    def saw(what: str) -> str:
        """Records what a check saw (a journaled read: replays do not call it again)."""
        ran.append(what)
        return what

    @agent.check(Rebook, needs=("check_in",))
    async def date_free(ctx: rk.Context[Any], intent: Rebook) -> rk.PlaybookOutcome | None:
        await ctx.call(saw, what=f"date_free {intent.check_in}")
        ctx.say(f"{intent.check_in} is free.")
        return None

    @agent.check(Rebook, needs=("booking_id",))
    async def booking_known(ctx: rk.Context[Any], intent: Rebook) -> rk.PlaybookOutcome | None:
        await ctx.call(saw, what=f"booking_known {intent.booking_id}")
        return None

    @agent.check(Rebook, needs=("note",))
    async def note_polite(ctx: rk.Context[Any], intent: Rebook) -> rk.PlaybookOutcome | None:
        await ctx.call(saw, what=f"note_polite {intent.note}")
        return ctx.refuse("rude", reply="Let's keep it polite.") if intent.note == "rude" else None

    @agent.playbook(Rebook)
    async def rebook(ctx: rk.Context[Any], intent: Rebook) -> rk.PlaybookOutcome:
        return ctx.resolve(f"rebooked {intent.booking_id} from {intent.check_in}")

    return agent, ran


async def test_checks_run_in_the_order_their_slots_came_and_replay_in_that_order() -> None:
    agent, ran = two_checks()
    with agent.override(
        model=script(
            rk.StartIntent(intent="Rebook", slots={"booking_id": "B1"}),
            rk.FillSlots(slots={"check_in": "May 5"}),
        )
    ):
        assert (await agent.handle("c", "rebook B1")).reply == ASK_IN
        done = await agent.handle("c", "May 5")
    assert done.reply == "May 5 is free.\nrebooked B1 from May 5"
    # date_free is registered first but its slot came second; the optional note's check ran
    # just before the playbook, on None.
    assert ran == ["booking_known B1", "date_free May 5", "note_polite None"]
    steps = [s[:2] for s in journal(await agent.conversation("c"), "Rebook")]
    assert steps == [
        ("check", "booking_known"),
        ("call", "saw"),
        ("check", "passed"),
        ("check", "date_free"),
        ("call", "saw"),
        ("say", "May 5 is free."),
        ("check", "passed"),
        ("check", "note_polite"),
        ("call", "saw"),
        ("check", "passed"),
    ]


async def test_a_check_on_an_optional_slot_given_up_front_refuses_first() -> None:
    agent, ran = two_checks()
    with agent.override(model=script(rk.StartIntent(intent="Rebook", slots={"note": "rude"}))):
        refused = await agent.handle("c", "rebook, you idiots")
    assert (refused.reply, refused.outcome) == ("Let's keep it polite.", "refused")
    assert ran == ["note_polite rude"]


class Stay(rk.Intent):
    """A check on a slot that the intent's own validation may send back."""

    check_in: str = rk.Slot(ask=ASK_IN)
    check_out: str = rk.Slot(ask=ASK_OUT)

    @pydantic.field_validator("check_out")
    @classmethod
    def _after_check_in(cls, value: str, info: pydantic.ValidationInfo) -> str:
        if value == info.data.get("check_in"):
            raise ValueError("the check-out must differ from the check-in")
        return value


async def test_a_needed_slot_sent_back_by_validation_and_given_again_runs_the_check_again() -> None:
    agent, _ = build()
    seen: list[str] = []

    @agent.tool(effect="read")
    def night_free(day: str) -> bool:
        """Whether the night before ``day`` is free."""
        seen.append(day)
        return True

    @agent.check(Stay, needs=("check_out",))
    async def departure_free(ctx: rk.Context[Any], intent: Stay) -> None:
        await ctx.call(night_free, day=intent.check_out)

    @agent.playbook(Stay)
    async def stay(ctx: rk.Context[Any], intent: Stay) -> rk.PlaybookOutcome:
        return ctx.resolve(f"{intent.check_in} to {intent.check_out}")

    with agent.override(
        model=script(
            rk.StartIntent(intent="Stay", slots={"check_in": "May 5", "check_out": "May 5"}),
            rk.FillSlots(slots={"check_out": "May 7"}),
        )
    ):
        again = await agent.handle("c", "May 5 to May 5")
        assert again.reply.endswith(ASK_OUT)  # the value was checked, then sent back
        done = await agent.handle("c", "May 7")
    assert (done.reply, seen) == ("May 5 to May 7", ["May 5", "May 7"])
    conversation = await agent.conversation("c")
    assert conversation is not None
    run = conversation.runs[0]
    assert [s.index for s in run.journal] == list(range(len(run.journal)))
    assert [(s.kind, s.args) for s in run.superseded][:1] == [("check", {"check_out": "May 5"})]


def test_the_programs_are_built_once_per_agent() -> None:
    """A parked program is resumed only by the very function it runs."""
    from resolvekit.engine.checks import early_program, program

    agent, _ = build()
    assert early_program(agent, "ChangeDates") is early_program(agent, "ChangeDates")
    assert program(agent, "ChangeDates") is program(agent, "ChangeDates")
    assert program(agent, "ChangeDates") is not early_program(agent, "ChangeDates")
