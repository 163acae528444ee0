"""Authenticate first: the agent's verify step (``@agent.verify``) runs before the slots of a
``verify_first`` intent, once per conversation, journaled so replay and restarts agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk

ACCOUNTS = {"ann@example.com": "A-1"}
ASK_EMAIL = "For security, what's the email on your account?"
ASK_ORDER = "Which order?"


class CancelOrder(rk.Intent):
    """Cancel an order."""

    verify_first = True
    order_id: str = rk.Slot(ask=ASK_ORDER)


class OrderStatus(rk.Intent):
    """Where is my order."""

    verify_first = True
    order_id: str = rk.Slot(ask=ASK_ORDER)


class WhoAmI(rk.Intent):
    """Not verify_first: reads whatever identity the conversation has."""


def build(store: str = "memory://", *, verify: bool = True) -> tuple[rk.Agent[Any], dict[str, Any]]:
    seen: dict[str, Any] = {"lookups": 0, "writes": []}
    agent: rk.Agent[Any] = rk.Agent(model="test", store=store, raise_errors=True, handoff=[])

    @agent.tool(effect="read")
    def find_account(email: str) -> str | None:
        """The account signing in with ``email``."""
        seen["lookups"] += 1
        return ACCOUNTS.get(email)

    @agent.tool(effect="write")
    def cancel_order(ctx: rk.Context[Any], order_id: str) -> str:
        """Cancel an order of the verified account."""
        seen["writes"].append((ctx.identity["account"], order_id))
        return "cancelled"

    if verify:

        @agent.verify
        async def check(ctx: rk.Context[Any]) -> dict[str, str] | rk.PlaybookOutcome:
            email = await ctx.ask(ASK_EMAIL, name="email")
            account = await ctx.call(find_account, email=email)
            if account is None:
                return ctx.refuse("not verified", reply="Sorry, I can't find that account.")
            return {"account": account}

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Any], intent: CancelOrder) -> rk.PlaybookOutcome:
        await ctx.call(cancel_order, order_id=intent.order_id)
        return ctx.resolve(f"{intent.order_id} cancelled for {ctx.identity['account']}")

    @agent.playbook(OrderStatus)
    async def status(ctx: rk.Context[Any], intent: OrderStatus) -> rk.PlaybookOutcome:
        return ctx.resolve(f"{intent.order_id} of {ctx.identity['account']} is on its way")

    @agent.playbook(WhoAmI)
    async def who(ctx: rk.Context[Any], intent: WhoAmI) -> rk.PlaybookOutcome:
        return ctx.resolve(f"you are {ctx.identity}")

    return agent, seen


def script(*decisions: rk.Decision) -> rk.ScriptedModel:
    return rk.ScriptedModel(list(decisions))


async def test_verify_runs_before_any_slot_then_the_slots_then_the_playbook() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="CancelOrder"),
            rk.FillSlots(slots={"email": "ann@example.com"}),
            rk.FillSlots(slots={"order_id": "W1"}),
        )
    ):
        first = await agent.handle("c", "cancel my order")
        assert (first.reply, first.pending) == (ASK_EMAIL, "ask")
        second = await agent.handle("c", "ann@example.com")
        assert (second.reply, second.pending) == (ASK_ORDER, "slot")
        third = await agent.handle("c", "W1")
    assert (third.reply, third.outcome) == ("W1 cancelled for A-1", "resolved")
    assert seen == {"lookups": 1, "writes": [("A-1", "W1")]}


async def test_verified_once_per_conversation_across_intents_and_channels() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="WhoAmI"),
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1"}),
            rk.FillSlots(slots={"email": "ann@example.com"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W2"}),
            rk.StartIntent(intent="WhoAmI"),
        )
    ):
        before = await agent.handle("c", "who am I")
        assert before.reply == "you are None"  # not verify_first: runs as before, unverified
        assert (await agent.handle("c", "cancel W1")).reply == ASK_EMAIL
        done = await agent.handle("c", "ann@example.com")
        assert done.reply == "W1 cancelled for A-1"
        other = await agent.handle("c", "where is W2", channel="sms")
        assert (other.reply, other.outcome) == ("W2 of A-1 is on its way", "resolved")
        after = await agent.handle("c", "who am I", channel="email")
    assert after.reply == "you are {'account': 'A-1'}"
    assert seen["lookups"] == 1
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.identity == {"account": "A-1"}
    status_run = next(r for r in conversation.runs if r.intent == "OrderStatus")
    # The skip is recorded, so a replay of this run skips too, whatever the conversation holds.
    assert [(s.kind, s.key, s.result) for s in status_run.journal] == [
        ("verify", "decision", {"skip": True, "identity": {"account": "A-1"}})
    ]


async def test_a_refusal_ends_the_request_before_any_slot_and_writes_nothing() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="CancelOrder"),
            rk.FillSlots(slots={"email": "eve@example.com"}),
        )
    ):
        assert (await agent.handle("c", "cancel my order")).reply == ASK_EMAIL
        refused = await agent.handle("c", "eve@example.com")
    assert (refused.reply, refused.outcome, refused.pending) == (
        "Sorry, I can't find that account.",
        "refused",
        None,
    )
    assert seen["writes"] == []
    conversation = await agent.conversation("c")
    assert conversation is not None and conversation.identity is None
    assert [r.status for r in conversation.runs] == ["refused"]


async def test_a_verify_first_intent_without_a_verify_step_is_a_typed_error() -> None:
    agent, _ = build(verify=False)
    with (
        agent.override(model=script(rk.StartIntent(intent="CancelOrder"))),
        pytest.raises(rk.VerifyStepMissing, match=r"CancelOrder.*@agent\.verify") as caught,
    ):
        await agent.handle("c", "cancel my order")
    assert caught.value.intent == "CancelOrder"
    assert isinstance(caught.value, rk.UserError)


async def test_a_second_verify_step_or_a_sync_one_is_refused() -> None:
    agent, _ = build()

    async def again(ctx: rk.Context[Any]) -> str:
        return "x"

    with pytest.raises(rk.UserError, match="already has a verify step"):
        agent.verify(again)
    with pytest.raises(rk.UserError, match="async function"):
        build(verify=False)[0].verify(lambda ctx: "x")  # type: ignore[arg-type,return-value]


async def test_a_request_suspended_mid_verification_does_not_ask_again_once_verified() -> None:
    agent, seen = build()
    with agent.override(
        model=script(
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1"}),
            rk.StartIntent(intent="OrderStatus", slots={"order_id": "W2"}),
            rk.FillSlots(slots={"email": "ann@example.com"}),
            rk.Confirm(answer="yes"),
        )
    ):
        assert (await agent.handle("c", "cancel W1")).reply == ASK_EMAIL
        assert (await agent.handle("c", "actually where is W2")).reply == ASK_EMAIL
        status = await agent.handle("c", "ann@example.com")
        assert status.reply.startswith("W2 of A-1 is on its way")
        back = await agent.handle("c", "yes")
    assert (back.reply, back.outcome) == ("W1 cancelled for A-1", "resolved")
    assert seen == {"lookups": 1, "writes": [("A-1", "W1")]}


async def test_a_fresh_agent_on_the_same_sqlite_file_continues_without_verifying_again(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'support.db'}"
    first, seen_first = build(store)
    with first.override(model=script(rk.StartIntent(intent="CancelOrder"))):
        assert (await first.handle("c", "cancel my order")).reply == ASK_EMAIL
    await first.close()
    # A restart in the middle of verification: the journal is replayed, the answer goes on.
    second, seen_second = build(store)
    with second.override(
        model=script(
            rk.FillSlots(slots={"email": "ann@example.com"}),
            rk.FillSlots(slots={"order_id": "W1"}),
        )
    ):
        assert (await second.handle("c", "ann@example.com")).reply == ASK_ORDER
        assert (await second.handle("c", "W1")).reply == "W1 cancelled for A-1"
    await second.close()
    third, seen_third = build(store)
    with third.override(
        model=script(rk.StartIntent(intent="OrderStatus", slots={"order_id": "W2"}))
    ):
        result = await third.handle("c", "where is W2", channel="email")
    await third.close()
    assert (result.reply, result.outcome) == ("W2 of A-1 is on its way", "resolved")
    assert (seen_first["lookups"], seen_second["lookups"], seen_third["lookups"]) == (0, 1, 0)
    assert seen_second["writes"] == [("A-1", "W1")]


async def test_a_tool_reads_the_identity_given_to_call_tool_like_the_gold_baseline() -> None:
    agent, seen = build()
    result = await agent.call_tool(
        "cancel_order", {"order_id": "W9"}, customer_id="c", identity={"account": "A-1"}
    )
    assert result == "cancelled"
    assert seen["writes"] == [("A-1", "W9")]


async def test_the_gold_baseline_gives_the_scenario_identity_to_the_tools() -> None:
    from resolvekit.evals import Scenario, ToolCall
    from resolvekit.evals.baselines import replay_reference

    agent, seen = build()
    scenario = Scenario(
        id="cancel",
        user=["cancel W9"],
        reference_actions=[ToolCall(tool="cancel_order", args={"order_id": "W9"})],
        identity={"account": "A-1"},
    )
    calls = await replay_reference(agent, scenario, None)
    assert [(c.tool, c.status) for c in calls] == [("cancel_order", "done")]
    assert seen["writes"] == [("A-1", "W9")]
