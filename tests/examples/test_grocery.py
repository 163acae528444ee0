"""The grocery example (issue 15's second blind first run): whole conversations on
``model="test"`` checked on the shop's end state, the backend's policies, and a few eval
scenarios played by the suite's own runner on the suite's default model."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from evals.splits import in_split
from examples.grocery import build_agent, demo_state

_ids = itertools.count()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[dict[str, Any]]:
    return build_agent(model="test", raise_errors=True)


async def talk(
    agent: rk.Agent[dict[str, Any]], shop: dict[str, Any], lines: list[str], who: str = "c-mia"
) -> list[rk.TurnResult]:
    # One store for the module's agent: a fresh conversation per test needs a fresh customer,
    # and the tools check ownership by customer id, so the shop gets a copy of the customer.
    customer = f"{who}-{next(_ids)}"
    shop["customers"][customer] = shop["customers"][who]
    for record in shop["orders"].values():
        if record["owner"] == who:
            record["owner"] = customer
    return [await agent.handle(customer, line, deps=shop) for line in lines]


async def test_a_slot_change_is_asked_then_made_after_a_yes(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    shop = demo_state()
    turns = await talk(agent, shop, ["move my delivery G1001 to December 12 in the morning", "yes"])
    assert "Saturday, December 12" in turns[0].reply and turns[0].reply.endswith("?")
    assert turns[1].outcome == "resolved"
    order = shop["orders"]["G1001"]
    assert (order["delivery_date"], order["window"]) == ("2026-12-12", "morning")


async def test_a_cancel_refused_at_the_confirmation_changes_nothing(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    shop = demo_state()
    turns = await talk(agent, shop, ["please cancel my order G1001", "no, I never said yes"])
    assert "$79.60" in turns[0].reply
    assert shop["orders"]["G1001"]["status"] == "scheduled"
    assert shop["refunds"] == []


async def test_someone_elses_order_is_refused(agent: rk.Agent[dict[str, Any]]) -> None:
    shop = demo_state()
    turns = await talk(agent, shop, ["please cancel order G2001"])
    assert turns[0].outcome == "refused"
    assert shop["orders"]["G2001"]["status"] == "scheduled"
    assert shop["refunds"] == []


async def test_a_claim_above_the_no_photo_limit_goes_to_a_person(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    shop = demo_state()
    turns = await talk(agent, shop, ["the salmon in order G1002 was damaged", "to my card"])
    assert turns[-1].outcome == "escalated"
    assert shop["refunds"] == []


async def test_the_tools_enforce_the_policies() -> None:
    agent = build_agent(model="test")
    shop = demo_state()

    async def call(tool: str, who: str = "c-mia", **args: Any) -> Any:
        return await agent.call_tool(tool, args, customer_id=who, deps=shop)

    with pytest.raises(rk.ToolError, match="no order G2001"):
        await call("get_order", order_id="G2001")
    with pytest.raises(rk.ToolError, match="picking"):  # being picked: the slot is fixed
        await call("change_slot", order_id="G1003", date="2026-12-08", window="morning")
    with pytest.raises(rk.ToolError, match="is full"):
        await call("change_slot", order_id="G1001", date="2026-12-12", window="evening")
    with pytest.raises(rk.ToolError, match="too late to cancel"):
        await call("cancel_order", order_id="G1003")
    with pytest.raises(rk.ToolError, match="need a photo"):
        await call("refund_item", order_id="G1002", item="salmon", problem="damaged",
                   refund_to="card")  # fmt: skip
    with pytest.raises(rk.ToolError, match="within 7 days"):
        await call("refund_item", order_id="G1004", item="bread", problem="missing",
                   refund_to="card")  # fmt: skip
    with pytest.raises(rk.ToolError, match="expired"):
        await call("apply_promo", order_id="G1001", code="WINTER5")
    with pytest.raises(rk.ToolError, match=r"at least \$50"):
        await call("apply_promo", who="c-lee", order_id="G3001", code="FRESH10")
    with pytest.raises(rk.ToolError, match="no delivery pass"):
        await call("pause_pass", who="c-tom")
    assert shop == demo_state()  # refused calls changed nothing
    # A slot change is allowed until 8 pm the evening before the delivery day.
    shop["now"] = "2026-12-08T20:00:00"
    with pytest.raises(rk.ToolError, match="cutoff"):
        await call("change_slot", order_id="G1001", date="2026-12-11", window="morning")
    shop["now"] = "2026-12-08T19:59:00"
    await call("change_slot", order_id="G1001", date="2026-12-11", window="morning")


def test_the_split_rule_is_fixed() -> None:
    # The holdout split is sha256(id) % 3 == 0; changing it would move scenarios across.
    assert in_split("kb-alcohol", "dev")
    assert in_split("slot-cutoff", "holdout")
    assert not in_split("slot-cutoff", "dev")


async def test_suite_scenarios_reach_their_goal_on_the_default_model() -> None:
    from evals.grocery.suite import suite
    from resolvekit.evals import RunOptions, run_suite

    ids = "kb-alcohol,kb-slot-cutoff,slot-correction,missing-asks-order,damaged-over-limit"
    run = await run_suite(suite(ids=ids), RunOptions(trials=1, baselines=True, progress=False))
    verdicts = {r.scenario: r.verdict for r in run.records["agent"]}
    assert verdicts == {
        "kb-alcohol": "resolved",
        "kb-slot-cutoff": "resolved",
        "slot-correction": "resolved",
        "missing-asks-order": "resolved",
        "damaged-over-limit": "escalated_correctly",
    }
    assert all(r.verdict != "failed" for r in run.records["gold"])
