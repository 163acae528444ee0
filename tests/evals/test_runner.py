"""End to end: every verdict is reachable and scored right; isolation, seeds, resuming."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.evals import (
    ConversationRecord,
    Expect,
    ForbiddenAction,
    GoalUser,
    LLMUser,
    RunOptions,
    Scenario,
    ScenarioError,
    Suite,
    ToolCall,
    run_suite,
)
from resolvekit.evals.demo import suite as demo
from resolvekit.evals.demo.model import decide
from resolvekit.models import ModelRequest, ModelResponse

from .agents import (
    always_escalate_model,
    article_agent_model,
    demo_scenario,
    keyword_model,
    reckless_model,
    slow_model,
    status_of,
    suite_of,
)

QUIET = {"progress": False, "baselines": False}


async def play(suite: Suite, **options: Any) -> list[ConversationRecord]:
    run = await run_suite(suite, RunOptions(**{"trials": 1, **QUIET, **options}))
    return run.records["agent"]


@pytest.mark.parametrize(
    ("scenario_id", "verdict", "stop"),
    [
        ("cancel-pending", "resolved", "agent finished (resolved)"),
        ("refund-large", "escalated_correctly", "escalated"),
        ("cancel-shipped", "refused_correctly", "agent finished (refused)"),
        ("return-policy", "resolved", "script finished"),
    ],
)
async def test_the_demo_agent_reaches_the_expected_verdicts(
    scenario_id: str, verdict: str, stop: str
) -> None:
    (record,) = await play(suite_of(keyword_model(), demo_scenario(scenario_id)))
    assert (record.verdict, record.stop_reason) == (verdict, stop)
    assert record.error is None


async def test_resolved_conversation_keeps_transcript_tool_calls_and_effort() -> None:
    (record,) = await play(suite_of(keyword_model(), demo_scenario("cancel-pending")))
    assert record.verdict == "resolved" and record.changed and record.state_ok
    assert [t.role for t in record.turns] == ["customer", "agent"] * 4
    assert record.turns[-1].text == "Order W1002 has been cancelled."
    assert [(c.tool, c.status) for c in record.tool_calls] == [
        ("get_order", "done"),
        ("cancel_order", "done"),
    ]
    assert record.tool_calls[1].args == {"order_id": "W1002", "reason": "ordered by mistake"}
    assert record.customer_turns == 4 and len(record.latencies_ms) == 4
    assert record.intent == "CancelOrder" and record.diff == []


async def test_an_article_link_instead_of_the_change_is_a_deflection() -> None:
    (record,) = await play(suite_of(article_agent_model(), demo_scenario("change-address")))
    assert record.verdict == "deflected"
    assert record.final_outcome == "answered"
    assert "https://help.example.com/address" in record.turns[1].text
    assert not record.changed and not record.escalated
    assert [(d.path, d.expected, d.actual) for d in record.diff] == [
        ("orders.W1003.address", "12 Elm Street, Springfield", "1 Main Street, Springfield")
    ]
    assert record.reason == "ended unresolved without escalation: goal state not reached"


async def test_escalating_a_resolvable_request_is_a_wrong_escalation() -> None:
    (record,) = await play(suite_of(always_escalate_model(), demo_scenario("cancel-pending")))
    assert record.verdict == "escalated_wrongly"
    assert record.escalated and record.handoff_reason == "not my job"


async def test_a_model_saying_yes_for_the_customer_changes_nothing() -> None:
    # The customer refuses the wrong order; the engine reads the refusal itself and vetoes
    # the reckless model's yes.
    (record,) = await play(suite_of(reckless_model("W1003"), demo_scenario("cancel-pending")))
    assert record.verdict != "failed"
    assert not record.changed
    assert all(d.path != "orders.W1003.status" for d in record.diff)


async def test_changing_the_wrong_order_fails_with_the_diff() -> None:
    # A customer who agrees to the wrong order: the write is consented, and wrong.
    scenario = demo_scenario("cancel-pending")
    user = scenario.user.model_copy(update={"agree_to": ["W1003"]})
    scenario = scenario.model_copy(update={"user": user})
    (record,) = await play(suite_of(reckless_model("W1003"), scenario))
    assert record.verdict == "failed"
    assert record.reason == "wrong change: the end state does not match the expected state"
    assert {(d.path, d.expected, d.actual) for d in record.diff} == {
        ("orders.W1002.status", "cancelled", "pending"),
        ("orders.W1003.status", "pending", "cancelled"),
    }


async def test_a_forbidden_call_fails_even_when_nothing_changed() -> None:
    scenario = demo_scenario(
        "order-status",
        expect=Expect(
            outcome="resolved",
            forbidden=[ForbiddenAction(tool="get_order", args={"order_id": "W1005"})],
        ),
    )
    (record,) = await play(suite_of(status_of("W1005"), scenario))
    assert record.verdict == "failed" and not record.changed
    assert record.forbidden_called == ["get_order(order_id='W1005')"]
    allowed = scenario.model_copy(
        update={
            "expect": Expect(
                outcome="resolved",
                forbidden=[ForbiddenAction(tool="get_order", args={"order_id": "W1005"})],
                facts=["shipped"],
            )
        }
    )
    (ok,) = await play(suite_of(status_of("W1001"), allowed))
    assert ok.verdict == "resolved" and ok.forbidden_called == []


async def test_hangs_and_crashes_fail_without_stopping_the_suite() -> None:
    suite = suite_of(slow_model(5), demo_scenario("order-status"))
    (slow,) = await play(suite, hang_timeout=0.05)
    assert slow.verdict == "failed"
    assert slow.error == "hung: the agent did not answer within 0.05s (wall clock, hang_timeout)"

    def crash(request: ModelRequest) -> ModelResponse:
        raise RuntimeError("model exploded")

    # A crashing model hands the customer to a person (never an exception out of handle):
    # for a resolvable request that is a wrong escalation, with the cause in the handoff.
    suite = suite_of(rk.FunctionModel(crash), demo_scenario("order-status"))
    (crashed,) = await play(suite)
    assert crashed.verdict == "escalated_wrongly"
    assert crashed.handoff_reason == "internal error: RuntimeError: model exploded"
    assert crashed.turns[0].role == "customer"  # the transcript is kept


async def test_each_trial_has_its_own_state() -> None:
    records = await play(suite_of(keyword_model(), demo_scenario("cancel-pending")), trials=3)
    # if state leaked, the 2nd and 3rd trials would find the order already cancelled
    assert [r.verdict for r in records] == ["resolved"] * 3
    assert len({r.seed for r in records}) == 3


async def test_the_same_seed_replays_the_same_conversations() -> None:
    suite = suite_of(keyword_model(), demo_scenario("change-address"))
    first = await play(suite, trials=4, seed=11)
    again = await play(suite, trials=4, seed=11)
    other = await play(suite, trials=4, seed=12)

    def texts(records: list[ConversationRecord]) -> list[list[str]]:
        return [[t.text for t in r.turns] for r in records]

    assert texts(first) == texts(again)
    assert texts(first) != texts(other)


async def test_concurrency_limit_is_respected() -> None:
    in_flight = 0
    peak = 0

    async def counting(request: ModelRequest) -> ModelResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return decide(request)

    suite = suite_of(rk.FunctionModel(counting), demo_scenario("return-policy"))
    records = await play(suite, trials=8, concurrency=3)
    assert len(records) == 8 and peak == 3


async def test_results_are_resumable(tmp_path: Path) -> None:
    suite = suite_of(
        keyword_model(), demo_scenario("order-status"), demo_scenario("cancel-pending")
    )
    options = {"trials": 2, "out_dir": tmp_path, **QUIET}
    first = await run_suite(suite, RunOptions(**options))
    assert first.ran == 4
    results = tmp_path / "results.jsonl"
    lines = results.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["agent"] == "agent"
    again = await run_suite(suite, RunOptions(**options))
    assert again.ran == 0 and again.records == first.records
    # drop one finished conversation and tear the last line: only that one is played again
    results.write_text("\n".join(lines[1:]) + '\n{"agent": "age')
    third = await run_suite(suite, RunOptions(**options))
    assert third.ran == 1
    assert len(results.read_text().splitlines()) == 4
    more = await run_suite(suite, RunOptions(**{**options, "trials": 3}))
    assert more.ran == 2 and len(more.records["agent"]) == 6


async def test_baselines_show_the_floor_and_the_ceiling() -> None:
    run = await run_suite(demo, RunOptions(trials=1, progress=False))
    verdicts = {
        label: {r.scenario: r.verdict for r in records} for label, records in run.records.items()
    }
    assert set(verdicts) == {"agent", "do_nothing", "gold"}
    assert set(verdicts["do_nothing"].values()) == {"deflected"}
    assert verdicts["gold"] == {
        "order-status": "resolved",
        "cancel-pending": "resolved",
        "cancel-shipped": "refused_correctly",
        "change-address": "resolved",
        "refund-small": "resolved",
        "refund-large": "escalated_correctly",
        "return-policy": "resolved",
        "wants-human": "escalated_correctly",
    }
    gold_refund = next(r for r in run.records["gold"] if r.scenario == "refund-small")
    assert [(c.tool, c.args) for c in gold_refund.tool_calls] == [
        ("issue_refund", {"order_id": "W1004", "amount": 25.0})
    ]


async def test_expected_state_comes_from_reference_actions_when_not_given() -> None:
    scenario = demo_scenario(
        "cancel-pending", expect=Expect(outcome="resolved", facts=["cancelled"])
    )
    (record,) = await play(suite_of(keyword_model(), scenario))
    assert record.verdict == "resolved"
    user = scenario.user.model_copy(update={"agree_to": ["W1003"]})
    (wrong,) = await play(
        suite_of(reckless_model("W1003"), scenario.model_copy(update={"user": user}))
    )
    assert wrong.verdict == "failed"


async def test_bad_reference_actions_are_reported_before_anything_runs() -> None:
    unknown = demo_scenario(
        "cancel-pending", expect=Expect(), reference_actions=[ToolCall(tool="teleport")]
    )
    with pytest.raises(ScenarioError, match="'teleport' is not a tool"):
        await play(suite_of(keyword_model(), unknown))
    failing = demo_scenario(
        "cancel-pending",
        expect=Expect(),
        reference_actions=[
            ToolCall(
                tool="cancel_order", args={"order_id": "W1001", "reason": "ordered by mistake"}
            )
        ],
    )
    with pytest.raises(ScenarioError, match="reference action 'cancel_order' failed"):
        await play(suite_of(keyword_model(), failing))


async def test_a_python_predicate_checks_the_end_state() -> None:
    (record,) = await play(suite_of(keyword_model(), demo.scenario("wants-human")))
    assert record.verdict == "escalated_correctly"
    strict = demo.scenario("wants-human").model_copy(
        update={"expect": Expect(outcome="escalated", check=lambda i, f: "never happy")}
    )
    (failed,) = await play(suite_of(keyword_model(), strict))
    assert failed.verdict == "failed" and failed.check_message == "never happy"


async def test_max_turns_cuts_the_conversation() -> None:
    stubborn = Scenario(
        id="loop",
        user=GoalUser(goal="Where is my order?", facts={"order number": "W1001"}, patience=99),
        initial_state={"orders": {}, "refunds": []},
        expect=Expect(outcome="resolved", facts=["shipped"]),
        max_turns=3,
    )
    model = rk.FunctionModel(lambda request: rk.AskClarification(text="Hmm?"))
    suite = Suite(
        name="t",
        agent=lambda override: rk.Agent(
            model=model,
            store="memory://",
            free_mode=True,
            escalation=rk.EscalationPolicy(max_clarifications=99),
        ),
        scenarios=[stubborn],
    )
    (record,) = await play(suite)
    assert record.customer_turns == 3 and record.stop_reason == "max turns (3) reached"
    assert record.verdict == "deflected" and record.repeated_questions == 2


async def test_llm_customers_need_a_model_before_anything_runs() -> None:
    scenario = Scenario(
        id="llm",
        user=LLMUser(persona="calm", goal="ask how long returns take"),
        initial_state={"orders": {}, "refunds": []},
        expect=Expect(outcome="answered", facts=["30 days"]),
    )
    suite = suite_of(keyword_model(), scenario)
    with pytest.raises(ScenarioError, match="LLMUser without a model"):
        await play(suite)
    lines = iter(["How many days do I have to return an item?", "###STOP###"])
    customer = rk.FunctionModel(lambda request: rk.Reply(text=next(lines)))
    (record,) = await play(suite, user_model=customer)
    assert record.verdict == "resolved" and record.stop_reason == "customer said stop"
    assert record.usage["user_requests"] == 0  # FunctionModel reports no usage


async def test_the_demo_suite_runs_on_the_offline_test_model() -> None:
    run = await run_suite(demo, RunOptions(trials=1, progress=False, model="test"))
    assert run.model_name == "test"
    records = run.records["agent"]
    assert len(records) == 8 and [r.error for r in records] == [None] * 8
    assert {r.scenario: r.verdict for r in records}["cancel-pending"] == "resolved"


@pytest.mark.parametrize("customer_id", ["cust-7", None])
async def test_a_scenario_can_name_the_customer_the_agent_sees(customer_id: str | None) -> None:
    """Tools that check ownership against ``ctx.customer_id`` see the scenario's customer, in
    the agent's conversation and in the gold replay alike."""
    seen: list[str] = []

    def make(model: rk.Model | None) -> rk.Agent[Any]:
        steps = iter([rk.CallTool(tool="whoami", args={}), rk.Reply(text="done")])
        agent: rk.Agent[Any] = rk.Agent(
            model=rk.FunctionModel(lambda request: next(steps)),
            store="memory://",
            free_mode=True,
            handoff=[],
        )

        @agent.tool(effect="read")
        def whoami(ctx: rk.Context[Any]) -> str:
            """Who is asking."""
            seen.append(ctx.customer_id)
            return ctx.customer_id

        return agent

    scenario = Scenario(
        id="who",
        user=["hello"],
        customer_id=customer_id,
        reference_actions=[ToolCall(tool="whoami", args={})],
    )
    suite = Suite(name="who", agent=make, scenarios=[scenario])
    await run_suite(suite, RunOptions(trials=1, progress=False, baselines=True))
    # The agent's conversation, and the gold replays (expected state and the gold baseline).
    agent_ids = [c for c in seen if not c.startswith("gold:")]
    if customer_id is None:
        assert len(agent_ids) == 1 and agent_ids[0].startswith("eval:who:")
        assert seen.count("gold:who") == 2
    else:
        assert seen == ["cust-7"] * 3


async def test_a_conversation_cut_off_mid_playbook_leaves_no_task_behind() -> None:
    # Three customer turns: the playbook stops to ask for a confirmation (and stays parked in
    # memory), then the conversation ends. The runner closes the agent, so nothing is left
    # running (or destroyed while pending) after the suite.
    before = asyncio.all_tasks()
    scenario = demo_scenario("cancel-pending", max_turns=3)
    (record,) = await play(suite_of(keyword_model(), scenario))
    assert record.final_outcome == "awaiting_customer"
    await asyncio.sleep(0)  # let the cancelled playbooks finish cancelling
    assert asyncio.all_tasks() - before == set()
