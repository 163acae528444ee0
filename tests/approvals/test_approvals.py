"""ctx.approve: tiers, deciding, errors that change nothing, the customer's messages while
waiting, notification, the journal and the trace."""

from __future__ import annotations

from typing import Any

import pytest

import resolvekit as rk

from .refunds import TIERS, Bank, build


async def pending_id(agent: rk.Agent[Bank]) -> str:
    rows = await agent.approvals()
    assert len(rows) == 1
    return rows[0].id


async def asked(charge: str = "CH2002", **options: Any) -> tuple[Bank, rk.Agent[Bank], str]:
    """A bank, an agent and the id of the approval its refund of ``charge`` waits for."""
    bank = Bank()
    agent = build(bank, **options)
    await agent.handle("c1", f"refund {charge}")
    return bank, agent, await pending_id(agent)


async def stored(agent: rk.Agent[Bank], customer: str = "c1") -> rk.Conversation:
    conversation = await agent.conversation(customer)
    assert conversation is not None
    return conversation


async def test_under_the_automatic_tier_it_is_approved_at_once_and_journaled() -> None:
    bank = Bank()
    agent = build(bank)
    result = await agent.handle("c1", "refund CH1001")
    assert result.outcome == "resolved"
    assert bank.refunds == [("CH1001", 20.0)]
    step = next(s for s in (await stored(agent)).runs[0].journal if s.kind == "approve")
    assert step.status == "done"
    assert step.result["approver"] == "policy" and step.result["automatic"] is True
    kinds = [e.kind for e in result.trace]
    assert "approval_requested" in kinds and "approval_decided" in kinds
    assert await agent.approvals() == []


async def test_a_role_tier_waits_for_a_person_then_the_playbook_writes() -> None:
    bank = Bank()
    sent: list[rk.Notification] = []
    agent = build(bank, notify=sent.append)
    asked = await agent.handle("c1", "refund CH2002")
    assert asked.pending == "approval"
    assert "team_lead" in asked.reply
    assert bank.refunds == []
    [row] = await agent.approvals()
    assert (row.customer_id, row.intent, row.amount) == ("c1", "Refund", 120.0)
    assert row.role == "team_lead"
    assert row.details == {"charge": "CH2002"} and row.waiting >= 0

    decided = await agent.decide(row.id, approve=True, approver="ana", role="team_lead", note="ok")
    assert decided.approval.approved and decided.approval.approver == "ana"
    assert decided.result.outcome == "resolved"
    assert bank.refunds == [("CH2002", 120.0)]
    assert decided.notified
    [note] = sent
    assert (note.customer_id, note.channel) == ("c1", "chat")
    assert note.message == "Refunded 120 on CH2002"
    conversation = await stored(agent)
    assert conversation.transcript[-1].text == "Refunded 120 on CH2002"
    step = next(s for s in conversation.runs[0].journal if s.kind == "approve")
    assert step.evidence is not None
    assert (step.evidence["approver"], step.evidence["role"], step.evidence["note"]) == (
        "ana", "team_lead", "ok",
    )  # fmt: skip
    decided_events = [e.data for e in decided.result.trace if e.kind == "approval_decided"]
    assert decided_events == [
        {"id": row.id, "decision": "approved", "approver": "ana", "role": "team_lead",
         "automatic": False}
    ]  # fmt: skip
    assert await agent.approvals() == []


async def test_a_higher_role_may_decide_a_lower_tier_but_not_the_reverse() -> None:
    bank = Bank()
    agent = build(bank)
    await agent.handle("c1", "refund CH3003")  # 900: manager
    approval = await pending_id(agent)
    assert [r.id for r in await agent.approvals(role="team_lead")] == []
    assert [r.id for r in await agent.approvals(role="manager")] == [approval]
    before = await stored(agent)
    with pytest.raises(rk.ApprovalRoleNotAllowed) as refused:
        await agent.decide(approval, approve=True, approver="tim", role="team_lead")
    assert refused.value.allowed == ["manager"]
    after = await stored(agent)
    assert after.version == before.version and bank.refunds == []
    await agent.decide(approval, approve=True, approver="mia", role="manager")
    assert bank.refunds == [("CH3003", 900.0)]

    agent2 = build(Bank())
    await agent2.handle("c2", "refund CH2002")  # team lead's tier: a manager may decide it
    decided = await agent2.decide(
        await pending_id(agent2), approve=True, approver="mia", role="manager"
    )
    assert decided.approval.role == "manager"


async def test_declined_nothing_is_written_and_the_customer_is_told() -> None:
    bank = Bank()
    sent: list[rk.Notification] = []
    agent = build(bank, notify=sent.append)
    await agent.handle("c1", "refund CH2002")
    approval = await pending_id(agent)
    decided = await agent.decide(
        approval, approve=False, approver="ana", role="team_lead", note="outside policy"
    )
    assert not decided.approval.approved
    assert decided.result.outcome == "refused"
    assert bank.refunds == []
    assert "declined by ana: outside policy" in sent[0].message


async def test_above_the_top_tier_the_conversation_goes_to_a_person_with_context() -> None:
    bank = Bank()
    packets: list[rk.Handoff] = []
    agent = build(bank, handoff=rk.CallbackTarget(packets.append))
    result = await agent.handle("c1", "refund CH4004")
    assert result.outcome == "escalated"
    assert "above the top approval tier" in packets[0].reason
    assert packets[0].intent == "Refund" and packets[0].slots == {"charge_id": "CH4004"}
    assert bank.refunds == [] and await agent.approvals() == []


async def test_deciding_twice_raises_and_does_no_second_action() -> None:
    bank, agent, approval = await asked()
    await agent.decide(approval, approve=True, approver="ana", role="team_lead")
    version = (await stored(agent)).version
    with pytest.raises(rk.ApprovalAlreadyDecided) as twice:
        await agent.decide(approval, approve=False, approver="bob", role="team_lead")
    assert (twice.value.decision, twice.value.approver) == ("approved", "ana")
    assert bank.refunds == [("CH2002", 120.0)]
    assert (await stored(agent)).version == version


async def test_unknown_ids_are_typed_errors() -> None:
    _, agent, approval = await asked()
    conversation, run, _ = approval.split(".")
    for bad in ["nope", f"{conversation}.{run}.0", f"{conversation}.{run}.99", f"x.{run}.1", ""]:
        with pytest.raises(rk.ApprovalNotFound):
            await agent.decide(bad, approve=True, approver="ana", role="team_lead")
    with pytest.raises(rk.UserError):
        await agent.decide(approval, approve="yes", approver="ana", role="team_lead")  # type: ignore[arg-type]
    with pytest.raises(rk.UserError):
        await agent.decide(approval, approve=True, approver=" ", role="team_lead")
    assert [r.id for r in await agent.approvals()] == [approval]


async def test_withdrawn_by_the_customer_the_approval_is_stale() -> None:
    bank, agent, approval = await asked()
    result = await agent.handle("c1", "never mind")
    assert "withdrawn" in result.reply
    assert await agent.approvals() == []
    version = (await stored(agent)).version
    with pytest.raises(rk.ApprovalStale, match="withdrew"):
        await agent.decide(approval, approve=True, approver="ana", role="team_lead")
    assert bank.refunds == [] and (await stored(agent)).version == version


async def test_handed_to_a_person_while_waiting_the_approval_is_stale() -> None:
    bank, agent, approval = await asked()
    result = await agent.handle("c1", "I want a human")
    assert result.outcome == "escalated"
    with pytest.raises(rk.ApprovalStale, match="handed"):
        await agent.decide(approval, approve=True, approver="ana", role="team_lead")
    assert bank.refunds == []


async def test_while_waiting_messages_get_a_reminder_and_other_requests_wait_their_turn() -> None:
    bank, agent, approval = await asked()
    reminder = await agent.handle("c1", "hello? any news")
    assert "still waiting for approval by a team_lead" in reminder.reply
    other = await agent.handle("c1", "where is my order")
    assert "still waiting" in other.reply
    assert bank.refunds == []
    decided = await agent.decide(approval, approve=True, approver="ana", role="team_lead")
    assert "Refunded 120 on CH2002" in decided.result.reply
    assert "You also asked about something else (status)" in decided.result.reply


async def test_nothing_writes_before_the_decision_whatever_the_customer_says() -> None:
    """The guard: ctx.approve returns only once the step is decided. Messages, replays in a
    fresh agent and a decline never reach the write."""
    bank = Bank()
    agent = build(bank, parked_playbooks=0)
    await agent.handle("c1", "refund CH2002")
    for text in ["yes", "approve it", "refund CH2002", "ok"]:
        await agent.handle("c1", text)
    assert bank.refunds == []
    fresh = build(bank, store=agent.store)  # another agent over the same store replays
    await fresh.handle("c1", "yes please")
    assert bank.refunds == []
    journal = (await stored(agent)).runs[0].journal
    assert [s.kind for s in journal] == ["call", "approve"]
    assert journal[-1].status == "pending"


async def test_a_callback_approver_decides_before_a_person_and_is_journaled() -> None:
    seen: list[rk.ApprovalRequest] = []

    async def fraud_check(request: rk.ApprovalRequest) -> bool | None:
        seen.append(request)
        return False if request.amount and request.amount > 100 else None

    policy = rk.ApprovalPolicy(
        tiers=[rk.ApprovalTier(up_to=50), rk.ApprovalTier(up_to=5000, role="team_lead",
                                                          approver=fraud_check)]
    )  # fmt: skip
    bank = Bank()
    agent = build(bank, approvals=policy)
    declined = await agent.handle("c1", "refund CH2002")
    assert declined.outcome == "refused" and bank.refunds == []
    assert seen[0].amount == 120.0 and seen[0].role == "team_lead"
    step = next(s for s in (await stored(agent)).runs[0].journal if s.kind == "approve")
    assert step.result["approver"] == "fraud_check" and step.result["decision"] == "declined"


async def test_policy_mistakes_are_user_errors() -> None:
    with pytest.raises(rk.UserError):
        rk.ApprovalPolicy(tiers=[rk.ApprovalTier(up_to=500), rk.ApprovalTier(up_to=50)])
    with pytest.raises(rk.UserError):
        rk.ApprovalPolicy(tiers=[rk.ApprovalTier(up_to=5, role="a"), rk.ApprovalTier(role="a")])
    with pytest.raises(rk.UserError):
        TIERS.route(-1, None)
    with pytest.raises(rk.UserError):
        TIERS.route(float("nan"), None)
    with pytest.raises(rk.UserError):
        TIERS.route(None, "ceo")
    assert TIERS.route(10, "manager") is TIERS.tiers[2]  # the stricter of amount and role
    assert TIERS.route(None, None) is TIERS.tiers[1]
    assert rk.ApprovalPolicy().route(None, "supervisor").role == "supervisor"


async def test_notify_failure_does_not_lose_the_decision() -> None:
    bank = Bank()

    def broken(notification: rk.Notification) -> None:
        raise ConnectionError("sms gateway down")

    agent = build(bank, notify=broken)
    await agent.handle("c1", "refund CH2002")
    approval = await pending_id(agent)
    decided = await agent.decide(approval, approve=True, approver="ana", role="team_lead")
    assert not decided.notified and "sms gateway down" in (decided.notify_error or "")
    assert bank.refunds == [("CH2002", 120.0)]
    conversation = await stored(agent)
    assert conversation.transcript[-1].text == "Refunded 120 on CH2002"
    with pytest.raises(rk.ApprovalAlreadyDecided):
        await agent.decide(approval, approve=True, approver="ana", role="team_lead")
