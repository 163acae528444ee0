"""The self-contained HTML report: inline CSS and SVG, no scripts, no external assets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from .metrics import VERDICTS, Metrics
from .records import ConversationRecord
from .report_data import Report

__all__ = ["COLOURS", "render_html"]

COLOURS = {
    "resolved": "#2e7d32",
    "escalated_correctly": "#1565c0",
    "refused_correctly": "#6a1b9a",
    "deflected": "#f9a825",
    "escalated_wrongly": "#ef6c00",
    "failed": "#c62828",
}
_LINE_COLOURS = {"agent": "#1565c0", "do_nothing": "#9e9e9e", "gold": "#f9a825"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#212121;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#666}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.chart{border:1px solid #eee;padding:.5rem}
.chart h3{margin:.2rem 0 .4rem;font-size:1rem}
details{border:1px solid #eee;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer;font-weight:600}.verdict{color:#fff;border-radius:3px;padding:0 .35rem}
.turn{margin:.2rem 0;padding:.3rem .5rem;border-radius:4px;white-space:pre-wrap}
.customer{background:#e3f2fd}.agent{background:#f5f5f5}.small{color:#666;font-size:12px}
code{font-size:12px}
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    metrics = {label: agent.metrics for label, agent in report.agents.items()}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>resolvekit eval · {escape(report.suite)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>resolvekit eval · {escape(report.suite)}</h1>",
        f"<p class='meta'>{escape(report.description)}<br>model <b>{escape(report.model)}</b> · "
        f"{report.trials} trial(s) per scenario · seed {report.seed} · "
        f"{report.elapsed_s:.2f}s · {escape(report.created)}</p>",
        "<div class='charts'>",
        _chart("Outcome mix", "chart-outcomes", outcome_chart(metrics)),
        _chart("pass^k (95% bootstrap CI)", "chart-passk", pass_k_chart(metrics)),
        _chart("Agent by intent", "chart-intents", intent_chart(report.agent.metrics)),
        "</div>",
        "<h2>Scorecard</h2>",
        _scorecard(metrics),
        "<h2>Agent by intent</h2>",
        _breakdown(report.agent.metrics.by_intent, "intent"),
        "<h2>Agent by tag</h2>",
        _breakdown(report.agent.metrics.by_tag, "tag"),
        f"<h2>Conversations that missed their goal ({len(report.failures)})</h2>",
        *(_failure(record) for record in report.failures),
        "</body></html>",
    ]
    return "\n".join(parts)


def _chart(title: str, chart_id: str, svg: str) -> str:
    return f"<div class='chart' id='{chart_id}'><h3>{escape(title)}</h3>{svg}</div>"


def _legend(x: float, y: float) -> str:
    items = []
    for index, verdict in enumerate(VERDICTS):
        col, row = index % 3, index // 3
        left, top = x + col * 150, y + row * 18
        items.append(
            f"<rect x='{left}' y='{top}' width='10' height='10' fill='{COLOURS[verdict]}'/>"
            f"<text x='{left + 14}' y='{top + 9}' font-size='11'>{verdict}</text>"
        )
    return "".join(items)


def _stacked_bars(rows: list[tuple[str, Mapping[str, int]]], width: int = 460) -> str:
    """Horizontal stacked bars (one per row) of verdict shares, with a legend."""
    label_w, bar_w, bar_h, gap = 110, width - 130, 20, 8
    height = len(rows) * (bar_h + gap) + 50
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img'>"]
    for index, (label, counts) in enumerate(rows):
        y = index * (bar_h + gap) + 4
        total = sum(counts.values()) or 1
        out.append(f"<text x='0' y='{y + 14}' font-size='12'>{escape(label[:16])}</text>")
        x = float(label_w)
        for verdict in VERDICTS:
            share = counts.get(verdict, 0) / total
            if share <= 0:
                continue
            w = share * bar_w
            out.append(
                f"<rect class='bar' data-verdict='{verdict}' x='{x:.1f}' y='{y}' width='{w:.1f}' "
                f"height='{bar_h}' fill='{COLOURS[verdict]}'><title>{escape(label)}: "
                f"{verdict} {counts.get(verdict, 0)}/{total}</title></rect>"
            )
            if w > 28:
                out.append(
                    f"<text x='{x + w / 2:.1f}' y='{y + 14}' font-size='11' fill='#fff' "
                    f"text-anchor='middle'>{share * 100:.0f}%</text>"
                )
            x += w
    out.append(_legend(0, len(rows) * (bar_h + gap) + 8))
    out.append("</svg>")
    return "".join(out)


def outcome_chart(metrics: Mapping[str, Metrics]) -> str:
    """Stacked bars of the verdict mix, one per agent."""
    return _stacked_bars([(label, m.verdicts) for label, m in metrics.items()])


def intent_chart(metrics: Metrics) -> str:
    """Stacked bars of the agent's verdict mix per intent."""
    rows: list[tuple[str, Mapping[str, int]]] = [
        (intent, part.verdicts) for intent, part in metrics.by_intent.items()
    ]
    return _stacked_bars(rows or [("(no data)", {})])


def pass_k_chart(metrics: Mapping[str, Metrics], width: int = 360, height: int = 240) -> str:
    """pass^k against k for each agent, with the bootstrap interval as a band."""
    left, right, top, bottom = 40, 90, 10, 30
    max_k = max((len(m.pass_k) for m in metrics.values()), default=1) or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(k: int) -> float:
        return left + (plot_w * (k - 1) / (max_k - 1) if max_k > 1 else plot_w / 2)

    def py(value: float) -> float:
        return top + plot_h * (1 - value)

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img'>"]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = py(tick)
        out.append(
            f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='10' text-anchor='end'>"
            f"{tick * 100:.0f}%</text>"
        )
    for k in range(1, max_k + 1):
        out.append(
            f"<text x='{px(k):.1f}' y='{height - 12}' font-size='10' text-anchor='middle'>"
            f"k={k}</text>"
        )
    for index, (label, m) in enumerate(metrics.items()):
        if not m.pass_k:
            continue
        colour = _LINE_COLOURS.get(label, "#455a64")
        upper = [f"{px(p.k):.1f},{py(p.high):.1f}" for p in m.pass_k]
        lower = [f"{px(p.k):.1f},{py(p.low):.1f}" for p in reversed(m.pass_k)]
        out.append(
            f"<polygon class='ci' points='{' '.join(upper + lower)}' fill='{colour}' "
            f"fill-opacity='0.15' stroke='none'/>"
        )
        points = " ".join(f"{px(p.k):.1f},{py(p.value):.1f}" for p in m.pass_k)
        out.append(
            f"<polyline class='passk' data-agent='{escape(label)}' points='{points}' "
            f"fill='none' stroke='{colour}' stroke-width='2'/>"
        )
        for p in m.pass_k:
            out.append(
                f"<circle cx='{px(p.k):.1f}' cy='{py(p.value):.1f}' r='3' fill='{colour}'>"
                f"<title>{escape(label)} pass^{p.k} = {p.value * 100:.1f}% "
                f"[{p.low * 100:.1f}–{p.high * 100:.1f}]</title></circle>"
            )
        ly = top + 14 + index * 16
        out.append(
            f"<line x1='{width - right + 8}' x2='{width - right + 24}' y1='{ly - 4}' "
            f"y2='{ly - 4}' stroke='{colour}' stroke-width='2'/>"
            f"<text x='{width - right + 28}' y='{ly}' font-size='11'>{escape(label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _table(head: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = ["<table><tr>", *(f"<th>{escape(str(h))}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _scorecard(metrics: Mapping[str, Metrics]) -> str:
    ms = list(metrics.values())
    rows: list[list[Any]] = [
        ["conversations", *(m.conversations for m in ms)],
        ["resolution rate", *(_pct(m.resolution_rate) for m in ms)],
        ["success (pass^1)", *(_pct(m.success_rate) for m in ms)],
        ["deflection rate", *(_pct(m.deflection_rate) for m in ms)],
        ["failure rate", *(_pct(m.failure_rate) for m in ms)],
        ["escalation precision", *(_pct(m.escalation_precision) for m in ms)],
        ["escalation recall", *(_pct(m.escalation_recall) for m in ms)],
        ["containment", *(_pct(m.containment) for m in ms)],
        *(
            [f"pass^{k}", *(_pct(m.pass_k[k - 1].value) if len(m.pass_k) >= k else "–" for m in ms)]
            for k in range(1, max((len(m.pass_k) for m in ms), default=0) + 1)
        ),
        ["customer turns (mean)", *(f"{m.effort.customer_turns_mean:.1f}" for m in ms)],
        ["questions asked twice", *(m.effort.repeated_questions for m in ms)],
        ["info repeated", *(m.effort.repeated_info for m in ms)],
        ["agent CPU per turn p50 ms", *(_ms(m.agent_cpu_ms_p50) for m in ms)],
        ["agent CPU per turn p95 ms", *(_ms(m.agent_cpu_ms_p95) for m in ms)],
        ["agent CPU per turn p99 ms", *(_ms(m.agent_cpu_ms_p99) for m in ms)],
        ["turn wall time p50 ms", *(_ms(m.latency_ms_p50) for m in ms)],
        ["turn wall time p95 ms", *(_ms(m.latency_ms_p95) for m in ms)],
        ["turn wall time p99 ms", *(_ms(m.latency_ms_p99) for m in ms)],
        ["cost", *(f"{m.usage.get('cost', 0.0):.4f}" for m in ms)],
    ]
    return _table(["metric", *metrics], rows)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _breakdown(parts: Mapping[str, Any], name: str) -> str:
    rows = [
        [
            key,
            p.conversations,
            _pct(p.resolution_rate),
            _pct(p.success_rate),
            *(p.verdicts.get(v, 0) for v in VERDICTS),
        ]
        for key, p in parts.items()
    ]
    return _table([name, "n", "resolution", "success", *VERDICTS], rows)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _failure(record: ConversationRecord) -> str:
    colour = COLOURS.get(record.verdict, "#555")
    out = [
        f"<details class='failure' data-scenario='{escape(record.scenario)}'><summary>"
        f"<span class='verdict' style='background:{colour}'>{record.verdict}</span> "
        f"{escape(record.scenario)} #{record.trial} — {escape(record.reason)}</summary>",
        f"<p class='small'>intent {escape(record.intent)} · expected {record.expected} · "
        f"stopped: {escape(record.stop_reason)}"
        + (f" · handoff: {escape(record.handoff_reason)}" if record.handoff_reason else "")
        + "</p>",
        "<h4>Transcript</h4>",
    ]
    for turn in record.turns:
        meta = ""
        if turn.ms:
            cpu = f", agent CPU {turn.cpu_ms:.1f} ms" if turn.cpu_ms is not None else ""
            meta = f" <span class='small'>[{turn.outcome}, {turn.ms:.1f} ms wall{cpu}]</span>"
        out.append(
            f"<div class='turn {turn.role}'><b>{turn.role}:</b> {escape(turn.text)}{meta}</div>"
        )
    if record.tool_calls:
        out.append("<h4>Tool calls</h4>")
        out.append(
            _table(
                ["tool", "args", "status", "result / error"],
                (
                    [c.tool, _json(c.args), c.status, _json(c.error if c.error else c.result)]
                    for c in record.tool_calls
                ),
            )
        )
    if record.diff:
        out.append("<h4>End state vs expected</h4>")
        out.append(
            _table(
                ["path", "expected", "actual", "kind"],
                (
                    [d.path or "(root)", _json(d.expected), _json(d.actual), d.kind]
                    for d in record.diff
                ),
            )
        )
    notes = []
    if record.check_message:
        notes.append(f"check: {record.check_message}")
    if record.facts_missing:
        notes.append("facts not said: " + ", ".join(record.facts_missing))
    if record.forbidden_called:
        notes.append("forbidden calls: " + ", ".join(record.forbidden_called))
    if record.error:
        notes.append(f"error: {record.error}")
    if notes:
        out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    out.append("</details>")
    return "\n".join(out)
