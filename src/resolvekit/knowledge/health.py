"""Content health: knowledge gaps (questions the index could not answer) and stale content.

Gaps are appended as JSON lines to ``gaps.jsonl`` beside a saved index (kept in memory until the
index is saved), so several processes can log to one index and nothing is rewritten in place; a
line cut short by a crash is skipped when reading. Queries are stored as asked (trimmed to 500
characters): do not log queries that may hold personal data you may not keep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from .._text import normalize
from .chunking import Chunk

__all__ = ["Gap", "GapLog", "GapReason", "StaleDocument", "stale_documents"]

GapReason = Literal["unanswered", "low_score"]
GAPS_FILE = "gaps.jsonl"


@dataclass(kw_only=True)
class Gap:
    """A question (normalised) the knowledge base could not answer well, with how often."""

    query: str
    count: int
    best_score: float
    """The best top-hit score seen for this question."""
    last_seen: float
    """Unix time."""
    reasons: dict[str, int] = field(default_factory=dict)
    """``unanswered`` (answer declined) / ``low_score`` (a search below the threshold) counts."""


class GapLog:
    """Append-only log of knowledge gaps, aggregated on read."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._pending: list[dict[str, Any]] = []

    def record(self, query: str, score: float, reason: GapReason) -> None:
        """Log one unanswered or low-score query."""
        event = {
            # Grouped by a readable key: case, spacing and a trailing "?" do not split a gap.
            "query": normalize(query, readable=True)[:500],
            "score": round(float(score), 4),
            "reason": reason,
            "at": time.time(),
        }
        if not event["query"]:
            return
        if self.path is None:
            self._pending.append(event)
            return
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(event) + "\n")

    def attach(self, path: Path) -> None:
        """Log to ``path`` from now on, first appending events kept in memory."""
        self.path = path
        if self._pending:
            with path.open("a", encoding="utf-8") as stream:
                for event in self._pending:
                    stream.write(json.dumps(event) + "\n")
            self._pending.clear()

    def events(self) -> list[dict[str, Any]]:
        """Every logged event (unreadable lines skipped)."""
        events = list(self._pending)
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict) and isinstance(event.get("query"), str):
                    events.append(event)
        return events

    def gaps(self) -> list[Gap]:
        """Gaps grouped by normalised query, most frequent first."""
        grouped: dict[str, Gap] = {}
        for event in self.events():
            score = float(event.get("score", 0.0))
            at = float(event.get("at", 0.0))
            reason = str(event.get("reason", "unanswered"))
            gap = grouped.get(event["query"])
            if gap is None:
                gap = grouped[event["query"]] = Gap(
                    query=event["query"], count=0, best_score=score, last_seen=at
                )
            gap.count += 1
            gap.best_score = max(gap.best_score, score)
            gap.last_seen = max(gap.last_seen, at)
            gap.reasons[reason] = gap.reasons.get(reason, 0) + 1
        return sorted(grouped.values(), key=lambda g: (-g.count, -g.last_seen, g.query))


@dataclass(kw_only=True)
class StaleDocument:
    """A document past its ``review_by`` date."""

    doc_id: str
    title: str
    owner: str | None
    review_by: date
    days_overdue: int
    chunks: int


def stale_documents(chunks: Iterable[Chunk], today: date) -> list[StaleDocument]:
    """Documents whose ``review_by`` has passed, most overdue first."""
    found: dict[str, StaleDocument] = {}
    for chunk in chunks:
        if chunk.review_by is None or not chunk.is_stale(today):
            continue
        entry = found.get(chunk.doc_id)
        if entry is None:
            found[chunk.doc_id] = StaleDocument(
                doc_id=chunk.doc_id,
                title=chunk.title,
                owner=chunk.owner,
                review_by=chunk.review_by,
                days_overdue=(today - chunk.review_by).days,
                chunks=1,
            )
        else:
            entry.chunks += 1
    return sorted(found.values(), key=lambda s: (-s.days_overdue, s.doc_id))
