"""The hotel example (issue 15's blind first run): whole conversations on ``model="test"``
checked on the hotel's end state, the backend's policies, and a few eval scenarios played by the
suite's own runner on the suite's default model."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from evals.splits import in_split
from examples.hotel import build_agent, demo_state

_ids = itertools.count()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[dict[str, Any]]:
    return build_agent(model="test", raise_errors=True)


async def talk(
    agent: rk.Agent[dict[str, Any]], hotel: dict[str, Any], lines: list[str], who: str = "g-ana"
) -> list[rk.TurnResult]:
    # One store for the module's agent: a fresh conversation per test needs a fresh guest, and
    # the tools check ownership by customer id, so the hotel gets a copy of the guest.
    guest = f"{who}-{next(_ids)}"
    hotel["guests"][guest] = hotel["guests"][who]
    for record in hotel["bookings"].values():
        if record["owner"] == who:
            record["owner"] = guest
    return [await agent.handle(guest, line, deps=hotel) for line in lines]


async def test_a_date_change_is_quoted_then_made_after_a_yes(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    hotel = demo_state()
    turns = await talk(
        agent, hotel, ["change my booking HB1001: arrive December 21, leave December 25", "yes"]
    )
    assert "$120.00" in turns[0].reply and turns[0].reply.endswith("?")
    assert turns[1].outcome == "resolved"
    booking = hotel["bookings"]["HB1001"]
    assert (booking["check_in"], booking["check_out"], booking["total"]) == (
        "2026-12-21",
        "2026-12-25",
        480.0,
    )
    assert hotel["payments"] == [{"booking": "HB1001", "amount": 120.0, "for": "date change"}]


async def test_a_late_cancellation_refunds_half(agent: rk.Agent[dict[str, Any]]) -> None:
    hotel = demo_state()
    turns = await talk(agent, hotel, ["please cancel my booking HB1002", "yes"])
    assert "$200.00" in turns[0].reply
    assert hotel["bookings"]["HB1002"]["status"] == "cancelled"
    assert hotel["payments"] == [{"booking": "HB1002", "amount": -200.0, "for": "cancellation"}]
    assert turns[1].outcome == "resolved"


async def test_someone_elses_booking_is_refused(agent: rk.Agent[dict[str, Any]]) -> None:
    hotel = demo_state()
    turns = await talk(agent, hotel, ["please cancel booking HB2001"])
    assert turns[0].outcome == "refused"
    assert hotel["bookings"]["HB2001"]["status"] == "confirmed"


async def test_a_complaint_above_the_credit_limit_goes_to_a_person(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    hotel = demo_state()
    turns = await talk(agent, hotel, ["the room was dirty, I want $200 compensation"])
    assert turns[-1].outcome == "escalated"
    assert hotel["credits"] == []


async def test_the_tools_enforce_the_policies() -> None:
    agent = build_agent(model="test")
    hotel = demo_state()

    async def call(tool: str, who: str = "g-ana", **args: Any) -> Any:
        return await agent.call_tool(tool, args, customer_id=who, deps=hotel)

    dates = {"check_in": "2026-12-11", "check_out": "2026-12-13"}
    quote = await call("quote_date_change", booking_ref="HB1002", **dates)
    assert (quote["change_fee"], quote["amount_due"]) == (30.0, 30.0)  # arrival < 7 days away
    assert (await call("quote_cancellation", booking_ref="hb1001"))[
        "refund"
    ] == 360.0  # 13 days: all
    with pytest.raises(rk.ToolError, match="no booking HB2001"):
        await call("get_booking", booking_ref="HB2001")
    with pytest.raises(rk.ToolError, match="single room"):
        await call("add_extra", who="g-cara", booking_ref="HB3001", extra="extra bed")
    with pytest.raises(rk.ToolError, match="10,000 points"):
        await call("redeem_points", who="g-cara", booking_ref="HB3001")
    with pytest.raises(rk.ToolError, match="completed"):
        await call("quote_cancellation", booking_ref="HB1003")
    with pytest.raises(rk.ToolError, match="need a manager"):
        await call("issue_credit", amount=80.0, reason="noise")
    assert hotel == demo_state()  # refused calls changed nothing


def test_the_split_rule_is_fixed() -> None:
    # The holdout split is sha256(id) % 3 == 0; changing it would move scenarios across.
    assert in_split("change-correction", "dev")
    assert in_split("complaint-over-limit", "holdout")
    assert not in_split("complaint-over-limit", "dev")


async def test_suite_scenarios_reach_their_goal_on_the_default_model() -> None:
    from evals.hotel.suite import suite
    from resolvekit.evals import RunOptions, run_suite

    ids = "change-extend,change-correction,change-all-in-one,cancel-by-dates,extra-bed-single-room"
    run = await run_suite(suite(ids=ids), RunOptions(trials=1, baselines=True, progress=False))
    verdicts = {r.scenario: r.verdict for r in run.records["agent"]}
    assert verdicts == {
        "change-extend": "resolved",
        "change-correction": "resolved",
        "change-all-in-one": "resolved",
        "cancel-by-dates": "resolved",
        "extra-bed-single-room": "refused_correctly",
    }
    assert all(r.verdict != "failed" for r in run.records["gold"])


async def test_a_booking_that_is_over_is_refused_before_the_new_dates_are_asked(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    hotel = demo_state()
    (turn,) = await talk(agent, hotel, ["can I change booking HB1003?"])
    assert (turn.outcome, turn.pending) == ("refused", None)
    assert turn.reply == "Booking HB1003 is completed, so I can't change its dates."
    checks = [e.data["event"] for e in turn.trace if e.kind == "check"]
    assert checks == ["started", "refused"]
    assert hotel["payments"] == []


async def test_several_facts_up_front_are_checked_then_quoted_with_no_question(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    hotel = demo_state()
    (turn,) = await talk(agent, hotel, ["change HB1001 to arrive December 21, leave December 24"])
    assert "Moving HB1001 to December 21, 2026 - December 24, 2026" in turn.reply
    assert turn.pending == "confirm"
    events = [(e.kind, e.data.get("event")) for e in turn.trace if e.kind == "check"]
    assert events == [("check", "started"), ("check", "passed")]


async def test_a_guest_with_several_bookings_is_asked_which_before_the_dates(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    hotel = demo_state()
    turns = await talk(agent, hotel, ["I need to change the dates of my booking", "HB1001"])
    assert turns[0].reply.startswith("Which booking would you like to change?")
    assert turns[1].reply == "What's your new check-in date?"
