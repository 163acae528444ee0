"""The bank example (issue 15's second domain): whole conversations on ``model="test"`` checked
on the bank's end state, and a few eval scenarios played by the suite's own runner."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from evals.splits import in_split
from examples.bank import BankDataMissing, banking77_dir, build_agent, demo_state

try:
    banking77_dir()
except BankDataMissing as exc:
    pytest.skip(f"BANKING77 data missing: {exc}", allow_module_level=True)

_ids = itertools.count()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[dict[str, Any]]:
    return build_agent(model="test", raise_errors=True)


async def talk(
    agent: rk.Agent[dict[str, Any]], bank: dict[str, Any], lines: list[str], who: str = "cust-ana"
) -> list[rk.TurnResult]:
    # One store for the module's agent: a fresh conversation per test needs a fresh customer,
    # but the tools check ownership by customer id, so the bank gets a copy of the customer.
    customer = f"{who}-{next(_ids)}"
    bank["customers"][customer] = bank["customers"][who]
    for table in ("cards", "transactions", "transfers"):
        for record in bank[table].values():
            if record["owner"] == who:
                record["owner"] = customer
    bank["payees"][customer] = bank["payees"][who]
    return [await agent.handle(customer, line, deps=bank) for line in lines]


async def test_freezing_a_card_after_a_yes(agent: rk.Agent[dict[str, Any]]) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I lost my card, it ends in 4821", "yes"])
    assert "4821" in turns[0].reply and turns[0].reply.endswith("?")
    assert turns[1].outcome == "resolved"
    assert bank["cards"]["4821"]["status"] == "frozen"
    assert bank["cards"]["7730"]["status"] == "inactive"


async def test_someone_elses_card_is_refused(agent: rk.Agent[dict[str, Any]]) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I lost my card, it ends in 5512"])
    assert turns[0].outcome == "refused"
    assert bank["cards"]["5512"]["status"] == "active"


async def test_a_dispute_above_the_limit_goes_to_a_person(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I want to dispute a charge from SkyJet Airlines"])
    assert turns[-1].outcome == "escalated"
    assert turns[-1].handoff is not None and "approval" in turns[-1].handoff.reason
    assert bank["disputes"] == demo_state()["disputes"]


async def test_a_small_dispute_is_filed(agent: rk.Agent[dict[str, Any]]) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I want to dispute a charge from Bluebird Cafe", "yes"])
    assert turns[-1].outcome == "resolved"
    assert bank["disputes"]["T1001"] == {"amount": 18.5, "reason": "not recognised"}


def test_the_split_rule_is_fixed() -> None:
    # The holdout split is sha256(id) % 3 == 0; changing it would move scenarios across.
    assert in_split("dispute-over-limit-story", "dev")
    assert in_split("freeze-correction", "holdout")
    assert not in_split("freeze-correction", "dev")
    assert in_split("freeze-correction", "all")
    with pytest.raises(rk.UserError):
        in_split("freeze-correction", "train")


async def test_suite_scenarios_reach_their_goal_on_the_test_model() -> None:
    from evals.bank.suite import suite
    from resolvekit.evals import RunOptions, run_suite

    ids = "freeze-all-in-one,dispute-over-limit,send-all-in-one,cancel-transfer-completed"
    run = await run_suite(
        suite(ids=ids), RunOptions(trials=1, model="test", baselines=True, progress=False)
    )
    verdicts = {r.scenario: r.verdict for r in run.records["agent"]}
    assert verdicts == {
        "freeze-all-in-one": "resolved",
        "dispute-over-limit": "escalated_correctly",
        "send-all-in-one": "resolved",
        "cancel-transfer-completed": "refused_correctly",
    }
    assert all(r.verdict != "failed" for r in run.records["gold"])


async def test_the_demo_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    from examples.bank.__main__ import demo

    outcomes = [r.outcome for r in await demo("test")]
    assert outcomes.count("resolved") == 3 and outcomes[-1] == "escalated"
    assert "TR503" in capsys.readouterr().out


async def test_a_payee_not_saved_is_refused_before_the_amount_is_asked(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I want to send money", "Tom Baker"])
    assert turns[0].reply.startswith("Who should I send it to?")  # not "How much?" first
    assert (turns[1].outcome, turns[1].pending) == ("refused", None)
    assert "saved payees" in turns[1].reply
    assert len(bank["transfers"]) == len(demo_state()["transfers"])  # nothing sent


async def test_a_saved_payee_is_checked_then_the_amount_asked(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    bank = demo_state()
    turns = await talk(agent, bank, ["I want to send money to Maria Silva", "$40"])
    assert turns[0].reply == "How much should I send?"
    assert turns[1].reply == "Shall I send $40.00 to Maria Silva?"
