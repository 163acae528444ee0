"""The agent answers from a real KnowledgeBase, and playbooks search it through the journal."""

from __future__ import annotations

import resolvekit as rk
from resolvekit.knowledge import KnowledgeBase
from resolvekit.understanding.embedders import HashingEmbedder

from .shop import Backend, build_agent

FAQ = [
    {"question": "How long do I have to return an item?",
     "answer": "You can return items within 30 days of delivery for a full refund."},
    {"question": "Do you ship internationally?",
     "answer": "We ship to the EU, the UK and Canada; other countries are not served."},
]  # fmt: skip


def knowledge() -> KnowledgeBase:
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(FAQ)
    return kb


async def test_questions_are_answered_from_the_knowledge_base_with_citations() -> None:
    model = rk.ScriptedModel(
        [
            rk.AnswerFromKnowledge(query="how long do I have to return an item"),
            rk.AnswerFromKnowledge(query="what is the airspeed of an unladen swallow"),
        ]
    )
    agent = build_agent(Backend(), model, knowledge=knowledge())
    answered = await agent.handle("c", "how long do I have to return an item?")
    assert answered.outcome == "answered"
    assert "30 days" in answered.reply
    assert answered.citations
    unknown = await agent.handle("c", "what is the airspeed of an unladen swallow?")
    assert unknown.outcome == "awaiting_customer"
    assert unknown.reply.startswith("I couldn't find a reliable answer")


async def test_ctx_search_is_journaled_so_replays_see_the_same_answer() -> None:
    class ReturnItem(rk.Intent):
        """Return an item."""

    kb = knowledge()
    agent = build_agent(
        Backend(),
        rk.ScriptedModel([rk.StartIntent(intent="ReturnItem"), rk.Confirm(answer="yes")]),
        knowledge=kb,
    )

    @agent.playbook(ReturnItem)
    async def return_item(ctx: rk.Context[Backend], intent: ReturnItem) -> rk.PlaybookOutcome:
        policy = await ctx.search("return window")
        assert policy.answerable
        if not await ctx.confirm(f"{policy.text} Start a return?"):
            return ctx.resolve("no return")
        return ctx.resolve(f"Return started ({policy.citations[0].doc_id})")

    first = await agent.handle("c", "I want to return something")
    assert "30 days" in first.reply
    kb.remove(*[d.id for d in kb.documents])  # the knowledge changes between turns
    second = await agent.handle("c", "yes")
    assert second.outcome == "resolved"  # the replay used the journaled answer


async def test_a_question_to_a_free_text_ask_is_answered_then_the_ask_comes_back() -> None:
    # Regression (bank suite, issue 15): "Which charge is it?" - "what is the daily transfer
    # limit?" took the question as the merchant's name. LocalModel now answers it from the
    # knowledge base and asks again; a question the knowledge base cannot answer is the answer.
    class Dispute(rk.Intent):
        """Dispute a charge."""

        examples = ["dispute a charge", "I don't recognise a payment"]

    agent = rk.Agent("bank", model="test", store="memory://", knowledge=knowledge(), handoff=[])

    @agent.playbook(Dispute)
    async def dispute(ctx: rk.Context[None], intent: Dispute) -> rk.PlaybookOutcome:
        merchant = await ctx.ask("Which charge is it?", name="merchant")
        return ctx.resolve(f"Disputed the charge from {merchant}.")

    assert (await agent.handle("c", "dispute a charge")).reply == "Which charge is it?"
    answered = await agent.handle("c", "do you ship internationally?")
    assert "Canada" in answered.reply and answered.reply.endswith("Which charge is it?")
    done = await agent.handle("c", "Bluebird Cafe")
    assert done.reply == "Disputed the charge from Bluebird Cafe."
    await agent.handle("d", "dispute a charge")
    taken = await agent.handle("d", "where is zebra books ltd from?")
    assert taken.reply == "Disputed the charge from where is zebra books ltd from?."
