"""The SaaS helpdesk example (issue 15's third domain): conversations on ``model="test"``
checked on the end state, and a few eval scenarios played by the suite's own runner."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import resolvekit as rk
from examples.helpdesk import build_agent, demo_state, proration

_ids = itertools.count()


@pytest.fixture(scope="module")
def agent() -> rk.Agent[dict[str, Any]]:
    return build_agent(model="test", raise_errors=True)


async def talk(
    agent: rk.Agent[dict[str, Any]], desk: dict[str, Any], lines: list[str], who: str = "acc-lena"
) -> list[rk.TurnResult]:
    # A fresh customer id per test (the module's agent keeps one store); the account moves along.
    customer = f"{who}-{next(_ids)}"
    desk["accounts"][customer] = desk["accounts"].pop(who)
    return [await agent.handle(customer, line, deps=desk) for line in lines]


def test_proration_is_the_price_difference_over_the_days_left() -> None:
    lena = demo_state()["accounts"]["acc-lena"]  # Pro, 2026-12-01 to 2027-01-01 (31 days)
    assert proration(lena, "business", "2026-12-07").amount == 40.32  # 50 * 25 / 31
    assert proration(lena, "starter", "2026-12-07").amount == -13.71  # -17 * 25 / 31
    assert proration(lena, "pro", "2026-12-07").amount == 0.0


async def test_reset_needs_the_cards_digits(agent: rk.Agent[dict[str, Any]]) -> None:
    desk = demo_state()
    turns = await talk(agent, desk, ["I forgot my password", "lena@brightlabs.io", "1234", "5678"])
    assert "last 4 digits" in turns[1].reply
    assert "don't match" in turns[2].reply
    assert turns[3].outcome == "refused"
    assert desk["resets"] == {}
    desk = demo_state()
    turns = await talk(agent, desk, ["I forgot my password", "lena@brightlabs.io", "4417"])
    assert turns[-1].outcome == "resolved"
    assert [r["email"] for r in desk["resets"].values()] == ["lena@brightlabs.io"]


async def test_a_question_for_the_digits_is_no_refusal(agent: rk.Agent[dict[str, Any]]) -> None:
    desk = demo_state()
    lines = ["I forgot my password", "lena@brightlabs.io", "is that the card I pay with?", "4417"]
    turns = await talk(agent, desk, lines)
    assert "last 4 digits" in turns[2].reply and turns[2].outcome == "awaiting_customer"
    assert turns[3].outcome == "resolved"
    desk = demo_state()
    turns = await talk(agent, desk, ["I forgot my password", "lena@brightlabs.io", "no idea"])
    assert turns[-1].outcome == "refused" and desk["resets"] == {}


async def test_the_cancel_confirmation_names_the_workspace(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    desk = demo_state()
    turns = await talk(agent, desk, ["cancel omar's workspace quillpress", "no", "no"])
    assert "brightlabs" in turns[1].reply
    assert all(a["status"] == "active" for a in desk["accounts"].values())


async def test_plan_change_states_the_proration_before_the_yes(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    desk = demo_state()
    turns = await talk(agent, desk, ["switch me to the business plan", "yes"])
    assert "$40.32" in turns[0].reply and turns[0].reply.endswith("?")
    assert turns[1].outcome == "resolved"
    (account,) = [a for a in desk["accounts"].values() if a["name"] == "Lena Park"]
    assert account["plan"] == "business"
    assert account["charges"] == [{"kind": "proration", "amount": 40.32}]


async def test_cancellation_offers_the_discount_first(agent: rk.Agent[dict[str, Any]]) -> None:
    desk = demo_state()
    turns = await talk(agent, desk, ["cancel my subscription", "no thanks", "yes"])
    assert "50% off" in turns[0].reply
    assert turns[-1].outcome == "resolved"
    (account,) = [a for a in desk["accounts"].values() if a["name"] == "Lena Park"]
    assert account["status"] == "cancels at period end" and account["discount"] is None


async def test_suite_scenarios_reach_their_goal_on_the_test_model() -> None:
    from evals.helpdesk.suite import suite
    from resolvekit.evals import RunOptions, run_suite

    ids = "reset-all-in-one,reset-someone-else,plan-downgrade,cancel-takes-offer"
    run = await run_suite(
        suite(ids=ids), RunOptions(trials=1, model="test", baselines=True, progress=False)
    )
    verdicts = {r.scenario: r.verdict for r in run.records["agent"]}
    assert verdicts == {
        "reset-all-in-one": "resolved",
        "reset-someone-else": "refused_correctly",
        "plan-downgrade": "resolved",
        "cancel-takes-offer": "resolved",
    }
    assert all(r.verdict != "failed" for r in run.records["gold"])


async def test_the_demo_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    from examples.helpdesk.__main__ import demo

    results = await demo("test")
    assert "reset link" in results[2].reply and results[2].outcome == "resolved"
    # (The hashing embedder of "test" is too weak to route the invoice question; "local" does.)
    assert results[-1].outcome == "resolved" and "cancelled" in results[-1].reply
    assert "$40.32 is charged now" in capsys.readouterr().out


async def test_plan_changes_need_a_signed_in_account_before_anything_is_asked(
    agent: rk.Agent[dict[str, Any]],
) -> None:
    desk = demo_state()
    result = await agent.handle(f"guest-{next(_ids)}", "I want to change my plan", deps=desk)
    assert result.outcome == "refused" and "sign in" in result.reply
    assert "Which plan" not in result.reply  # the verify step ran before the plan slot
    assert all(a["charges"] == [] for a in desk["accounts"].values())
