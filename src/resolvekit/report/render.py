"""The scorecard as terminal tables (rich), CSV, JSON or one self-contained HTML page with
inline SVG charts (no script, no CDN)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from typing import Any

from .scorecard import Rate, Scorecard

__all__ = ["to_csv", "to_html", "to_json", "to_table"]


def _pct(rate: Rate) -> str:
    return "-" if rate.rate is None else f"{rate.rate:.1%} ({rate.count})"


def _day(value: float | None) -> str:
    if value is None:
        return "…"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d")


def _title(card: Scorecard) -> str:
    if card.since is None and card.until is None:
        return "Scorecard, all conversations"
    return f"Scorecard {_day(card.since)} to {_day(card.until)} (exclusive)"


def _headline(card: Scorecard) -> list[tuple[str, str]]:
    turnaround = card.approval_turnaround_s
    return [
        ("conversations", str(card.conversations)),
        ("resolution", _pct(card.resolution)),
        ("containment (no human)", _pct(card.containment)),
        ("escalation", _pct(card.escalation)),
        ("deflection (answered from knowledge)", _pct(card.deflection)),
        ("resolved + answered (the eval's 'resolved')", _pct(card.resolved_or_answered)),
        ("unresolved (the eval's 'deflected')", _pct(card.unresolved)),
        (f"first-contact resolution ({card.reopen_days:g} d)", _pct(card.first_contact_resolution)),
        ("approval turnaround (median)", "-" if turnaround is None else f"{turnaround:.0f} s"),
        (
            "customer turns (mean / max)",
            "-"
            if card.customer_turns_mean is None
            else f"{card.customer_turns_mean:.2f} / {card.customer_turns_max}",
        ),
        ("repeated questions", str(card.repeated_questions)),
    ]


def _sections(card: Scorecard) -> list[tuple[str, dict[str, int]]]:
    return [
        ("Volume by intent", card.by_intent),
        ("Volume by channel", card.by_channel),
        ("Outcomes", card.outcomes),
        ("Escalation reasons", card.escalation_reasons),
        ("Knowledge gaps (no reliable answer)", card.knowledge_gaps),
        ("Articles cited by answers", card.articles_cited),
        *(
            []
            if card.stale_articles is None
            else [
                (
                    "Stale articles (answers citing them)",
                    {
                        f"{a.doc_id} (review by {a.review_by}, {a.days_overdue} days over)": a.cited
                        for a in card.stale_articles
                    },
                )
            ]
        ),
    ]


def to_table(card: Scorecard, file: Any = None) -> None:
    """Print the scorecard as rich tables (to ``file``, default the terminal)."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        from ..exceptions import UserError

        raise UserError(
            'terminal tables need rich: pip install "resolvekit[evals]", or use --format '
            "json, csv or html"
        ) from None

    console = Console() if file is None else Console(file=file, width=100)
    head = Table(title=_title(card))
    head.add_column("measure")
    head.add_column("value", justify="right")
    for name, value in _headline(card):
        head.add_row(name, value)
    console.print(head)
    for title, counts in _sections(card):
        table = Table(title=title)
        table.add_column("")
        table.add_column("conversations", justify="right")
        for key, count in counts.items():
            table.add_row(key, str(count))
        if not counts:
            table.add_row("(none)", "0")
        console.print(table)
    for note in card.notes:
        console.print(f"[dim]{note}[/dim]")


def to_json(card: Scorecard) -> str:
    """The scorecard as JSON (every figure, the notes included)."""
    return card.model_dump_json(indent=2)


def to_csv(card: Scorecard) -> str:
    """The scorecard as CSV rows ``section,key,count,rate``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "count", "rate"])
    writer.writerow(["total", "conversations", card.conversations, ""])
    for name in (
        "resolution",
        "containment",
        "escalation",
        "deflection",
        "resolved_or_answered",
        "unresolved",
    ):
        rate: Rate = getattr(card, name)
        writer.writerow(["rate", name, rate.count, "" if rate.rate is None else f"{rate.rate:.4f}"])
    fcr = card.first_contact_resolution
    writer.writerow(
        [
            "rate",
            "first_contact_resolution",
            fcr.count,
            "" if fcr.rate is None else f"{fcr.rate:.4f}",
        ]
    )
    for title, counts in _sections(card):
        for key, count in counts.items():
            writer.writerow([title, key, count, ""])
    return out.getvalue()


def _bars(counts: dict[str, int], label: str) -> str:
    if not counts:
        return "<p class='empty'>none</p>"
    width, row = 640, 26
    top = max(counts.values()) or 1
    parts = [
        f"<svg class='chart' role='img' aria-label='{html.escape(label)}' "
        f"width='{width}' height='{row * len(counts) + 8}' xmlns='http://www.w3.org/2000/svg'>"
    ]
    for i, (key, count) in enumerate(counts.items()):
        y = 4 + i * row
        w = max(2, int(360 * count / top))
        parts.append(
            f"<text x='0' y='{y + 16}' font-size='13'>{html.escape(key[:40])}</text>"
            f"<rect class='bar' x='240' y='{y + 3}' width='{w}' height='18' fill='#3b6ea8'>"
            f"<title>{html.escape(key)}: {count}</title></rect>"
            f"<text x='{246 + w}' y='{y + 16}' font-size='12'>{count}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def to_html(card: Scorecard) -> str:
    """One self-contained HTML page: the headline figures and a bar chart per section."""
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in _headline(card)
    )
    sections = "".join(
        f"<section><h2>{html.escape(title)}</h2>{_bars(counts, title)}</section>"
        for title, counts in _sections(card)
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in card.notes)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>resolvekit scorecard</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}"
        "table{border-collapse:collapse}th,td{padding:.25rem .75rem;text-align:left;"
        "border-bottom:1px solid #ddd}td{text-align:right}.empty{color:#888}"
        "</style></head><body>"
        f"<h1>{html.escape(_title(card))}</h1>"
        f"<table id='headline'>{rows}</table>{sections}<ul class='notes'>{notes}</ul>"
        "</body></html>"
    )
