"""Reports: a JSON document (what ``compare`` reads), a terminal scorecard and an HTML page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..redaction import DEFAULT_REDACTOR, Redactor
from .errors import ReportError
from .metrics import VERDICTS, Metrics, compute_metrics
from .records import redact_record
from .report_data import REPORT_VERSION, AgentReport, ConversationSummary, Report

if TYPE_CHECKING:
    from rich.console import Console

    from .runner import SuiteRun

__all__ = [
    "REPORT_VERSION",
    "AgentReport",
    "ConversationSummary",
    "Report",
    "build_report",
    "load_report",
    "print_scorecard",
    "redact_report",
    "write_html",
    "write_json",
]

_SHORT = {
    "resolved": "res",
    "escalated_correctly": "esc ok",
    "refused_correctly": "ref ok",
    "deflected": "defl",
    "escalated_wrongly": "esc bad",
    "failed": "fail",
}


def build_report(run: SuiteRun) -> Report:
    """Aggregate a run into a :class:`Report`."""
    agents = {
        label: AgentReport(
            label=label,
            metrics=compute_metrics(records, seed=run.options.seed),
            conversations=[
                ConversationSummary(
                    scenario=r.scenario,
                    trial=r.trial,
                    intent=r.intent,
                    verdict=r.verdict,
                    reason=r.reason,
                )
                for r in records
            ],
        )
        for label, records in run.records.items()
        # A baseline with nothing to run (gold, when no scenario has reference actions) is left
        # out rather than shown as 0%.
        if records or label == "agent"
    }
    return Report(
        suite=run.suite.name,
        description=run.suite.description,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        model=run.model_name,
        trials=run.options.trials,
        seed=run.options.seed,
        elapsed_s=round(run.elapsed_s, 3),
        agents=agents,
        failures=[r for r in run.records.get("agent", []) if not r.success],
    )


def redact_report(report: Report, redactor: Redactor | None = DEFAULT_REDACTOR) -> Report:
    """A copy of ``report`` with its texts redacted (``redactor=None``: ``report`` itself).

    Redacted: the suite description, each conversation's verdict reason and the failures'
    records (see :func:`~resolvekit.evals.records.redact_record`); names, ids and metrics are
    kept.
    """
    if redactor is None:
        return report
    agents = {
        label: agent.model_copy(
            update={
                "conversations": [
                    c.model_copy(update={"reason": redactor.redact_text(c.reason)})
                    for c in agent.conversations
                ]
            }
        )
        for label, agent in report.agents.items()
    }
    return report.model_copy(
        update={
            "description": redactor.redact_text(report.description),
            "agents": agents,
            "failures": [redact_record(r, redactor) for r in report.failures],
        }
    )


def write_json(
    report: Report, path: str | Path, *, redactor: Redactor | None = DEFAULT_REDACTOR
) -> Path:
    """Write the report as JSON, redacted by ``redactor`` (None: raw); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact_report(report, redactor).model_dump_json(indent=2), encoding="utf-8")
    return path


def load_report(path: str | Path) -> Report:
    """Read a JSON report.

    Raises:
        ReportError: the file is missing or is not a resolvekit eval report.
    """
    path = Path(path)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"No report at {path}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path} is not a JSON report: {exc}") from exc
    try:
        report = Report.model_validate(data)
    except ValidationError as exc:
        raise ReportError(f"{path} is not a resolvekit eval report:\n{exc}") from exc
    if "agent" not in report.agents:
        raise ReportError(f"{path} has no results for the agent")
    return report


def write_html(
    report: Report, path: str | Path, *, redactor: Redactor | None = DEFAULT_REDACTOR
) -> Path:
    """Write the self-contained HTML report, redacted by ``redactor`` (None: raw); returns the
    path."""
    from ._html import render_html

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(redact_report(report, redactor)), encoding="utf-8")
    return path


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def print_scorecard(
    report: Report,
    console: Console | None = None,
    *,
    redactor: Redactor | None = DEFAULT_REDACTOR,
) -> None:
    """Print the scorecard: one column per agent, then the agent's per-intent breakdown and
    the failed conversations (their reasons redacted by ``redactor``; None: raw)."""
    from rich.markup import escape
    from rich.table import Table

    report = redact_report(report, redactor)
    console = console or _console()
    labels = list(report.agents)
    table = Table(
        title=f"resolvekit eval · {report.suite} · model {report.model} · "
        f"{report.trials} trial(s) · {report.elapsed_s:.2f}s"
    )
    table.add_column("metric")
    for label in labels:
        table.add_column(label, justify="right")
    metrics = [report.agents[label].metrics for label in labels]
    rows: list[tuple[str, list[str]]] = [
        ("conversations", [str(m.conversations) for m in metrics]),
        ("resolution rate", [_pct(m.resolution_rate) for m in metrics]),
        ("success (pass^1)", [_pct(m.success_rate) for m in metrics]),
        ("deflection rate", [_pct(m.deflection_rate) for m in metrics]),
        ("failure rate", [_pct(m.failure_rate) for m in metrics]),
        ("escalation precision", [_pct(m.escalation_precision) for m in metrics]),
        ("escalation recall", [_pct(m.escalation_recall) for m in metrics]),
        ("containment", [_pct(m.containment) for m in metrics]),
    ]
    for k in range(1, max((len(m.pass_k) for m in metrics), default=0) + 1):
        rows.append(
            (
                f"pass^{k} [95% CI]",
                [
                    f"{_pct(p.value)} [{p.low * 100:.0f}–{p.high * 100:.0f}]"
                    if (p := next((p for p in m.pass_k if p.k == k), None)) is not None
                    else "–"
                    for m in metrics
                ],
            )
        )
    for verdict in VERDICTS:
        rows.append((f"  {verdict}", [str(m.verdicts.get(verdict, 0)) for m in metrics]))
    rows += [
        ("customer turns (mean)", [f"{m.effort.customer_turns_mean:.1f}" for m in metrics]),
        ("questions asked twice", [str(m.effort.repeated_questions) for m in metrics]),
        ("info repeated", [str(m.effort.repeated_info) for m in metrics]),
        ("agent CPU/turn p50/95/99 ms", [_cpu(m) for m in metrics]),
        ("turn wall p50/95/99 ms", [_latency(m) for m in metrics]),
        ("tokens", [_tokens(m) for m in metrics]),
        ("cost", [f"{m.usage.get('cost', 0.0):.4f}" for m in metrics]),
    ]
    for name, values in rows:
        table.add_row(name, *values)
    console.print(table)
    intents = Table(title="agent by intent")
    for column in ("intent", "n", "resolution", "success", *_SHORT.values()):
        intents.add_column(column, justify="left" if column == "intent" else "right")
    for intent, part in report.agent.metrics.by_intent.items():
        intents.add_row(
            intent,
            str(part.conversations),
            _pct(part.resolution_rate),
            _pct(part.success_rate),
            *(str(part.verdicts.get(v, 0)) for v in VERDICTS),
        )
    console.print(intents)
    for record in report.failures:
        console.print(
            f"[red]✗[/red] {escape(record.scenario)} #{record.trial}: {record.verdict} — "
            f"{escape(record.reason)}"
        )


def _latency(metrics: Metrics) -> str:
    return _ms3(metrics.latency_ms_p50, metrics.latency_ms_p95, metrics.latency_ms_p99)


def _cpu(metrics: Metrics) -> str:
    return _ms3(metrics.agent_cpu_ms_p50, metrics.agent_cpu_ms_p95, metrics.agent_cpu_ms_p99)


def _ms3(*values: float | None) -> str:
    if any(v is None for v in values):
        return "–"
    return " / ".join(f"{v:.1f}" for v in values if v is not None)


def _tokens(metrics: Metrics) -> str:
    total = metrics.usage.get("prompt_tokens", 0.0) + metrics.usage.get("completion_tokens", 0.0)
    return f"{total:.0f}"


def _console() -> Console:
    """The terminal; 120 columns when output is piped, so tables are not truncated."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)
