"""The runner: scenarios × trials, concurrently, each with its own state, store and seed.

Results are appended to ``<out>/results.jsonl`` as each conversation finishes; running again
with the same output folder skips the (agent, scenario, trial) triples already there.

A conversation is bounded by what only the agent controls, so a busy machine or a busy harness
cannot fail it: its scenario's ``max_turns``, and the agent's own time (the CPU time of its
turns, see :mod:`resolvekit.evals._clock`, at most ``RunOptions.timeout`` seconds in all). A
wall-clock guard per step (``RunOptions.hang_timeout``, one agent turn or one customer reply)
catches real hangs only.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redaction import DEFAULT_REDACTOR, Redactor
from ._clock import HangGuard, TurnClock, metered_executor, timed
from ._state import merge_state, to_data
from .baselines import do_nothing_agent, replay_reference
from .errors import ScenarioError
from .records import (
    ConversationRecord,
    ToolCallRecord,
    TurnRecord,
    append_record,
    read_records,
    redact_record,
)
from .scenario import Scenario, ScenarioApprover
from .scoring import (
    Observation,
    check_state,
    classify,
    forbidden_calls,
    missing_facts,
    repeated_questions,
)
from .suite import Suite
from .users import AgentTurn, LLMUser

if TYPE_CHECKING:
    from ..agent import Agent
    from ..models import Model
    from ..results import TurnResult
    from ..sessions import Store

__all__ = ["AGENT", "DO_NOTHING", "GOLD", "RunOptions", "SuiteRun", "run_suite", "trial_seed"]

AGENT, DO_NOTHING, GOLD = "agent", "do_nothing", "gold"
RESULTS_FILE = "results.jsonl"


@dataclass(kw_only=True)
class RunOptions:
    """How to run a suite."""

    trials: int = 3
    """Conversations per scenario (pass^k is reported for k = 1..trials)."""
    concurrency: int = 8
    """Conversations in flight at once."""
    timeout: float = 60.0
    """The agent's own time one conversation may use, in seconds: the CPU time of its turns
    (its steps on the event loop and its jobs in worker threads), summed. Over it, the
    conversation stops and is scored ``failed``. Time spent waiting (for other conversations,
    the harness, a busy machine, a remote model) does not count."""
    hang_timeout: float = 300.0
    """Wall-clock seconds one step may take (an agent turn, a customer reply, a gold replay)
    before the conversation counts as hung and is scored ``failed``: a guard against real
    hangs, generous enough that waiting for other conversations never reaches it."""
    seed: int = 0
    """Seeds the simulated customers and the bootstrap; same seed, same customers."""
    model: Model | str | None = None
    """The model given to the suite's agent factory (None: the suite's default)."""
    user_model: Model | str | None = None
    """The default model of LLM-driven customers."""
    baselines: bool = True
    """Also run the ``do_nothing`` and ``gold`` baselines."""
    out_dir: Path | None = None
    """Where ``results.jsonl`` is kept (None: in memory only, nothing resumable)."""
    progress: bool | None = None
    """Show a progress bar; None: only when stderr is a terminal."""
    store: str | None = None
    """Also keep the agent's conversations (not the baselines') in this store, e.g.
    ``sqlite:///eval.db``, closed when the simulated customer leaves: ``resolvekit report``
    reads them back."""
    redactor: Redactor | None = DEFAULT_REDACTOR
    """The policy applied to each conversation record (transcript, tool calls, diff, reasons,
    errors) once it is scored, before it is kept or written to ``results.jsonl``; the (agent,
    scenario, trial) key, the seed, labels and numbers are kept, so resuming works. Scoring
    sees the raw conversation. None: keep and write raw records."""

    def __post_init__(self) -> None:
        from ..exceptions import UserError

        if self.trials < 1 or self.concurrency < 1 or self.timeout <= 0 or self.hang_timeout <= 0:
            raise UserError(
                "trials and concurrency must be at least 1, timeout and hang_timeout positive"
            )


@dataclass(kw_only=True)
class SuiteRun:
    """The records of one run, by agent label (``agent``, ``do_nothing``, ``gold``)."""

    suite: Suite
    options: RunOptions
    records: dict[str, list[ConversationRecord]]
    model_name: str
    elapsed_s: float
    ran: int = 0
    """Conversations played in this run (the rest were read back from the results file)."""
    redactor: Redactor | None = DEFAULT_REDACTOR
    """The policy the records went through (``options.redactor``); pass it on to
    :func:`~resolvekit.evals.report.write_json` and the other report writers."""

    def __repr__(self) -> str:
        # Short on purpose: the records and the suite's state can be megabytes, and asyncio
        # formats the result of the main task when asyncio.run() ends.
        counts = ", ".join(f"{label}={len(records)}" for label, records in self.records.items())
        return f"SuiteRun(suite={self.suite.name!r}, {counts}, elapsed_s={self.elapsed_s:.1f})"


def trial_seed(seed: int, scenario_id: str, trial: int) -> int:
    """The seed of one trial: stable across runs and processes, distinct per trial."""
    digest = hashlib.sha256(f"{seed}:{scenario_id}:{trial}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


async def run_suite(suite: Suite, options: RunOptions | None = None) -> SuiteRun:
    """Play every scenario ``options.trials`` times against the agent (and the baselines).

    Raises:
        ScenarioError: a scenario is inconsistent with the agent (an unknown reference tool).
    """
    options = options or RunOptions()
    started = time.perf_counter()
    runner = _Runner(suite, options)
    ran = await runner.run()
    return SuiteRun(
        suite=suite,
        options=options,
        records=runner.collect(),
        model_name=runner.model_name,
        elapsed_s=time.perf_counter() - started,
        ran=ran,
        redactor=options.redactor,
    )


@dataclass(kw_only=True)
class _Conversation:
    """What one played conversation produced (kept outside the timeout's scope)."""

    turns: list[TurnRecord] = field(default_factory=list)
    calls: list[ToolCallRecord] = field(default_factory=list)
    escalated: bool = False
    handoff_reason: str | None = None
    final_outcome: str | None = None
    intent: str | None = None
    stop_reason: str = ""
    repeated_info: int = 0
    usage: dict[str, float] = field(default_factory=dict)
    agent_cpu_s: float = 0.0
    """The agent's own time so far (CPU seconds of its turns)."""


class _Stopped(Exception):
    """The conversation was stopped by one of its bounds; the message says which."""


class _Runner:
    def __init__(self, suite: Suite, options: RunOptions) -> None:
        self.suite = suite
        self.options = options
        self.model: Model | None = None
        self.model_name = "suite default"
        if options.model is not None:
            from ..models import infer_model

            self.model = infer_model(options.model)
            self.model_name = options.model if isinstance(options.model, str) else self.model.name
        self.user_model: Model | None = None
        if options.user_model is not None:
            from ..models import infer_model

            self.user_model = infer_model(options.user_model)
        self.labels = [AGENT, DO_NOTHING, GOLD] if options.baselines else [AGENT]
        self.path = options.out_dir / RESULTS_FILE if options.out_dir is not None else None
        self.records: dict[tuple[str, str, int], ConversationRecord] = {}
        self._expected: dict[str, tuple[Any, Any]] = {}
        self._tool_agent: Agent[Any] | None = None
        self._kept: Store | None = None
        """The store of ``options.store``, shared by the agent's conversations."""
        self._redacted: dict[str, str] = {}
        """Each string redacted so far, with its redaction (records repeat them)."""

    # -- scheduling --------------------------------------------------------------------------

    async def run(self) -> int:
        if self.path is not None:
            for record in read_records(self.path, repair=True):
                self.records[record.key] = redact_record(record, self.options.redactor)
        jobs = [
            (label, scenario, trial)
            for label in self.labels
            for scenario in self.suite.scenarios
            if label != GOLD or scenario.reference_actions is not None
            for trial in range(self.options.trials)
            if (label, scenario.id, trial) not in self.records
        ]
        for scenario in self.suite.scenarios:  # fail fast on inconsistent scenarios
            user = scenario.user
            if isinstance(user, LLMUser) and user.model is None and self.user_model is None:
                raise ScenarioError(
                    f"Scenario {scenario.id!r} has an LLMUser without a model: set its "
                    f"`model` or give a user model (--user-model)"
                )
            await self._expectation(scenario)
        limit = asyncio.Semaphore(self.options.concurrency)
        if self.options.store is not None:
            from ..sessions import open_store

            self._kept = open_store(self.options.store)
        with (
            metered_executor(),
            _progress(len(jobs), self.options.progress, self.suite.name) as advance,
        ):

            async def one(label: str, scenario: Scenario, trial: int) -> None:
                async with limit:
                    record = await self._play(label, scenario, trial)
                record = redact_record(record, self.options.redactor, memo=self._redacted)
                self.records[record.key] = record
                if self.path is not None:
                    append_record(self.path, record)
                advance()

            try:
                await asyncio.gather(*(one(*job) for job in jobs))
            finally:
                if self._kept is not None:
                    await self._kept.close()
        return len(jobs)

    def collect(self) -> dict[str, list[ConversationRecord]]:
        order = {s.id: i for i, s in enumerate(self.suite.scenarios)}
        result: dict[str, list[ConversationRecord]] = {}
        for label in self.labels:
            chosen = [
                r
                for r in self.records.values()
                if r.agent == label and r.scenario in order and r.trial < self.options.trials
            ]
            result[label] = sorted(chosen, key=lambda r: (order[r.scenario], r.trial))
        return result

    # -- one conversation --------------------------------------------------------------------

    def _agent(self, label: str) -> Agent[Any]:
        if label == DO_NOTHING:
            return do_nothing_agent()
        agent = self.suite.agent(self.model)
        # The runner reads every handoff from TurnResult; an agent without targets is expected.
        agent._warn_no_target = False
        if label == AGENT and self._kept is not None:
            agent.__dict__["store"] = _Kept(self._kept)  # the cached_property, replaced
        return agent

    async def _expectation(self, scenario: Scenario) -> tuple[Any, Any]:
        """``(initial snapshot, full expected end state or None)`` for a scenario."""
        cached = self._expected.get(scenario.id)
        if cached is not None:
            return cached
        initial = self._snapshot(self.suite.deps(scenario.fresh_state()))
        expected: Any
        if scenario.expect.state is not None:
            expected = merge_state(initial, scenario.expect.state)
        elif scenario.reference_actions is not None:
            deps = self.suite.deps(scenario.fresh_state())
            if self._tool_agent is None:
                self._tool_agent = self.suite.agent(self.model)
            calls = await replay_reference(self._tool_agent, scenario, deps, self.suite.replay)
            failed = [c for c in calls if c.status != "done"]
            if failed:
                raise ScenarioError(
                    f"Scenario {scenario.id!r}: reference action {failed[0].tool!r} failed: "
                    f"{failed[0].error}"
                )
            expected = self._snapshot(deps)
        elif scenario.expect.check is not None:
            expected = None
        else:
            expected = initial
        self._expected[scenario.id] = (initial, expected)
        return initial, expected

    def _snapshot(self, deps: Any) -> Any:
        data = self.suite.snapshot(deps)
        return data if self.suite.plain_snapshots else to_data(data)

    async def _play(self, label: str, scenario: Scenario, trial: int) -> ConversationRecord:
        seed = trial_seed(self.options.seed, scenario.id, trial)
        initial, expected = await self._expectation(scenario)
        state = scenario.fresh_state()
        deps = self.suite.deps(state)
        seen = _Conversation()
        started = time.perf_counter()
        error: str | None = None
        guard = HangGuard(self.options.hang_timeout)
        try:
            if label == GOLD:
                await self._replay(scenario, deps, seen, guard)
            else:
                await self._converse(label, scenario, deps, seed, seen, guard)
        except _Stopped as exc:
            error = str(exc)
        except asyncio.CancelledError as exc:
            if not guard.owns(exc):
                raise
            error = (
                f"hung: {guard.fired} did not answer within {guard.limit:g}s "
                f"(wall clock, hang_timeout)"
            )
        except Exception as exc:  # one broken conversation must not stop the suite
            error = f"{type(exc).__name__}: {exc}"
        finally:
            guard.close()
        final = self._snapshot(deps)
        return self._score(
            label,
            scenario,
            trial,
            seed,
            initial,
            expected,
            final,
            seen,
            error,
            time.perf_counter() - started,
        )

    async def _replay(
        self, scenario: Scenario, deps: Any, seen: _Conversation, guard: HangGuard
    ) -> None:
        # With the suite's own replay function no agent is needed (building one costs time).
        agent = self.suite.agent(self.model) if self.suite.replay is None else None
        guard.begin("the gold replay")
        seen.calls = await replay_reference(agent, scenario, deps, self.suite.replay)
        guard.end()
        seen.escalated = scenario.expect.outcome == "escalated"
        seen.stop_reason = "gold replay"
        seen.intent = scenario.intent
        failed = [c for c in seen.calls if c.status != "done"]
        if failed:
            raise ScenarioError(f"reference action {failed[0].tool!r} failed: {failed[0].error}")

    async def _converse(
        self,
        label: str,
        scenario: Scenario,
        deps: Any,
        seed: int,
        seen: _Conversation,
        guard: HangGuard,
    ) -> None:
        agent = self._agent(label)
        session = scenario.user.start(seed=seed, model=self.user_model)
        customer = scenario.customer_id or f"eval:{scenario.id}:{seed}:{uuid.uuid4().hex[:8]}"
        budget = self.options.timeout
        customer_turns = waited = 0
        try:
            guard.begin("the customer")
            text = await session.opening()
            guard.end()
            while True:
                seen.turns.append(TurnRecord(role="customer", text=text))
                customer_turns += 1
                clock = TurnClock()
                guard.begin("the agent")
                began = time.perf_counter()
                turn = agent.handle(customer, text, channel=scenario.channel, deps=deps)
                result = await timed(turn, clock)
                ms = (time.perf_counter() - began) * 1000
                guard.end()
                cpu = clock.cpu
                seen.agent_cpu_s += cpu
                seen.turns.append(
                    TurnRecord(
                        role="agent",
                        text=result.reply,
                        outcome=result.outcome,
                        ms=ms,
                        cpu_ms=cpu * 1000,
                    )
                )
                if seen.agent_cpu_s > budget:
                    raise _Stopped(
                        f"timed out: the agent used {seen.agent_cpu_s:.3g}s of its own time "
                        f"(CPU), over the {budget:g}s budget (timeout)"
                    )
                if result.pending == "approval" and scenario.approver is not None:
                    waited += 1
                    if waited > scenario.approver.after_turns:
                        seen.calls.extend(_tool_calls(result.trace))
                        result = await _decide(agent, customer, scenario.approver, deps, seen)
                seen.final_outcome = result.outcome
                seen.intent = seen.intent or result.intent
                seen.calls.extend(_tool_calls(result.trace))
                for key, value in result.usage.to_json().items():
                    seen.usage[key] = seen.usage.get(key, 0.0) + value
                if result.outcome == "escalated" or result.handoff is not None:
                    seen.escalated = True
                    seen.handoff_reason = result.handoff.reason if result.handoff else None
                    seen.stop_reason = "escalated"
                    return
                if customer_turns >= scenario.max_turns:
                    seen.stop_reason = f"max turns ({scenario.max_turns}) reached"
                    return
                reply = AgentTurn(text=result.reply, outcome=result.outcome, pending=result.pending)
                guard.begin("the customer")
                move = await session.respond(reply)
                guard.end()
                if move.text is None:
                    seen.stop_reason = move.reason or "customer ended"
                    return
                text = move.text
        finally:
            seen.repeated_info = session.repeated_info
            for key, value in session.usage.to_json().items():
                seen.usage[f"user_{key}"] = seen.usage.get(f"user_{key}", 0.0) + value
            if isinstance(agent.__dict__.get("store"), _Kept):
                await _close_kept(agent.store, customer)
            await agent.close()  # its store, and any playbook still parked awaiting a reply

    def _score(
        self,
        label: str,
        scenario: Scenario,
        trial: int,
        seed: int,
        initial: Any,
        expected: Any,
        final: Any,
        seen: _Conversation,
        error: str | None,
        duration: float,
    ) -> ConversationRecord:
        expect = scenario.expect
        state = check_state(expect, initial, final, expected)
        agent_texts = [t.text for t in seen.turns if t.role == "agent"]
        facts = [] if label == GOLD else missing_facts(expect.facts, agent_texts)
        forbidden = forbidden_calls(expect.forbidden, seen.calls)
        changed = final != initial
        verdict, reason = classify(
            Observation(
                expected=expect.outcome,
                escalated=seen.escalated,
                changed=changed,
                state_ok=state.ok,
                facts_missing=facts,
                forbidden_called=forbidden,
                error=error,
            )
        )
        return ConversationRecord(
            agent=label,
            scenario=scenario.id,
            trial=trial,
            seed=seed,
            tags=list(scenario.tags),
            intent=scenario.intent or seen.intent or "(none)",
            expected=expect.outcome,
            verdict=verdict,
            reason=reason,
            turns=seen.turns,
            tool_calls=seen.calls,
            escalated=seen.escalated,
            handoff_reason=seen.handoff_reason,
            final_outcome=seen.final_outcome,
            stop_reason=seen.stop_reason or (error or ""),
            changed=changed,
            state_ok=state.ok,
            diff=state.diff,
            check_message=state.message,
            facts_missing=facts,
            forbidden_called=forbidden,
            customer_turns=sum(1 for t in seen.turns if t.role == "customer"),
            repeated_questions=repeated_questions(seen.turns),
            repeated_info=seen.repeated_info,
            latencies_ms=[t.ms for t in seen.turns if t.ms is not None],
            agent_cpu_ms=[t.cpu_ms for t in seen.turns if t.cpu_ms is not None],
            usage=seen.usage,
            error=error,
            duration_s=duration,
        )


async def _decide(
    agent: Agent[Any], customer: str, approver: ScenarioApprover, deps: Any, seen: _Conversation
) -> TurnResult:
    """The scenario's approver decides the customer's pending approval; what the customer is
    told is the agent's next turn."""
    [pending, *_] = await agent.approvals(customer_id=customer)
    decided = await agent.decide(
        pending.id,
        approve=approver.approve,
        approver=approver.name,
        role=approver.role,
        note=approver.note,
        deps=deps,
    )
    result = decided.result
    seen.turns.append(TurnRecord(role="agent", text=result.reply, outcome=result.outcome))
    return result


def _tool_calls(trace: list[Any]) -> list[ToolCallRecord]:
    calls = []
    for event in trace:
        if event.kind != "tool":
            continue
        data = event.data
        status = data.get("status") or "error"
        error = None
        if status != "done":
            error = {k: data[k] for k in ("kind", "message") if k in data}
        calls.append(
            ToolCallRecord(
                tool=str(data.get("tool", "?")),
                args=dict(data.get("args") or {}),
                status=status,
                result=data.get("result"),
                error=error,
            )
        )
    return calls


class _progress:
    """A rich progress bar when wanted and possible; otherwise a no-op."""

    def __init__(self, total: int, enabled: bool | None, name: str) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.total = total
        self.enabled = enabled and total > 0
        self.name = name
        self._bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(stderr=True), transient=True)
        self._bar.start()
        task = self._bar.add_task(f"eval {self.name}", total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class _Kept:
    """The shared store of ``RunOptions.store`` as one conversation's agent sees it: closing
    the agent leaves it open for the others."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def close(self) -> None:
        return None


async def _close_kept(store: Any, customer: str) -> None:
    """The simulated customer left: close their conversation unless a human has it."""
    async with store.lock(customer):
        conversation = await store.open_conversation(customer)
        if conversation is not None and conversation.status == "open":
            conversation.status = "closed"
            await store.save(conversation)
