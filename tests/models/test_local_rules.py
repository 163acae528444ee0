"""LocalModel's cascade is an ordered list of named rules a user can read and change."""

from __future__ import annotations

from typing import Literal

import resolvekit as rk
from resolvekit.models import ModelRequest
from resolvekit.models.local import LocalModel
from resolvekit.models.local_rules import DEFAULT_RULES, LocalTurn, Rule
from resolvekit.understanding.embedders import HashingEmbedder

OPEN = frozenset({"start_intent", "answer_from_knowledge", "ask_clarification", "reply"})


def request(text: str) -> ModelRequest:
    return ModelRequest(allowed=OPEN, messages=[rk.Message(role="customer", text=text)], intents=[])


def test_the_default_rules_are_named_in_order_and_documented() -> None:
    model = LocalModel.for_tests()
    assert [rule.name for rule in model.rules] == [
        "human_request",
        "confirmation",
        "free_text_answer",
        "bare_yes_to_text",
        "slot_answer",
        "small_talk",
        "dont_know",
        "raw_slot_answer",
        "offered_choice",
        "bare_yes_no",
        "correction_redo",
        "no_intents",
        "classify",
    ]
    assert all(rule.description for rule in model.rules)


async def test_a_rule_of_ones_own_runs_first() -> None:
    def vip(turn: LocalTurn) -> rk.ModelResponse | None:
        if "VIP" in turn.text:
            return turn.respond(rk.Escalate(reason="VIP customer", priority="urgent"))
        return None

    model = LocalModel(embedder=HashingEmbedder(), rules=[Rule("vip", vip), *DEFAULT_RULES])
    routed = await model.request(request("VIP here, hello"))
    assert routed.decision == rk.Escalate(reason="VIP customer", priority="urgent")
    normal = await model.request(request("hello"))
    assert isinstance(normal.decision, rk.Reply)  # small talk, by the defaults


async def test_dropping_a_rule_changes_the_decision() -> None:
    without_small_talk = [r for r in DEFAULT_RULES if r.name != "small_talk"]
    model = LocalModel(embedder=HashingEmbedder(), rules=without_small_talk)
    response = await model.request(request("hello"))
    assert isinstance(response.decision, rk.AnswerFromKnowledge)  # no intents: knowledge


async def test_no_rule_deciding_asks_for_more() -> None:
    model = LocalModel(embedder=HashingEmbedder(), rules=[])
    response = await model.request(request("hello"))
    assert response.decision == rk.Reply(text="Could you tell me a bit more about what you need?")


class _Rejecting(LocalModel):
    """The classifier's label with a set confidence, always rejected as out of scope."""

    def __init__(self, confidence: float) -> None:
        super().__init__(embedder=HashingEmbedder())
        self.fixed = confidence

    def classify(self, text, intents):  # type: ignore[no-untyped-def]
        from resolvekit.models.local_rules import Prediction

        return Prediction(
            label="FreezeCard", confidence=self.fixed, ranking=[("FreezeCard", self.fixed)],
            in_scope=False,
        )  # fmt: skip


class FreezeCard(rk.Intent):
    """Block a lost card."""

    examples = ["I lost my card", "freeze my card"]
    last4: str = rk.Slot(pattern=r"\d{4}")


async def test_a_likely_intent_below_the_scope_threshold_is_the_knowledge_fallback() -> None:
    # Regression (bank suite, issue 15): "Please block my credit card, I can't find it anywhere"
    # was FreezeCard at 0.99 but below the out-of-scope threshold, so the agent answered "I
    # couldn't find a reliable answer" and never started the request.
    agent = rk.Agent("bank", model="test", store="memory://", handoff=[])

    @agent.playbook(FreezeCard)
    async def freeze(ctx: rk.Context[None], intent: FreezeCard) -> rk.PlaybookOutcome:
        return ctx.resolve("frozen")

    specs = agent.intent_specs
    ask = ModelRequest(
        allowed=OPEN,
        messages=[rk.Message(role="customer", text="please block card 4821")],
        intents=specs,
    )
    likely = (await _Rejecting(0.9).request(ask)).decision
    assert isinstance(likely, rk.AnswerFromKnowledge)
    assert likely.otherwise == rk.StartIntent(intent="FreezeCard", slots={"last4": "4821"})
    unlikely = (await _Rejecting(0.2).request(ask)).decision
    assert isinstance(unlikely, rk.AnswerFromKnowledge) and unlikely.otherwise is None


class _Sure(LocalModel):
    """The classifier always says ChangePlan, in scope."""

    def __init__(self) -> None:
        super().__init__(embedder=HashingEmbedder())

    def classify(self, text, intents):  # type: ignore[no-untyped-def]
        from resolvekit.models.local_rules import Prediction

        return Prediction(
            label="ChangePlan", confidence=0.95, ranking=[("ChangePlan", 0.95)], in_scope=True
        )


class ChangePlan(rk.Intent):
    """Switch the subscription plan."""

    examples = ["switch me to the business plan", "change my plan"]
    plan: Literal["starter", "pro", "business"] = rk.Slot()


async def test_a_question_that_picks_a_choice_is_a_request_not_a_knowledge_question() -> None:
    # Regression (helpdesk suite, issue 15): "can i swich to the bussiness plan" was sent to the
    # knowledge base first as a general "can I ...?" question, which answered with the price
    # list and never switched the plan.
    agent = rk.Agent("desk", model="test", store="memory://", handoff=[])

    @agent.playbook(ChangePlan)
    async def change(ctx: rk.Context[None], intent: ChangePlan) -> rk.PlaybookOutcome:
        return ctx.resolve("changed")

    def ask(text: str) -> ModelRequest:
        message = rk.Message(role="customer", text=text)
        return ModelRequest(allowed=OPEN, messages=[message], intents=agent.intent_specs)

    picked = (await _Sure().request(ask("can i swich to the bussiness plan"))).decision
    assert picked == rk.StartIntent(intent="ChangePlan", slots={"plan": "business"})
    # Regression (helpdesk2 probe): a question about a choice is no request to pick it:
    # "what does the pro plan cost?" switched the plan ("You're already on the Pro plan.").
    about = (await _Sure().request(ask("what does the pro plan cost?"))).decision
    assert isinstance(about, rk.AnswerFromKnowledge)
    assert about.otherwise == rk.StartIntent(intent="ChangePlan", slots={"plan": "pro"})
    general = (await _Sure().request(ask("can I change plans any time?"))).decision
    assert isinstance(general, rk.AnswerFromKnowledge)
    assert general.otherwise == rk.StartIntent(intent="ChangePlan", slots={})


class SendMoney(rk.Intent):
    """Send money to a friend."""

    examples = ["send money to a friend", "send 20 to Sam", "transfer money", "pay my friend"]
    amount: float = rk.Slot(kind="money", ask="How much?")


async def test_a_bare_number_with_a_correction_cue_corrects_the_amount_at_a_confirmation() -> None:
    # Regression (bank probes, issue 15): "oops, make it 90" to "Send $80.00?" was read as an
    # unsure answer (the bare 90 too weak to be a correction) and a following "yes" sent $80.
    sent: list[float] = []
    agent = rk.Agent("bank", model="test", store="memory://", handoff=[])

    @agent.playbook(SendMoney)
    async def send(ctx: rk.Context[None], intent: SendMoney) -> rk.PlaybookOutcome:
        if not await ctx.confirm(f"Send ${intent.amount:.2f}?"):
            return ctx.resolve("not sent")
        sent.append(intent.amount)
        return ctx.resolve("sent")

    assert (await agent.handle("c", "send 80 to Sam")).reply == "Send $80.00?"
    assert (await agent.handle("c", "oops, make it 90")).reply == "Send $90.00?"
    assert (await agent.handle("c", "yes")).outcome == "resolved"
    assert sent == [90.0]


class Reset(rk.Intent):
    """Reset a password."""

    examples = ["reset my password", "I forgot my password", "I can't log in"]
    email: str = rk.Slot(kind="email", ask="Which email?")


async def test_a_correction_right_after_a_refusal_runs_the_request_again() -> None:
    # Regression (helpdesk probes, issue 15): "sorry, it's ann@example.com" after "no account
    # uses ann@exmaple.com" was not read as a correction (no digit after "it's", and only a
    # resolved request could be corrected), so the customer had to start over.
    reset_for: list[str] = []
    agent = rk.Agent("desk", model="test", store="memory://", handoff=[])

    @agent.playbook(Reset)
    async def reset(ctx: rk.Context[None], intent: Reset) -> rk.PlaybookOutcome:
        if intent.email != "ann@example.com":
            return ctx.refuse("unknown", reply=f"No account uses {intent.email}.")
        reset_for.append(intent.email)
        return ctx.resolve("Link sent.")

    first = await agent.handle("c", "reset my password, my email is ann@exmaple.com")
    assert first.outcome == "refused"
    again = await agent.handle("c", "oh sorry, it's ann@example.com")
    assert (again.intent, again.outcome) == ("Reset", "resolved")
    assert reset_for == ["ann@example.com"]


async def test_a_question_about_the_choices_at_a_choice_question_goes_to_knowledge() -> None:
    # Regression (helpdesk2 probe): at "Which plan?", "what's the difference between pro and
    # business?" filled the plan with pro ("You're already on the Pro plan.").
    from resolvekit.specs import Pending

    spec = ChangePlan.spec()
    pending = Pending(kind="slot", question="Which plan?", slot=spec.slot("plan"), intent=spec.name)

    async def decide(text: str) -> rk.Decision:
        message = rk.Message(role="customer", text=text)
        ask = ModelRequest(
            allowed=OPEN | {"fill_slots"},
            messages=[message],
            intents=[spec],
            pending=pending,
            active_intent=spec.name,
        )
        return (await _Sure().request(ask)).decision

    about = await decide("what's the difference between pro and business?")
    assert isinstance(about, rk.AnswerFromKnowledge)
    assert isinstance(about.otherwise, rk.FillSlots)
    assert await decide("business") == rk.FillSlots(slots={"plan": "business"})
    assert await decide("can I have business?") == rk.FillSlots(slots={"plan": "business"})
