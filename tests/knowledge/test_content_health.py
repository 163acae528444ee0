from __future__ import annotations

from datetime import date
from pathlib import Path

from resolvekit.knowledge import Document, KnowledgeBase
from resolvekit.knowledge.health import GapLog

from .samples import CountingEmbedder


def _kb(embedder: CountingEmbedder) -> KnowledgeBase:
    kb = KnowledgeBase(embedder=embedder, threshold=0.3, clock=lambda: date(2025, 6, 1))
    kb.add(
        [
            Document(
                id="refunds",
                title="Refunds",
                text="Card refunds take 5 to 10 business days.",
                owner="billing",
                review_by=date(2025, 1, 1),
            ),
            Document(id="stores", text="Stores open at 9am.", review_by=date(2026, 1, 1)),
            Document(
                id="faq", text="# A\n\none\n\n# B\n\ntwo", owner="ops", review_by=date(2024, 6, 1)
            ),
        ]
    )
    return kb


def test_unanswered_and_low_score_queries_are_counted_as_gaps(embedder: CountingEmbedder) -> None:
    kb = _kb(embedder)
    kb.ask("Do you sell kayaks?")
    kb.ask("do you sell   KAYAKS")
    kb.search("kayak paddles", k=3)
    kb.ask("How long do card refunds take?")  # answerable: not a gap
    gaps = kb.gaps.gaps()
    assert [(g.query, g.count) for g in gaps] == [("do you sell kayaks", 2), ("kayak paddles", 1)]
    assert gaps[0].reasons == {"unanswered": 2}
    assert gaps[1].reasons == {"low_score": 1}
    assert 0.0 <= gaps[0].best_score < kb.threshold


def test_gaps_persist_in_a_sidecar_and_survive_a_torn_line(
    embedder: CountingEmbedder, tmp_path: Path
) -> None:
    kb = _kb(embedder)
    kb.ask("Do you sell kayaks?")  # in memory until saved
    kb.save(tmp_path / "index")
    kb.ask("Do you sell kayaks?")  # appended to the sidecar
    sidecar = tmp_path / "index" / "gaps.jsonl"
    with sidecar.open("a") as stream:
        stream.write('{"query": "torn li')  # a crash mid-write
    loaded = KnowledgeBase.load(tmp_path / "index", embedder=embedder)
    assert [(g.query, g.count) for g in loaded.gaps.gaps()] == [("do you sell kayaks", 2)]


def test_gap_log_without_a_file_keeps_events_in_memory(tmp_path: Path) -> None:
    log = GapLog()
    log.record("Where is my order?", 0.1, "unanswered")
    log.record("   ", 0.0, "unanswered")  # blank queries are not gaps
    assert [g.query for g in log.gaps()] == ["where is my order"]
    log.attach(tmp_path / "gaps.jsonl")
    assert (tmp_path / "gaps.jsonl").read_text().count("\n") == 1
    assert [g.count for g in GapLog(tmp_path / "gaps.jsonl").gaps()] == [1]


def test_stale_documents_are_listed_most_overdue_first(embedder: CountingEmbedder) -> None:
    stale = _kb(embedder).stale()
    assert [(s.doc_id, s.owner, s.days_overdue, s.chunks) for s in stale] == [
        ("faq", "ops", 365, 2),
        ("refunds", "billing", 151, 1),
    ]
    hit = _kb(embedder).search("card refunds", k=1)[0]
    assert hit.doc_id == "refunds" and hit.stale
