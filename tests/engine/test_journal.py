"""The journal as the audit log and the replay source: what each ``ctx.*`` call records, what a
replay returns, and how a confirmed write finds the yes that allows it.

Each test checks what a customer, a human or the backend can see: the backend's writes, the
reply, the handoff, the stored journal, the typed error.
"""

from __future__ import annotations

from typing import Any

import pytest

import resolvekit as rk
from resolvekit.messages import Citation
from resolvekit.playbooks import KnowledgeAnswer

from .shop import Backend, Order, untimed


class Task(rk.Intent):
    """Do the thing."""

    examples = ["do the thing"]


def agent_with(*decisions: Any, **options: Any) -> rk.Agent[Backend]:
    options.setdefault("store", "memory://")
    options.setdefault("handoff", [])
    options.setdefault("model", rk.ScriptedModel(list(decisions)))
    return rk.Agent(name="journal", deps=Backend(), **options)


async def journal(agent: rk.Agent[Backend], intent: str = "Task") -> list[rk.Step]:
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    return next(r for r in conversation.runs if r.intent == intent).journal


# -- replaying failed calls ------------------------------------------------------------------


async def test_a_failed_call_is_replayed_as_the_same_error_and_never_made_again() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))
    calls: list[str] = []

    @agent.tool(effect="read")
    def lookup(order_id: str) -> Order:
        """Look an order up."""
        calls.append(order_id)
        raise rk.ToolRefusal(f"no order {order_id}")

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        found = await ctx.try_call(lookup, order_id="W0000000")
        assert isinstance(found, rk.ToolError)
        if await ctx.confirm("Try something else?"):
            return ctx.resolve(f"{found.tool} {found.kind}: {found.message}")
        return ctx.resolve("no")

    assert (await agent.handle("c", "do the thing")).pending == "confirm"
    done = await agent.handle("c", "yes")
    assert (done.outcome, done.reply) == ("resolved", "lookup refused: no order W0000000")
    assert calls == ["W0000000"]
    step = (await journal(agent))[0]
    assert (step.status, step.error) == (
        "error",
        {"tool": "lookup", "kind": "refused", "message": "no order W0000000"},
    )


async def test_invalid_arguments_are_journaled_as_an_error_step() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))
    calls: list[int] = []

    @agent.tool(effect="write")
    def set_quantity(quantity: int) -> int:
        """Set a quantity."""
        calls.append(quantity)
        return quantity

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        failed = await ctx.try_call(set_quantity, quantity="many")
        assert isinstance(failed, rk.ToolError)
        await ctx.confirm("Go on?")
        return ctx.resolve(failed.kind)

    first = await agent.handle("c", "do the thing")
    (event,) = [e.data for e in first.trace if e.kind == "tool"]
    assert event.pop("message").startswith("quantity: Input should be a valid integer")
    assert event == {
        "tool": "set_quantity",
        "status": "error",
        "kind": "invalid_arguments",
    }
    done = await agent.handle("c", "yes")
    assert (done.outcome, done.reply) == ("resolved", "invalid_arguments")
    assert calls == []
    (step, _confirm) = await journal(agent)
    assert (step.index, step.kind, step.key, step.status, step.effect) == (
        0,
        "call",
        "set_quantity",
        "error",
        "write",
    )
    assert step.args == {"quantity": "many"}
    assert step.error is not None and step.error["kind"] == "invalid_arguments"
    assert "quantity" in step.error["message"]


async def test_invalid_arguments_that_are_not_json_are_journaled_as_text() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"))

    @agent.tool(effect="read")
    def count(quantity: int) -> int:
        """Count."""
        return quantity

    class Thing:
        def __str__(self) -> str:
            return "a thing"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        failed = await ctx.try_call(count, quantity=Thing())
        assert isinstance(failed, rk.ToolError)
        return ctx.resolve(failed.kind)

    assert (await agent.handle("c", "do the thing")).reply == "invalid_arguments"
    (step,) = await journal(agent)
    assert step.args == {"quantity": "a thing"}


# -- which yes allows which write ------------------------------------------------------------


def payment_agent(*decisions: Any) -> tuple[rk.Agent[Backend], list[str]]:
    agent = agent_with(rk.StartIntent(intent="Task"), *decisions)
    charges: list[str] = []
    failures = ["declined once"]

    @agent.tool(effect="read")
    def balance() -> int:
        """The balance."""
        return 10

    @agent.tool(effect="write", confirm=True)
    def charge(amount: int) -> str:
        """Charge the card."""
        if failures:
            raise rk.ToolRefusal(failures.pop())
        charges.append(str(amount))
        return "charged"

    return agent, charges


async def test_a_read_between_the_yes_and_the_write_does_not_use_the_yes() -> None:
    agent, charges = payment_agent(rk.Confirm(answer="yes"))
    balance, charge = agent.tools["balance"], agent.tools["charge"]

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        if not await ctx.confirm("Charge 5?"):
            return ctx.resolve("no")
        await ctx.call(balance)
        await ctx.try_call(charge, amount=5)  # declined: the yes is not used up
        await ctx.call(charge, amount=5)
        return ctx.resolve("charged")

    await agent.handle("c", "charge me")
    done = await agent.handle("c", "yes")
    assert (done.outcome, done.reply, done.error) == ("resolved", "charged", None)
    assert charges == ["5"]


async def test_a_write_needs_a_yes_even_after_an_unregistered_tool() -> None:
    """A playbook may call a tool the agent does not list; it never counts as a consent."""
    agent, charges = payment_agent(rk.Confirm(answer="yes"))
    charge = agent.tools["charge"]

    @rk.tool
    def ping() -> str:
        """Not one of the agent's tools."""
        return "pong"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        if not await ctx.confirm("Charge 5?"):
            return ctx.resolve("no")
        await ctx.call(ping)
        await ctx.try_call(charge, amount=5)
        await ctx.call(charge, amount=5)
        return ctx.resolve("charged")

    await agent.handle("c", "charge me")
    done = await agent.handle("c", "yes")
    assert (done.reply, done.error) == ("charged", None)
    assert charges == ["5"]


async def test_an_unconfirmed_write_names_the_tool() -> None:
    agent, charges = payment_agent()
    charge = agent.tools["charge"]

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.call(charge, amount=5)
        return ctx.resolve("charged")

    result = await agent.handle("c", "charge me")
    assert isinstance(result.error, rk.UnconfirmedWrite)
    assert result.error.tool == "charge"
    assert result.handoff is not None and "'charge'" in (result.handoff.error or "")
    assert charges == []


# -- questions -------------------------------------------------------------------------------


async def test_an_open_question_is_pending_in_the_journal_until_answered() -> None:
    agent = agent_with(
        rk.StartIntent(intent="Task"),
        rk.FillSlots(slots={"quantity": "lots"}),
        rk.FillSlots(slots={"quantity": "3"}),
    )

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        n = await ctx.ask("How many?", int, name="quantity")
        return ctx.resolve(f"{n * 2}")

    await agent.handle("c", "do the thing")
    (step,) = await journal(agent)
    assert (step.kind, step.key, step.status, step.result) == ("ask", "How many?", "pending", None)
    await agent.handle("c", "lots")
    (step,) = await journal(agent)
    assert (step.status, step.result) == ("pending", None)
    assert (await agent.handle("c", "3")).reply == "6"
    (step,) = await journal(agent)
    assert (step.status, step.result) == ("done", "3")


async def test_the_question_an_ask_sends_to_the_model_describes_the_answer() -> None:
    seen: list[rk.ModelRequest] = []
    script = [
        rk.StartIntent(intent="Task"),
        rk.FillSlots(slots={"size": "huge"}),
        rk.FillSlots(slots={"size": "large"}),
    ]

    def decide(request: rk.ModelRequest) -> rk.ModelResponse:
        seen.append(request)
        return rk.ModelResponse(decision=script[len(seen) - 1])

    agent = agent_with(model=rk.FunctionModel(decide))
    from typing import Literal

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        size = await ctx.ask("Which size?", Literal["small", "large"], name="size")
        return ctx.resolve(size)

    await agent.handle("c", "do the thing")
    await agent.handle("c", "huge")
    assert (await agent.handle("c", "large")).reply == "large"
    for request in seen[1:]:
        assert request.pending is not None
        spec = request.pending.slot
        assert spec is not None
        assert (spec.name, spec.ask, spec.choices) == ("size", "Which size?", ["small", "large"])
        assert spec.kind == "choice"
        assert spec.json_schema["enum"] == ["small", "large"]


# -- knowledge, say, remember ----------------------------------------------------------------


class Source:
    """A knowledge source that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    async def answer(self, query: str, k: int = 3, *, model: Any = None) -> KnowledgeAnswer:
        self.asked.append((query, k))
        return KnowledgeAnswer(
            query=query,
            text="30 days",
            answerable=True,
            score=0.75,
            citations=[Citation(doc_id="returns", title="Returns")],
        )


async def test_a_search_is_replayed_with_its_score_and_citations() -> None:
    source = Source()
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"), knowledge=source)

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        found = await ctx.search("return window")
        await ctx.confirm("Go on?")
        cited = ",".join(f"{c.doc_id}/{c.title}" for c in found.citations)
        return ctx.resolve(f"{found.query}|{found.text}|{found.answerable}|{found.score}|{cited}")

    first = await agent.handle("c", "do the thing")
    assert untimed(first.trace, "knowledge") == [
        {"query": "return window", "hits": 1, "answerable": True, "score": 0.75}
    ]
    done = await agent.handle("c", "yes")
    assert done.reply == "return window|30 days|True|0.75|returns/Returns"
    assert source.asked == [("return window", 3)]
    (search, _confirm) = await journal(agent)
    assert (search.index, search.kind, search.key, search.args) == (
        0,
        "search",
        "return window",
        {"k": 3},
    )


async def test_a_search_asks_for_as_many_passages_as_the_playbook_wants() -> None:
    source = Source()
    agent = agent_with(rk.StartIntent(intent="Task"), knowledge=source)

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.search("return window", k=5)
        return ctx.resolve("done")

    await agent.handle("c", "do the thing")
    assert source.asked == [("return window", 5)]


async def test_a_search_with_no_knowledge_source_is_not_answerable() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        ctx.say("Looking.")
        found = await ctx.search("return window", k=2)
        await ctx.confirm("Go on?")
        return ctx.resolve(f"{found.query}|{found.text!r}|{found.answerable}|{found.score}")

    first = await agent.handle("c", "do the thing")
    assert first.reply == "Looking.\nGo on?"
    assert untimed(first.trace, "knowledge") == [
        {"query": "return window", "hits": 0, "answerable": False, "score": 0.0}
    ]
    done = await agent.handle("c", "yes")
    assert done.reply == "return window|''|False|0.0"
    say, search, confirm = await journal(agent)
    assert [(s.index, s.kind) for s in (say, search, confirm)] == [
        (0, "say"),
        (1, "search"),
        (2, "confirm"),
    ]


async def test_knowledge_answers_round_trip_through_json() -> None:
    answer = KnowledgeAnswer(
        query="q", text="t", answerable=True, score=0.5, citations=[Citation(doc_id="d")]
    )
    data = answer.to_json()
    assert data == {
        "query": "q",
        "text": "t",
        "answerable": True,
        "score": 0.5,
        "citations": [Citation(doc_id="d").model_dump()],
    }
    assert KnowledgeAnswer.from_json(data) == answer
    bare = KnowledgeAnswer.from_json({"query": "q", "text": "", "answerable": False})
    assert (bare.query, bare.score, bare.citations) == ("q", 0.0, [])


async def test_remember_keeps_a_fact_journaled_once_for_later_requests() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))

    class When:
        def __str__(self) -> str:
            return "tomorrow"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        ctx.remember("user_id", "u-1")
        ctx.remember("when", When())
        assert ctx.facts["user_id"] == "u-1"
        await ctx.confirm("Go on?")
        return ctx.resolve(f"{ctx.facts['user_id']} {ctx.facts['when']}")

    await agent.handle("c", "do the thing")
    assert (await agent.handle("c", "yes")).reply == "u-1 tomorrow"
    steps = await journal(agent)
    assert [(s.index, s.kind, s.key, s.args) for s in steps[:2]] == [
        (0, "remember", "user_id", {"value": "u-1"}),
        (1, "remember", "when", {"value": "tomorrow"}),
    ]
    assert len(steps) == 3
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None and conversation.facts["user_id"] == "u-1"


# -- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["escalate", "refuse"])
async def test_an_outcomes_reply_is_what_the_customer_reads(kind: str) -> None:
    agent = agent_with(rk.StartIntent(intent="Task"))

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        if kind == "escalate":
            return ctx.escalate(
                "needs a refund over the limit", priority="urgent", reply="A human."
            )
        return ctx.refuse("against policy", reply="Sorry, we can't.")

    result = await agent.handle("c", "do the thing")
    conversation = await agent.store.get(result.conversation_id)
    assert conversation is not None
    assert conversation.runs[0].status == ("escalated" if kind == "escalate" else "refused")
    (ended,) = [e.data for e in result.trace if e.kind == "playbook" and "summary" in e.data]
    assert ended == {
        "event": "escalated" if kind == "escalate" else "refused",
        "intent": "Task",
        "summary": "needs a refund over the limit" if kind == "escalate" else "against policy",
    }
    if kind == "escalate":
        assert (result.outcome, result.reply) == ("escalated", "A human.")
        assert result.handoff is not None
        assert (result.handoff.reason, result.handoff.priority) == (
            "needs a refund over the limit",
            "urgent",
        )
    else:
        assert (result.outcome, result.reply) == ("refused", "Sorry, we can't.")
        conversation = await agent.store.open_conversation("c")
        assert conversation is not None and conversation.runs[0].summary == "against policy"


async def test_a_refusal_without_a_reply_tells_the_reason() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"))

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        return ctx.refuse("against policy")

    assert (await agent.handle("c", "do the thing")).reply == "against policy"


# -- divergence ------------------------------------------------------------------------------


async def test_a_divergence_shows_both_steps_in_a_stable_bounded_form() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))

    @agent.tool(effect="read")
    def lookup(b: str, a: str) -> str:
        """Look up."""
        return a + b

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.call(lookup, b="2", a="1")
        await ctx.confirm("Go on?")
        return ctx.resolve("done")

    await agent.handle("c", "do the thing")

    async def changed(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.call(lookup, b="x" * 500, a="1")
        return ctx.resolve("?")

    agent.playbooks["Task"] = changed
    result = await agent.handle("c", "yes")
    error = result.error
    assert isinstance(error, rk.ReplayDivergence)
    assert error.expected == """call 'lookup' {"a": "1", "b": "2"}"""
    shown = '{"a": "1", "b": "' + "x" * 500 + '"}'
    assert error.got == f"call 'lookup' {shown[:200]}"


# -- what the trace and the store hold around a write ----------------------------------------


async def test_tool_calls_are_traced_with_their_arguments_and_outcome() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"))

    @agent.tool(effect="read")
    def lookup(order_id: str) -> str:
        """Look up."""
        if order_id == "W0000000":
            raise rk.ToolRefusal("no such order")
        return "pending"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.try_call(lookup, order_id="W1234567")
        await ctx.try_call(lookup, order_id="W0000000")
        return ctx.resolve("looked")

    result = await agent.handle("c", "do the thing")
    assert untimed(result.trace, "tool") == [
        {"tool": "lookup", "args": {"order_id": "W1234567"}, "status": "done", "result": "pending"},
        {
            "tool": "lookup",
            "args": {"order_id": "W0000000"},
            "kind": "refused",
            "message": "no such order",
        },
    ]


@pytest.mark.parametrize("effect", ["write", "read"])
async def test_a_failed_write_is_saved_before_the_playbook_goes_on(
    effect: str, tmp_path: Any
) -> None:
    """A write's error is checkpointed at once: a crash right after it leaves the journal saying
    "error", not "started" (which recovery would turn into an unknown outcome). A read is not
    checkpointed: nothing of the turn is in the store yet."""
    from resolvekit.sessions.sqlite import SQLiteStore

    db = tmp_path / "journal.db"
    agent = agent_with(rk.StartIntent(intent="Task"), store=f"sqlite:///{db}")
    seen: list[list[tuple[str, str]]] = []

    @agent.tool(effect=effect)  # type: ignore[call-overload]
    def change(order_id: str) -> str:
        """Change."""
        if order_id == "W1234567":
            raise rk.ToolRefusal("not allowed")
        return "changed"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        for order_id in ("W1234567", "W7654321"):
            await ctx.try_call(change, order_id=order_id)
            other = SQLiteStore(db)  # what another process would find now
            conversation = await other.open_conversation("c")
            await other.close()
            runs = conversation.runs if conversation is not None else []
            seen.append([(s.key, s.status) for r in runs for s in r.journal])
        return ctx.resolve("done")

    assert (await agent.handle("c", "do the thing")).reply == "done"
    if effect == "write":
        assert seen == [[("change", "error")], [("change", "error"), ("change", "done")]]
    else:
        assert seen == [[], []]


async def test_an_open_confirmation_is_pending_in_the_journal() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="no"))

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        return ctx.resolve("yes" if await ctx.confirm("Go on?") else "no")

    await agent.handle("c", "do the thing")
    (step,) = await journal(agent)
    assert (step.kind, step.key, step.status, step.result) == ("confirm", "Go on?", "pending", None)
    assert (await agent.handle("c", "no")).reply == "no"
    (step,) = await journal(agent)
    assert (step.status, step.result) == ("done", False)


async def test_a_correction_after_a_failed_write_rewinds() -> None:
    """A write that failed changed nothing: a correction before it may still rewind."""

    class Refund(rk.Intent):
        """Refund an order."""

        order_id: str = rk.Slot(pattern=r"W\d{7}")

    agent = agent_with(
        rk.StartIntent(intent="Refund", slots={"order_id": "W1234567"}),
        rk.FillSlots(slots={"order_id": "W7654321"}),
    )
    refunds: list[str] = []

    @agent.tool(effect="write")
    def refund(order_id: str) -> str:
        """Refund."""
        if order_id == "W1234567":
            raise rk.ToolRefusal("not refundable")
        refunds.append(order_id)
        return "refunded"

    @agent.playbook(Refund)
    async def run_refund(ctx: rk.Context[Backend], intent: Refund) -> rk.PlaybookOutcome:
        result = await ctx.try_call(refund, order_id=intent.order_id)
        if isinstance(result, rk.ToolError):
            await ctx.ask("That order cannot be refunded. Which order then?")
        return ctx.resolve(f"refunded {intent.order_id}")

    first = await agent.handle("c", "refund W1234567")
    assert first.reply == "That order cannot be refunded. Which order then?"
    corrected = await agent.handle("c", "W7654321")
    assert (corrected.outcome, corrected.reply, corrected.error) == (
        "resolved",
        "refunded W7654321",
        None,
    )
    assert refunds == ["W7654321"]


async def test_a_journal_whose_arguments_come_back_in_another_order_replays() -> None:
    """Stores may return JSON objects with their keys reordered (PostgreSQL's jsonb does): the
    replay compares arguments, not their order."""
    agent = agent_with(rk.StartIntent(intent="Task"), rk.Confirm(answer="yes"))
    lookups: list[str] = []

    @agent.tool(effect="read")
    def lookup(order_id: str, region: str) -> str:
        """Look up."""
        lookups.append(order_id)
        return "ok"

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        await ctx.call(lookup, order_id="W1234567", region="eu")
        await ctx.confirm("Go on?")
        return ctx.resolve("done")

    await agent.handle("c", "do the thing")
    conversation = await agent.store.open_conversation("c")
    assert conversation is not None
    step = conversation.runs[0].journal[0]
    step.args = dict(reversed(list(step.args.items())))
    await agent.store.save(conversation)
    done = await agent.handle("c", "yes")
    assert (done.reply, done.error) == ("done", None)
    assert lookups == ["W1234567"]


async def test_a_playbook_sees_who_where_and_what() -> None:
    agent = agent_with(rk.StartIntent(intent="Task"))

    @agent.playbook(Task)
    async def task(ctx: rk.Context[Backend], intent: Task) -> rk.PlaybookOutcome:
        return ctx.resolve(
            "done",
            reply=f"{ctx.customer_id} {ctx.channel} {ctx.intent} {bool(ctx.conversation_id)}",
        )

    result = await agent.handle("c-42", "do the thing", channel="voice")
    assert (result.outcome, result.reply) == ("resolved", "c-42 voice Task True")


def test_ask_is_typed_for_type_forms_that_are_not_classes() -> None:
    # `ctx.ask(q, Literal["card", "credit"])` is documented and works at run time, but with
    # only a `type[T]` overload mypy rejected it in a user's playbook (the grocery example).
    import inspect
    from typing import get_overloads, get_type_hints

    import resolvekit.playbooks as playbooks

    accepted = [
        get_type_hints(fn, vars(playbooks)).get("type")
        for fn in get_overloads(rk.Context.ask)
        if "type" in inspect.signature(fn).parameters
    ]
    assert object in accepted
