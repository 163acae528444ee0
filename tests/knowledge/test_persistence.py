from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from resolvekit.exceptions import UserError
from resolvekit.knowledge import (
    CorruptIndex,
    Document,
    Fusion,
    IndexMismatch,
    KnowledgeBase,
)
from resolvekit.understanding.embedders import HashingEmbedder

from .samples import CountingEmbedder

QUESTIONS = [
    "How long do card refunds take?",
    "reset my password",
    "do you ship to canada",
    "cancel subscription",
]


@pytest.fixture
def saved(corpus: Path, embedder: CountingEmbedder, tmp_path: Path) -> Path:
    kb = KnowledgeBase(
        embedder=embedder, fusion=Fusion(dense=1.0, lexical=0.3), threshold=0.25, stale_factor=0.7
    )
    kb.add(corpus)
    kb.save(tmp_path / "index")
    return tmp_path / "index"


def test_save_load_round_trip_gives_identical_results(
    corpus: Path, embedder: CountingEmbedder, saved: Path
) -> None:
    original = KnowledgeBase(
        embedder=embedder, fusion=Fusion(dense=1.0, lexical=0.3), threshold=0.25, stale_factor=0.7
    )
    original.add(corpus)
    loaded = KnowledgeBase.load(saved, embedder=CountingEmbedder())
    assert loaded.fusion == original.fusion
    assert loaded.threshold == 0.25 and loaded.stale_factor == 0.7
    assert [c.id for c in loaded.chunks] == [c.id for c in original.chunks]
    assert loaded.chunks[0] == original.chunks[0]
    assert {d.id for d in loaded.documents} == {d.id for d in original.documents}
    for question in QUESTIONS:
        a = [(h.chunk.id, round(h.score, 5)) for h in original.search(question, k=5)]
        b = [(h.chunk.id, round(h.score, 5)) for h in loaded.search(question, k=5)]
        assert a == b
    assert loaded.path == saved


def test_load_recreates_a_hashing_embedder_from_its_stored_name(saved: Path) -> None:
    loaded = KnowledgeBase.load(saved)
    assert loaded.embedder.name == CountingEmbedder().name
    assert loaded.search("reset my password", k=1)[0].doc_id == "faq-password"


def test_incremental_reindex_embeds_only_new_or_changed_chunks(corpus: Path, saved: Path) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase.load(saved, embedder=embedder)
    report = kb.sync(corpus)
    assert report.embedded == 0 and embedder.texts == 0
    # Change one section, add one file, delete one file.
    refunds = corpus / "billing" / "refunds.md"
    refunds.write_text(refunds.read_text().replace("5 to 10", "3 to 7"))
    (corpus / "new.md").write_text("# Gift cards\n\nGift cards never expire.")
    (corpus / "store-hours.txt").unlink()
    report = kb.sync(corpus)
    assert embedder.calls == [
        [
            "Refund policy > Timing\nCard refunds take 3 to 7 business days to appear on your "
            "statement.",
            "Gift cards\nGift cards never expire.",
        ]
    ]
    assert report.embedded == 2
    assert "store-hours.txt" not in {d.id for d in kb.documents}
    assert kb.search("gift cards expire", k=1)[0].doc_id == "new.md"
    # Saving and loading again keeps the new vectors: nothing more to embed.
    kb.save(saved)
    calls = len(embedder.calls)
    again = KnowledgeBase.load(saved, embedder=embedder)
    assert again.sync(corpus).embedded == 0 and len(embedder.calls) == calls


def test_add_and_remove_after_load(saved: Path) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase.load(saved, embedder=embedder)
    before = len(kb.documents)
    kb.add(Document(id="extra", text="Extra article about loyalty points."))
    assert len(kb.documents) == before + 1 and embedder.texts == 1
    kb.remove("extra")
    assert len(kb.documents) == before
    with pytest.raises(UserError, match="No such documents"):
        kb.remove("missing")


def test_embedder_mismatch_is_reported(saved: Path) -> None:
    with pytest.raises(IndexMismatch, match="hashing-512-v1") as caught:
        KnowledgeBase.load(saved, embedder=HashingEmbedder(512))
    assert caught.value.found == "hashing-256-v1"
    assert "rebuild" in str(caught.value)


def test_format_version_mismatch_is_reported(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["version"] = 99
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="format version"):
        KnowledgeBase.load(saved)


def _edit_manifest(path: Path, **changes: object) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, **changes}))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda p: (p / "manifest.json").write_text("{not json"), "unreadable"),
        (lambda p: (p / "manifest.json").write_text("[]"), "not a resolvekit"),
        (lambda p: (p / "vectors.npy").unlink(), "missing files: vectors.npy"),
        (lambda p: (p / "vectors.npy").write_bytes(b"garbage"), "vectors|pickle|magic"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((1, 256), np.float32)), "shape"),
        (lambda p: (p / "bm25.npz").write_bytes(b"PK\x03\x04broken"), "BadZipFile|bm25|zip"),
        (lambda p: (p / "chunks.jsonl").write_text('{"id": 1}\n{oops'), "chunks.jsonl line 2"),
        (lambda p: (p / "chunks.jsonl").write_text('{"id": "x"}\n'), "KeyError"),
        (lambda p: _edit_manifest(p, stale_factor=5), "stale_factor must be in"),
        (lambda p: _edit_manifest(p, threshold="high"), "ValueError"),
        (lambda p: _edit_manifest(p, fusion={"method": "magic"}), "magic"),
    ],
)
def test_broken_index_directories_raise_corrupt_index(saved: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    damage(saved)
    with pytest.raises(CorruptIndex, match=message) as caught:
        KnowledgeBase.load(saved)
    assert str(saved) in str(caught.value)


def test_loading_a_missing_directory_is_a_corrupt_index(tmp_path: Path) -> None:
    with pytest.raises(CorruptIndex, match="no such directory"):
        KnowledgeBase.load(tmp_path / "nowhere")


def test_save_replaces_an_existing_index_and_keeps_its_gap_log(
    saved: Path, embedder: CountingEmbedder
) -> None:
    kb = KnowledgeBase.load(saved, embedder=embedder)
    kb.ask("what is the airspeed of a swallow")
    fresh = KnowledgeBase(embedder=embedder)
    fresh.add(Document(id="only", text="Only document."))
    fresh.save(saved)
    loaded = KnowledgeBase.load(saved, embedder=embedder)
    assert [d.id for d in loaded.documents] == ["only"]
    assert [g.query for g in loaded.gaps.gaps()] == ["what is the airspeed of a swallow"]
    assert not list(saved.parent.glob(".index.*"))  # no temporary directories left behind


def test_an_empty_knowledge_base_round_trips(tmp_path: Path, embedder: CountingEmbedder) -> None:
    KnowledgeBase(embedder=embedder).save(tmp_path / "empty")
    loaded = KnowledgeBase.load(tmp_path / "empty", embedder=embedder)
    assert len(loaded) == 0 and loaded.search("anything") == []
    loaded.add(Document(id="a", text="alpha"))
    assert loaded.search("alpha")[0].doc_id == "a"


V1_INDEX = Path(__file__).parent / "data" / "index-v1"
"""An index written by the first release of format version 1 (hashing-64 embedder, the refund
article and the FAQ JSON of ``samples.py``, one logged gap)."""


def test_an_index_written_by_an_earlier_release_loads_and_searches_the_same(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(V1_INDEX, copy)
    kb = KnowledgeBase.load(copy)
    kb.clock = lambda: date(2025, 1, 1)
    assert kb.embedder_name == "hashing-64-v1" and len(kb) == 6 and len(kb.documents) == 4
    assert kb.fusion == Fusion(dense=1.0, lexical=0.3)
    assert (kb.threshold, kb.stale_factor, kb.max_chars, kb.overlap) == (0.25, 0.7, 1200, 150)
    expected = {
        "How long do card refunds take?": [
            ("faq-password#c0", 0.40297),
            ("billing/refunds.md#c1", 0.39544),
            # Another section of the refund article (results are distinct per section).
            ("billing/refunds.md#c2", 0.29858),
        ],
        "reset my password": [
            ("faq-password#c0", 0.89515),
            ("billing/refunds.md#c2", 0.31582),
            ("billing/refunds.md#c0", 0.23328),
        ],
        "do you ship to canada": [
            ("faq.json#3#c0", 1.1646),
            ("faq-password#c0", 0.27988),
            ("billing/refunds.md#c2", 0.24292),
        ],
    }
    for question, hits in expected.items():
        found = kb.search(question, k=3, log_gaps=False)
        assert [(h.chunk.id, round(h.score, 5)) for h in found] == hits
    assert [g.query for g in kb.gaps.gaps()] == ["what is the airspeed of a swallow"]


def test_saving_a_loaded_index_writes_the_same_files(tmp_path: Path) -> None:
    again = tmp_path / "again"
    KnowledgeBase.load(V1_INDEX).save(again)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in V1_INDEX.iterdir())
    manifest = json.loads((again / "manifest.json").read_text())
    original = json.loads((V1_INDEX / "manifest.json").read_text())
    assert manifest.pop("saved_at") > original.pop("saved_at")
    assert manifest == original
    for name in ("documents.jsonl", "chunks.jsonl", "gaps.jsonl"):
        assert (again / name).read_bytes() == (V1_INDEX / name).read_bytes(), name
    for name in ("vectors.npy", "field_vectors.npy"):
        written, stored = np.load(again / name), np.load(V1_INDEX / name)
        assert written.dtype == stored.dtype and np.array_equal(written, stored), name
    for name in ("bm25.npz", "field_bm25.npz"):
        with np.load(again / name) as written, np.load(V1_INDEX / name) as stored:
            assert written.files == stored.files, name
            for key in stored.files:
                assert written[key].dtype == stored[key].dtype, (name, key)
                assert np.array_equal(written[key], stored[key]), (name, key)
