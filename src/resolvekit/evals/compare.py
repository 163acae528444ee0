"""Compare two JSON reports and gate CI on regressions (``resolvekit eval compare A.json B.json``).

A metric regresses when it moves the wrong way by more than ``max_drop`` (absolute, on a 0–1
scale): resolution, success, pass^k and escalation precision/recall must not drop; deflection and
failure rates must not rise. Each intent's success rate is gated too, by ``max_intent_drop``
(default 0.10: an intent's rate rests on fewer conversations), so one intent falling 20 points
fails the gate even when the totals hold. Containment, effort, latency and cost are shown,
never gated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .metrics import Metrics
from .report import Report

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Comparison", "Delta", "compare_reports", "print_comparison"]

_GATED: tuple[tuple[str, bool], ...] = (
    ("resolution_rate", True),
    ("success_rate", True),
    ("deflection_rate", False),
    ("failure_rate", False),
    ("escalation_precision", True),
    ("escalation_recall", True),
)


_PLAIN = ("customer_turns_mean", "latency_ms_p95", "agent_cpu_ms_p95")
"""Shown metrics printed as plain numbers (not percentages)."""


@dataclass(kw_only=True, frozen=True)
class Delta:
    """How one metric moved between the baseline report and the candidate."""

    metric: str
    before: float | None
    after: float | None
    higher_is_better: bool | None
    """None for metrics shown but not gated."""
    regression: bool

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(kw_only=True)
class Comparison:
    """Every delta, and which ones are regressions."""

    deltas: list[Delta]
    max_drop: float
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.regression]

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, 1 otherwise (for CI gates)."""
        return 1 if self.regressions else 0


def _gate(name: str, before: float | None, after: float | None, up: bool, limit: float) -> Delta:
    regression = False
    if before is not None and after is not None:
        moved = (before - after) if up else (after - before)
        regression = moved > limit + 1e-12
    return Delta(
        metric=name, before=before, after=after, higher_is_better=up, regression=regression
    )


def compare_reports(
    before: Report, after: Report, *, max_drop: float = 0.02, max_intent_drop: float = 0.10
) -> Comparison:
    """Compare the agent's metrics of two reports.

    Args:
        before: the baseline (e.g. the main branch's report).
        after: the candidate.
        max_drop: the largest tolerated move in the wrong direction (0.02 = 2 points).
        max_intent_drop: the largest tolerated drop of one intent's success rate.
    """
    a: Metrics = before.agent.metrics
    b: Metrics = after.agent.metrics
    deltas = [_gate(name, getattr(a, name), getattr(b, name), up, max_drop) for name, up in _GATED]
    common = sorted({p.k for p in a.pass_k} & {p.k for p in b.pass_k})
    for k in common:
        pa = next(p.value for p in a.pass_k if p.k == k)
        pb = next(p.value for p in b.pass_k if p.k == k)
        deltas.append(_gate(f"pass^{k}", pa, pb, True, max_drop))
    shown = (
        ("containment", a.containment, b.containment),
        ("customer_turns_mean", a.effort.customer_turns_mean, b.effort.customer_turns_mean),
        ("latency_ms_p95", a.latency_ms_p95, b.latency_ms_p95),
        ("agent_cpu_ms_p95", a.agent_cpu_ms_p95, b.agent_cpu_ms_p95),
        ("cost", a.usage.get("cost", 0.0), b.usage.get("cost", 0.0)),
    )
    for name, x, y in shown:
        deltas.append(
            Delta(metric=name, before=x, after=y, higher_is_better=None, regression=False)
        )
    notes = []
    if before.suite != after.suite:
        notes.append(f"the reports are of different suites ({before.suite} vs {after.suite})")
    if a.tasks != b.tasks or a.trials != b.trials:
        notes.append(
            f"different run sizes: {a.tasks} tasks × {a.trials} trials vs "
            f"{b.tasks} tasks × {b.trials} trials"
        )
    for intent in sorted(a.by_intent.keys() & b.by_intent.keys()):
        old, new = a.by_intent[intent], b.by_intent[intent]
        name = f"success_rate[{intent}]"
        deltas.append(_gate(name, old.success_rate, new.success_rate, True, max_intent_drop))
    gone = sorted(a.by_intent.keys() - b.by_intent.keys())
    if gone:
        notes.append(f"intents with no conversations in the candidate: {', '.join(gone)}")
    return Comparison(deltas=deltas, max_drop=max_drop, notes=notes)


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    if metric in _PLAIN:
        return f"{value:.1f}"
    if metric == "cost":
        return f"{value:.4f}"
    return f"{value * 100:.1f}%"


def print_comparison(comparison: Comparison, console: Console | None = None) -> None:
    """Print the deltas, regressions in red."""
    from rich.table import Table

    console = console or _console()
    table = Table(title=f"resolvekit eval compare (max drop {comparison.max_drop:.3f})")
    for column in ("metric", "before", "after", "change", ""):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for delta in comparison.deltas:
        change = delta.change
        if change is None:
            shown = "–"
        elif delta.metric in (*_PLAIN, "cost"):
            shown = f"{change:+.4g}"
        else:
            shown = f"{change * 100:+.1f} pts"
        flag = "[red]REGRESSION[/red]" if delta.regression else ""
        table.add_row(
            delta.metric,
            _fmt(delta.before, delta.metric),
            _fmt(delta.after, delta.metric),
            shown,
            flag,
        )
    console.print(table)
    for note in comparison.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if comparison.regressions:
        names = ", ".join(d.metric for d in comparison.regressions)
        console.print(f"[red]Regression beyond {comparison.max_drop:.3f}: {names}[/red]")
    else:
        console.print("[green]No regression.[/green]")


def _console() -> Console:
    """The terminal; 120 columns when output is piped, so tables are not truncated."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)
