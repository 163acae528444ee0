"""Parked playbooks: resumed in memory when the journal is exactly as they left it, replayed
from the journal otherwise (another worker, a correction, an eviction, a new playbook)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest, ModelResponse


class Survey(rk.Intent):
    """Answer a few questions."""

    examples = ["start the survey"]
    topic: str = rk.Slot(ask="Which topic?")


def answering() -> rk.FunctionModel:
    """Answers the open question with the customer's words; "topic X" corrects the topic."""

    def decide(request: ModelRequest) -> ModelResponse:
        if request.text.startswith("topic "):
            topic = request.text.removeprefix("topic ")
            if request.active_intent:
                return ModelResponse(decision=rk.FillSlots(slots={"topic": topic}))
            return ModelResponse(decision=rk.StartIntent(intent="Survey", slots={"topic": topic}))
        pending = request.pending
        if pending is not None and pending.slot is not None:
            return ModelResponse(decision=rk.FillSlots(slots={pending.slot.name: request.text}))
        return ModelResponse(decision=rk.StartIntent(intent="Survey"))

    return rk.FunctionModel(decide)


def survey_agent(store: Any, runs: list[str], **options: Any) -> rk.Agent[None]:
    agent: rk.Agent[None] = rk.Agent(
        name="survey", model=answering(), store=store, handoff=[], **options
    )

    @agent.playbook(Survey)
    async def survey(ctx: rk.Context[None], intent: Survey) -> rk.PlaybookOutcome:
        runs.append(intent.topic)  # runs once per execution: once parked, again per replay
        answers = [await ctx.ask(f"{intent.topic}: question {n}?", int) for n in range(3)]
        return ctx.resolve(f"{intent.topic}: {sum(answers)}")

    return agent


async def test_a_parked_playbook_runs_its_code_once() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=10)
    await agent.handle("c", "topic tea")
    for n in (1, 2):
        await agent.handle("c", str(n))
    done = await agent.handle("c", "3")
    assert done.reply == "tea: 6"
    assert runs == ["tea"]  # never replayed
    assert any(e.data.get("event") == "resume" for e in done.trace)


async def test_without_parking_every_turn_replays() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=0)
    await agent.handle("c", "topic tea")
    for n in (1, 2, 3):
        result = await agent.handle("c", str(n))
    assert result.reply == "tea: 6"
    assert runs == ["tea"] * 4


async def test_a_turn_taken_by_another_worker_makes_the_parked_playbook_replay() -> None:
    runs_a: list[str] = []
    runs_b: list[str] = []
    store = rk.MemoryStore()
    worker_a = survey_agent(store, runs_a, parked_playbooks=10)
    worker_b = survey_agent(store, runs_b, parked_playbooks=10)
    await worker_a.handle("c", "topic tea")
    await worker_b.handle("c", "10")  # another worker answers question 0
    result = await worker_a.handle("c", "20")  # A's parked playbook is stale: it must replay
    assert result.pending == "ask" and result.reply == "tea: question 2?"
    done = await worker_a.handle("c", "30")
    assert done.reply == "tea: 60"
    assert len(worker_a.parked) == 0 and runs_a[-1] == "tea" and len(runs_a) >= 2


async def test_a_correction_replays_with_the_new_value() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=10)
    await agent.handle("c", "topic tea")
    await agent.handle("c", "1")
    corrected = await agent.handle("c", "topic coffee")
    assert corrected.reply == "coffee: question 0?"  # rewound: the questions are new
    for n in (1, 2):
        await agent.handle("c", str(n))
    done = await agent.handle("c", "3")
    assert done.reply == "coffee: 6"
    assert runs == ["tea", "coffee"]


async def test_the_registry_is_bounded_and_an_evicted_playbook_replays() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=1)
    await agent.handle("a", "topic tea")
    await agent.handle("b", "topic milk")  # evicts a's
    assert len(agent.parked) == 1
    for n in (1, 2):
        await agent.handle("a", str(n))
    done = await agent.handle("a", "3")
    assert done.reply == "tea: 6"
    assert runs.count("tea") == 2  # replayed once after the eviction, then parked again


async def test_a_playbook_registered_anew_is_replayed() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=10)
    await agent.handle("c", "topic tea")
    original = agent.playbooks["Survey"]

    async def wrapped(ctx: rk.Context[Any], intent: Any) -> Any:
        return await original(ctx, intent)

    agent.playbooks["Survey"] = wrapped
    await agent.handle("c", "1")
    assert runs == ["tea", "tea"]


async def test_a_cancelled_turn_cancels_the_playbook_and_the_next_turn_replays() -> None:
    runs: list[str] = []
    started = asyncio.Event()
    release = asyncio.Event()
    agent: rk.Agent[None] = rk.Agent(
        name="slow", model=answering(), store="memory://", handoff=[], parked_playbooks=10
    )

    @agent.tool
    async def slow_lookup(n: int) -> int:
        """Look something up slowly."""
        started.set()
        await release.wait()
        return n

    @agent.playbook(Survey)
    async def survey(ctx: rk.Context[None], intent: Survey) -> rk.PlaybookOutcome:
        runs.append(intent.topic)
        first = await ctx.ask("first?", int)
        looked = await ctx.call(slow_lookup, n=first)
        return ctx.resolve(f"looked up {looked}")

    await agent.handle("c", "topic tea")
    turn = asyncio.create_task(agent.handle("c", "7"))
    await started.wait()
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    assert len(agent.parked) == 0
    release.set()
    started.clear()
    done = await agent.handle("c", "hello")
    assert done.reply.startswith("looked up 7")  # the interrupted read ran again


async def test_an_agent_dropped_without_close_leaves_no_pending_task_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import gc

    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=10)
    await agent.handle("c", "topic tea")  # parked at question 0
    del agent
    with caplog.at_level("ERROR", logger="asyncio"):
        gc.collect()
        await asyncio.sleep(0)
    assert "destroyed but it is pending" not in caplog.text


def test_a_playbook_parked_on_a_closed_loop_is_forgotten_without_error() -> None:
    runs: list[str] = []
    agent = survey_agent("memory://", runs, parked_playbooks=10)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(agent.handle("c", "topic tea"))  # parked at question 0
    loop.close()  # not asyncio.run: the parked task is not cancelled by the loop
    # The next turn, on another loop, replays from the journal instead of failing.
    result = asyncio.run(agent.handle("c", "1"))
    assert result.reply == "tea: question 1?"
    assert runs == ["tea", "tea"]
