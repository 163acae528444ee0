"""Suite metrics: resolution, deflection, escalation quality, pass^k, effort, latency, cost."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from math import comb
from typing import Any, get_args

import numpy as np
from pydantic import BaseModel, Field

from .records import ConversationRecord, Verdict

__all__ = [
    "VERDICTS",
    "Breakdown",
    "Effort",
    "Metrics",
    "PassK",
    "compute_metrics",
    "pass_hat_k",
    "pass_hat_k_curve",
]

VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
_RESOLVABLE = ("resolved", "answered")


class PassK(BaseModel):
    """pass^k with its bootstrap confidence interval."""

    k: int
    value: float
    low: float
    high: float


class Breakdown(BaseModel):
    """Verdict counts and rates for one slice (an intent or a tag)."""

    conversations: int
    verdicts: dict[str, int]
    success_rate: float
    resolution_rate: float | None
    """Resolved share of the slice's resolvable conversations (None if there are none)."""


class Effort(BaseModel):
    """What the customer had to do."""

    customer_turns_mean: float
    customer_turns_max: int
    repeated_questions: int
    """Agent questions asked twice, summed over conversations."""
    repeated_info: int
    """Information the customer had to give again, summed over conversations."""


class Metrics(BaseModel):
    """Everything measured over one agent's conversations."""

    conversations: int
    tasks: int
    trials: int
    """Trials per task (the smallest number any task has)."""
    verdicts: dict[str, int]
    success_rate: float
    """Conversations that met their expectation (= pass^1)."""
    resolution_rate: float | None
    """Resolved / conversations whose expected outcome is resolved or answered."""
    deflection_rate: float
    failure_rate: float
    escalation_precision: float | None
    """Of the conversations the agent escalated, the share where escalation was expected."""
    escalation_recall: float | None
    """Of the conversations where escalation was expected, the share the agent escalated."""
    containment: float
    """Conversations not escalated, whatever their outcome (for contrast, not a goal)."""
    pass_k: list[PassK]
    effort: Effort
    latency_ms_p50: float | None
    """Wall time of ``agent.handle`` per turn, median (ms). With several conversations at once
    it includes waiting for the others and for the harness."""
    latency_ms_p95: float | None
    latency_ms_p99: float | None = None
    agent_cpu_ms_p50: float | None = None
    """The agent's own time per turn, median (ms): the CPU time of its code on the event loop
    and in its worker threads, whatever else the process was doing."""
    agent_cpu_ms_p95: float | None = None
    agent_cpu_ms_p99: float | None = None
    usage: dict[str, float]
    by_intent: dict[str, Breakdown] = Field(default_factory=dict)
    by_tag: dict[str, Breakdown] = Field(default_factory=dict)


def pass_hat_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """pass^k as defined by τ²-bench: the mean over tasks of C(c, k) / C(n, k).

    Args:
        counts: per task, ``(successes c, trials n)``; tasks with ``n < k`` are left out.
        k: how many independent trials must all succeed.

    Raises:
        ValueError: ``k < 1`` or no task has ``k`` trials.

    Example:
        >>> pass_hat_k([(2, 3), (3, 3)], 2)  # (1/3 + 1) / 2
        0.6666666666666666
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    values = [comb(c, k) / comb(n, k) for c, n in counts if n >= k]
    if not values:
        raise ValueError(f"no task has {k} trials")
    return sum(values) / len(values)


def pass_hat_k_curve(
    counts: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    resamples: int = 1000,
    confidence: float = 0.95,
) -> list[PassK]:
    """pass^k for k = 1..min(n), each with a bootstrap interval over tasks (seeded).

    Tasks are resampled with replacement ``resamples`` times; the interval is the central
    ``confidence`` share of the resampled pass^k values.
    """
    if not counts:
        return []
    max_k = min(n for _, n in counts)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), size=(resamples, len(counts)))
    tail = (1 - confidence) / 2 * 100
    curve = []
    for k in range(1, max_k + 1):
        per_task = np.array([comb(c, k) / comb(n, k) for c, n in counts])
        boot = per_task[picks].mean(axis=1)
        curve.append(
            PassK(
                k=k,
                value=float(per_task.mean()),
                low=float(np.percentile(boot, tail)),
                high=float(np.percentile(boot, 100 - tail)),
            )
        )
    return curve


def compute_metrics(records: Sequence[ConversationRecord], *, seed: int = 0) -> Metrics:
    """Aggregate one agent's conversation records."""
    total = len(records)
    verdicts = _count(records)
    by_task: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        by_task[record.scenario].append(record.success)
    counts = [(sum(results), len(results)) for results in by_task.values()]
    escalated = [r for r in records if r.escalated]
    should = [r for r in records if r.expected == "escalated"]
    true_positive = sum(1 for r in escalated if r.expected == "escalated")
    latencies = [ms for r in records for ms in r.latencies_ms]
    cpu = [ms for r in records for ms in r.agent_cpu_ms]
    usage: dict[str, float] = defaultdict(float)
    for record in records:
        for key, value in record.usage.items():
            usage[key] += value
    turns = [r.customer_turns for r in records]
    return Metrics(
        conversations=total,
        tasks=len(by_task),
        trials=min((n for _, n in counts), default=0),
        verdicts=verdicts,
        success_rate=_rate(sum(1 for r in records if r.success), total) or 0.0,
        resolution_rate=_resolution(records),
        deflection_rate=_rate(verdicts["deflected"], total) or 0.0,
        failure_rate=_rate(verdicts["failed"], total) or 0.0,
        escalation_precision=_rate(true_positive, len(escalated)),
        escalation_recall=_rate(true_positive, len(should)),
        containment=_rate(total - len(escalated), total) or 0.0,
        pass_k=pass_hat_k_curve(counts, seed=seed),
        effort=Effort(
            customer_turns_mean=sum(turns) / total if total else 0.0,
            customer_turns_max=max(turns, default=0),
            repeated_questions=sum(r.repeated_questions for r in records),
            repeated_info=sum(r.repeated_info for r in records),
        ),
        latency_ms_p50=_percentile(latencies, 50),
        latency_ms_p95=_percentile(latencies, 95),
        latency_ms_p99=_percentile(latencies, 99),
        agent_cpu_ms_p50=_percentile(cpu, 50),
        agent_cpu_ms_p95=_percentile(cpu, 95),
        agent_cpu_ms_p99=_percentile(cpu, 99),
        usage=dict(usage),
        by_intent=_slices(records, lambda r: [r.intent]),
        by_tag=_slices(records, lambda r: r.tags),
    )


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _count(records: Iterable[ConversationRecord]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    for record in records:
        counts[record.verdict] += 1
    return counts


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _resolution(records: Sequence[ConversationRecord]) -> float | None:
    resolvable = [r for r in records if r.expected in _RESOLVABLE]
    return _rate(sum(1 for r in resolvable if r.verdict == "resolved"), len(resolvable))


def _slices(records: Sequence[ConversationRecord], keys: Any) -> dict[str, Breakdown]:
    groups: dict[str, list[ConversationRecord]] = defaultdict(list)
    for record in records:
        for key in keys(record):
            groups[key].append(record)
    return {
        key: Breakdown(
            conversations=len(group),
            verdicts=_count(group),
            success_rate=sum(1 for r in group if r.success) / len(group),
            resolution_rate=_resolution(group),
        )
        for key, group in sorted(groups.items())
    }
