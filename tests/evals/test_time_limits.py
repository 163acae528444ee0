"""What can stop a conversation: its turns, the agent's own time, a real hang; never the harness.

A conversation's budget (``RunOptions.timeout``) is the agent's own CPU time, so a slow harness
(here: snapshots, customers and a background task that keep the event loop busy) or a busy
machine cannot fail it; a wall-clock guard per step (``hang_timeout``) stops real hangs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

import resolvekit as rk
from resolvekit.evals import (
    ConversationRecord,
    RunOptions,
    Scenario,
    SimulatedUser,
    Suite,
    run_suite,
)
from resolvekit.evals.demo.model import decide
from resolvekit.evals.users import AgentTurn, GoalUser, UserMove, UserSession
from resolvekit.models import ModelRequest, ModelResponse
from resolvekit.models.local import LocalModel

from .agents import demo_scenario, suite_of

QUIET = {"progress": False, "baselines": False, "trials": 1}


def burn(seconds: float) -> None:
    """Keep this thread's CPU busy for ``seconds`` of CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def play(suite: Suite, **options: Any) -> list[ConversationRecord]:
    run = await run_suite(suite, RunOptions(**{**QUIET, **options}))
    return run.records["agent"]


async def test_an_agent_over_its_own_time_budget_fails() -> None:
    def heavy(request: ModelRequest) -> ModelResponse:
        burn(0.03)  # on the event loop
        return decide(request)

    suite = suite_of(rk.FunctionModel(heavy), demo_scenario("cancel-pending"))
    (record,) = await play(suite, timeout=0.05)
    assert record.verdict == "failed"
    assert record.error is not None
    assert record.error.startswith("timed out: the agent used ")
    assert record.error.endswith("of its own time (CPU), over the 0.05s budget (timeout)")
    assert sum(record.agent_cpu_ms) > 50


async def test_work_in_worker_threads_counts_as_the_agents_own_time() -> None:
    async def heavy(request: ModelRequest) -> ModelResponse:
        await asyncio.to_thread(burn, 0.03)  # like a local model's inference
        return decide(request)

    suite = suite_of(rk.FunctionModel(heavy), demo_scenario("cancel-pending"))
    (record,) = await play(suite, timeout=0.05)
    assert record.verdict == "failed" and record.error is not None
    assert record.error.startswith("timed out: the agent used ")
    assert all(ms >= 25 for ms in record.agent_cpu_ms)


class _HeavyLocalModel(LocalModel):
    """A LocalModel whose every turn burns 30 ms of CPU in the model's own executor."""

    def _turn(self, request: ModelRequest) -> Any:
        burn(0.03)
        return super()._turn(request)


async def test_a_local_models_own_executor_counts_as_the_agents_own_time() -> None:
    # LocalModel runs its turns on its own threads, not the loop's default executor.
    model = _HeavyLocalModel.for_tests()
    suite = suite_of(model, demo_scenario("cancel-pending"))
    (record,) = await play(suite, timeout=30.0)
    assert model._executor is not None  # the turns did run on the model's own executor
    assert record.agent_cpu_ms and all(ms >= 25 for ms in record.agent_cpu_ms)


async def test_waiting_is_not_the_agents_time_and_a_real_hang_is_caught() -> None:
    async def slow(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(0.05)  # like a remote model: waiting, not working
        return decide(request)

    suite = suite_of(rk.FunctionModel(slow), demo_scenario("cancel-pending"))
    (record,) = await play(suite, timeout=0.04)  # less than one turn's wall time
    assert record.verdict == "resolved" and record.error is None
    assert min(record.latencies_ms) >= 50 > max(record.agent_cpu_ms)

    (hung,) = await play(suite, hang_timeout=0.02)
    assert hung.verdict == "failed"
    assert hung.error == "hung: the agent did not answer within 0.02s (wall clock, hang_timeout)"


class SlowCustomer(SimulatedUser):
    """A GoalUser whose every message first keeps the event loop busy (harness work)."""

    kind: Literal["slow"] = "slow"
    inner: GoalUser
    busy: float

    def start(self, *, seed: int, model: Any = None) -> UserSession:
        return _SlowSession(session=self.inner.start(seed=seed, model=model), busy=self.busy)


class _SlowSession(UserSession):
    def __init__(self, session: UserSession, busy: float) -> None:
        super().__init__()
        self.session = session
        self.busy = busy

    async def opening(self) -> str:
        burn(self.busy)
        return await self.session.opening()

    async def respond(self, turn: AgentTurn) -> UserMove:
        burn(self.busy)
        move = await self.session.respond(turn)
        self.repeated_info = self.session.repeated_info
        return move


def threaded_keyword_model() -> rk.FunctionModel:
    """The demo's keyword model, deciding in a worker thread (as a local model does), so the
    event loop runs other work while a turn is in progress."""

    async def in_thread(request: ModelRequest) -> ModelResponse:
        return await asyncio.to_thread(decide, request)

    return rk.FunctionModel(in_thread)


def slow_harness_suite(busy: float) -> Suite:
    """The demo agent, with a snapshot and a customer that each keep the loop busy ``busy``
    seconds of CPU per call."""

    def slow_snapshot(state: Any) -> Any:
        burn(busy)
        return state  # the runner converts it to plain data

    scenarios: list[Scenario] = []
    for name in ("cancel-pending", "change-address", "refund-small", "cancel-shipped"):
        scenario = demo_scenario(name)
        assert isinstance(scenario.user, GoalUser)
        scenarios.append(
            scenario.model_copy(update={"user": SlowCustomer(inner=scenario.user, busy=busy)})
        )
    return Suite(
        name="slow-harness",
        agent=suite_of(threaded_keyword_model(), *scenarios).agent,
        scenarios=scenarios,
        snapshot=slow_snapshot,
    )


async def test_a_slow_harness_cannot_time_a_conversation_out() -> None:
    quick = await play(slow_harness_suite(0.0), concurrency=4, trials=2)
    assert all(r.error is None for r in quick) and sum(r.success for r in quick) >= 6

    async def noise(stop: asyncio.Event) -> None:  # other work on the loop, between turns
        while not stop.is_set():
            burn(0.02)
            await asyncio.sleep(0)

    stop = asyncio.Event()
    background = asyncio.create_task(noise(stop))
    try:
        # Each customer message, each snapshot and the background task take longer than the
        # whole budget; a budget counted in wall clock would fail every conversation.
        slow = await play(slow_harness_suite(0.06), concurrency=4, trials=2, timeout=0.05)
    finally:
        stop.set()
        await background
    assert [r.verdict for r in slow] == [r.verdict for r in quick]
    assert all(r.error is None for r in slow)
    assert all(sum(r.agent_cpu_ms) < 50 for r in slow)
    assert max(ms for r in slow for ms in r.latencies_ms) > max(
        ms for r in slow for ms in r.agent_cpu_ms
    )


def playbook_burning_agent(seconds: float) -> rk.Agent[Any]:
    """The demo's keyword model with a CancelOrder playbook that burns ``seconds`` of CPU on
    the event loop before asking for confirmation and again after it: a playbook runs in a
    task of its own, parked there between the two turns."""
    from resolvekit.evals.demo.model import keyword_model
    from resolvekit.evals.demo.shop import CancelOrder

    agent: rk.Agent[Any] = rk.Agent(name="burner", model=keyword_model(), store="memory://")

    @agent.playbook(CancelOrder)
    async def cancel(ctx: rk.Context[Any], intent: CancelOrder) -> rk.PlaybookOutcome:
        burn(seconds)
        await ctx.confirm(f"Shall I cancel order {intent.order_id}?")
        burn(seconds)
        return ctx.resolve(f"Order {intent.order_id} has been cancelled.")

    return agent


async def test_the_work_of_a_playbook_task_counts_for_the_turn_running_it() -> None:
    scenario = demo_scenario("cancel-pending")
    suite = Suite(
        name="t", agent=lambda override: playbook_burning_agent(0.03), scenarios=[scenario]
    )
    (record,) = await play(suite, timeout=30.0)
    burnt = [ms for ms in record.agent_cpu_ms if ms >= 25]
    assert len(burnt) == 2, record.agent_cpu_ms  # the turn starting it, the one resuming it
    assert record.agent_cpu_ms.index(burnt[0]) + 1 == record.agent_cpu_ms.index(burnt[1])
    assert "Shall I cancel" in [t.text for t in record.turns if t.role == "agent"][-2]

    (stopped,) = await play(suite, timeout=0.05)
    assert stopped.verdict == "failed" and stopped.error is not None
    assert stopped.error.startswith("timed out: the agent used ")
    assert asyncio.get_running_loop().get_task_factory() is None  # the runner's, removed
