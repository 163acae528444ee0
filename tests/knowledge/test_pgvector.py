"""The knowledge base in PostgreSQL + pgvector: the same hits, citations and answerability as the
in-memory index, incremental writes, generations, and several readers.

Needs the ``pgserver`` package (the ``dev`` extra), which ships pgvector; skipped without it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.exceptions import UserError
from resolvekit.knowledge import (
    CorruptIndex,
    Document,
    Fusion,
    IndexMismatch,
    KnowledgeBase,
    KnowledgeError,
)
from resolvekit.understanding.embedders import HashingEmbedder

from .samples import CountingEmbedder, planted_vectors

pytest.importorskip("pgvector")

_tables = itertools.count()

QUERIES = [
    "How long do card refunds take?",
    "reset my password",
    "do you ship to canada",
    "cancel subscription",
    "store opening hours sunday",
    "override refund limit",
    "bitcoin payments",
]


@pytest.fixture
def table() -> str:
    return f"kb_test_{next(_tables)}"


def _hits(kb: KnowledgeBase, query: str, **options: object) -> list[tuple[str, str, float]]:
    hits = kb.search(query, log_gaps=False, **options)  # type: ignore[arg-type]
    return [(h.chunk.id, h.doc_id, round(h.score, 5)) for h in hits]


def assert_same(
    remote: KnowledgeBase, memory: KnowledgeBase, query: str, **options: object
) -> None:
    expected, got = _hits(memory, query, **options), _hits(remote, query, **options)
    assert [h[:2] for h in got] == [h[:2] for h in expected], (query, options)
    np.testing.assert_allclose([h[2] for h in got], [h[2] for h in expected], atol=2e-5)


@pytest.mark.parametrize(
    "fusion",
    [
        None,
        Fusion(dense=1.0, lexical=0.05, center=True),
        Fusion(dense=1.0, lexical=0.05, center=True, best_of_two=False),
        Fusion(dense=0.6, dense_field=0.2, lexical=0.3, lexical_field=0.1),
        Fusion(method="rrf"),
    ],
)
def test_same_hits_citations_and_answers_as_in_memory(
    postgres_url: str, corpus: Path, table: str, fusion: Fusion | None
) -> None:
    memory = KnowledgeBase(
        embedder=CountingEmbedder(), fusion=fusion, clock=lambda: date(2031, 1, 1)
    )
    memory.add(corpus)
    memory.save(postgres_url, table=table)
    remote = KnowledgeBase.load(postgres_url, embedder=CountingEmbedder(), table=table)
    remote.clock = memory.clock  # review_by 2030: stale on both
    assert len(remote) == len(memory)
    assert remote.fusion == memory.fusion and remote.threshold == memory.threshold
    for query in QUERIES:
        for options in (
            {"k": 5},
            {"k": 3, "distinct": False},
            {"k": 5, "filters": {"audience": "agent"}},
            {"k": 5, "filters": {"product": "subscriptions"}},
            {"k": 5, "filters": {"locale": ["en-CA", "fr"]}},
        ):
            assert_same(remote, memory, query, **options)
        mine, theirs = memory.ask(query), remote.ask(query)
        assert (theirs.answerable, theirs.text, theirs.citations) == (
            mine.answerable,
            mine.text,
            mine.citations,
        )
        assert theirs.answerability == pytest.approx(mine.answerability, abs=2e-5)
    assert [s.doc_id for s in remote.stale()] == [s.doc_id for s in memory.stale()]
    assert {d.id for d in remote.documents} == {d.id for d in memory.documents}
    assert [c.id for c in remote.chunks] == [c.id for c in memory.chunks]


def test_incremental_writes_match_an_in_memory_base(
    postgres_url: str, corpus: Path, table: str
) -> None:
    memory = KnowledgeBase(embedder=CountingEmbedder())
    memory.add(corpus)
    memory.save(postgres_url, table=table)
    embedder = CountingEmbedder()
    remote = KnowledgeBase.load(postgres_url, embedder=embedder, table=table)
    extra = [
        {"id": "crypto", "question": "Can I pay with bitcoin?", "answer": "No, cards only."},
        {"id": "faq-password", "question": "How do I reset my password?", "answer": "Use the app."},
    ]
    for kb in (memory, remote):
        kb.add(extra)
    report = remote.add(extra)  # unchanged: nothing embedded
    assert report.embedded == 0
    assert embedder.texts == 3  # the new entry's body and question, the changed body
    remove = remote.remove("store-hours.txt")
    memory.remove("store-hours.txt")
    assert remove.chunks == len(memory)
    with pytest.raises(UserError, match="No such documents"):
        remote.remove("nope")
    for query in [*QUERIES, "pay with bitcoin", "password app"]:
        assert_same(remote, memory, query)
    sync = remote.sync(extra)
    memory.sync(extra)
    assert (sync.documents, sync.chunks) == (2, len(memory))
    for query in QUERIES:
        assert_same(remote, memory, query)
    # A base loaded from the database exports to a directory like any other.
    KnowledgeBase.load(postgres_url, table=table).save(corpus.parent / "export")
    back = KnowledgeBase.load(corpus.parent / "export", embedder=CountingEmbedder())
    for query in QUERIES:
        assert_same(back, memory, query)


def test_a_new_generation_reaches_open_readers(postgres_url: str, table: str) -> None:
    first = KnowledgeBase(embedder=HashingEmbedder())
    first.add([{"id": "a", "question": "What are your opening hours?", "answer": "9 to 5."}])
    first.save(postgres_url, table=table)
    readers = [KnowledgeBase.load(postgres_url, table=table) for _ in range(3)]
    assert readers[0].depth == 300  # HNSW candidates (ef_search) for a base read from a URL
    for reader in readers:
        reader._index.refresh = 0.0  # type: ignore[union-attr]  # see every change at once
        assert reader.search("opening hours")[0].doc_id == "a"
    second = KnowledgeBase(embedder=HashingEmbedder())
    second.add([{"id": "b", "question": "What are your opening hours?", "answer": "8 to 8."}])
    second.save(postgres_url, table=table)  # re-index: a new generation, the old one dropped
    for reader in readers:
        assert [h.doc_id for h in reader.search("opening hours")] == ["b"]
    readers[0].add([{"id": "c", "question": "Where is the shop?", "answer": "Main Street."}])
    assert readers[1].search("where is the shop")[0].doc_id == "c"


def test_load_errors(postgres_url: str, table: str) -> None:
    with pytest.raises(CorruptIndex, match="no knowledge base"):
        KnowledgeBase.load(postgres_url, table=table)
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add([{"question": "q?", "answer": "a."}])
    kb.save(postgres_url, table=table)
    with pytest.raises(IndexMismatch):
        KnowledgeBase.load(postgres_url, table=table, embedder=HashingEmbedder(64))
    with pytest.raises(UserError, match="lower-case"):
        KnowledgeBase.load(postgres_url, table="Bad-Name")


class PlantedEmbedder:
    """Vectors from :func:`planted_vectors`, one per text in order of first sight."""

    def __init__(self, rows: npt.NDArray[np.float32]) -> None:
        self.rows = rows
        self.seen: dict[str, int] = {}

    @property
    def name(self) -> str:
        return "planted-v1"

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = [self.seen.setdefault(t, len(self.seen)) for t in texts]
        return self.rows[rows]


def test_approximate_candidates_keep_the_top_hits(postgres_url: str, table: str) -> None:
    """Past ``depth`` chunks, candidates come from HNSW and rare terms: on 1,500 chunks with a
    planted structure the top 5 are (nearly) those of the exact in-memory index."""
    rows, queries, _ = planted_vectors(1500, dim=48, seed=5)
    rng = np.random.default_rng(5)
    words = [f"term{i}" for i in range(300)]
    documents = [
        Document(id=f"d{i}", text=" ".join(rng.choice(words, size=12)), format="text")
        for i in range(1500)
    ]
    embedder = PlantedEmbedder(rows)
    memory = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0, lexical=0.2, center=True))
    memory.add(documents)
    memory.save(postgres_url, table=table)
    remote = KnowledgeBase.load(postgres_url, embedder=embedder, table=table)
    remote.depth = 60
    same = total = 0
    for vector in queries[:60]:
        text = " ".join(rng.choice(words, size=2))
        expected = [h.doc_id for h in memory.search(text, k=5, query_vector=vector)]
        got = [h.doc_id for h in remote.search(text, k=5, query_vector=vector)]
        same += len(set(expected) & set(got))
        total += len(expected)
    assert same / total >= 0.95


def test_the_index_commands_take_a_url(
    postgres_url: str, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from resolvekit.cli import main

    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(corpus)
    kb.save(postgres_url)  # the default table prefix
    assert main(["index", "query", postgres_url, "How do I reset my password?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answerable"] and answer["citations"][0]["doc_id"] == "faq-password"
    assert main(["index", "stats", postgres_url, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["chunks"] == len(kb) and "secret" not in stats["path"]


def _sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _as(url: str, user: str, database: str) -> str:
    """``url`` with another user (password ``hunter2``) and database."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:hunter2@{host}", path=f"/{database}"))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://kb:hunter2@127.0.0.1:1/nope",  # nothing listening
        "postgresql://kb:hunter2@[broken/kb",  # not a URL psycopg can parse
        "postgres://kb:hunter2@127.0.0.1:1/kb?sslmode=bogus",
    ],
)
def test_a_broken_url_is_a_typed_error_without_the_password(url: str) -> None:
    for attempt in (
        lambda: KnowledgeBase.load(url),
        lambda: KnowledgeBase(embedder=HashingEmbedder()).save(url),
    ):
        with pytest.raises(KnowledgeError, match="Cannot connect") as caught:
            attempt()
        assert "hunter2" not in str(caught.value)
        assert "kb:***@" in str(caught.value)


def test_an_unknown_database_is_a_typed_error(postgres_url: str) -> None:
    with pytest.raises(KnowledgeError, match="Cannot connect") as caught:
        KnowledgeBase.load(_as(postgres_url, "postgres", "no_such_database"))
    assert "no_such_database" in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_database_without_pgvector_is_a_typed_error(postgres_url: str, table: str) -> None:
    """A user who may not create the extension, in a database that lacks it."""
    import psycopg

    with contextlib.suppress(psycopg.errors.DuplicateObject):
        _sql(postgres_url, "CREATE ROLE rk_plain LOGIN PASSWORD 'hunter2'")
    with contextlib.suppress(psycopg.errors.DuplicateDatabase):
        _sql(postgres_url, "CREATE DATABASE rk_no_vector")
    url = _as(postgres_url, "rk_plain", "rk_no_vector")
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add([{"question": "q?", "answer": "a."}])
    for attempt in (lambda: kb.save(url, table=table), lambda: KnowledgeBase.load(url)):
        with pytest.raises(KnowledgeError, match="pgvector is not installed") as caught:
            attempt()
        assert "CREATE EXTENSION vector" in str(caught.value)
        assert "hunter2" not in str(caught.value)


def test_not_a_knowledge_base(postgres_url: str, table: str) -> None:
    _sql(
        postgres_url,
        f"CREATE TABLE {table}_meta (key text PRIMARY KEY, value jsonb)",
        f"""INSERT INTO {table}_meta VALUES ('manifest', '{{"format": "other"}}')""",
    )
    with pytest.raises(CorruptIndex, match="not a resolvekit knowledge manifest"):
        KnowledgeBase.load(postgres_url, table=table)
    _sql(
        postgres_url,
        f"""UPDATE {table}_meta SET value = '{{"format": "resolvekit-knowledge-pg",
        "version": 99}}'""",
    )
    with pytest.raises(IndexMismatch, match="schema version"):
        KnowledgeBase.load(postgres_url, table=table)


def _worker(url: str, table: str, name: str, barrier: Any, results: Any) -> None:
    """One worker process: its own KnowledgeBase on the shared tables; writes five documents one
    transaction at a time (interleaved with the other worker's), then looks for the other's."""
    kb = KnowledgeBase.load(url, embedder=HashingEmbedder(), table=table)
    kb._index.refresh = 0.0  # type: ignore[union-attr]
    barrier.wait()
    for i in range(5):
        kb.add([{"id": f"{name}-{i}", "question": f"{name} topic {i}?", "answer": f"{name} {i}."}])
    barrier.wait()
    other = "left" if name == "right" else "right"
    found = [h.doc_id for h in kb.search(f"{other} topic 3", k=3)]
    results.put((name, found, len(kb)))
    kb.close()


def test_two_worker_processes_share_one_knowledge_base(postgres_url: str, table: str) -> None:
    seed = [{"id": "hours", "question": "When are you open?", "answer": "9 to 5."}]
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(seed)
    kb.save(postgres_url, table=table)
    context = multiprocessing.get_context("spawn")  # nothing inherited: two real workers
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_worker, args=(postgres_url, table, name, barrier, results))
        for name in ("left", "right")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    seen = dict((name, (found, size)) for name, found, size in (results.get() for _ in workers))
    assert seen["left"][0][0] == "right-3" and seen["right"][0][0] == "left-3"
    assert seen["left"][1] == seen["right"][1] == 11
    # The interleaved writes kept the corpus statistics (counts, document frequencies, vector
    # sum) those of one base holding everything: the same hits and scores.
    remote = KnowledgeBase.load(postgres_url, embedder=HashingEmbedder(), table=table)
    memory = KnowledgeBase(embedder=HashingEmbedder())
    memory.add(seed)
    for name in ("left", "right"):
        memory.add(
            [
                {"id": f"{name}-{i}", "question": f"{name} topic {i}?", "answer": f"{name} {i}."}
                for i in range(5)
            ]
        )
    assert {d.id for d in remote.documents} == {d.id for d in memory.documents}
    for query in ("left topic 2", "right topic 4", "when are you open", "topic"):
        assert_same(remote, memory, query, k=5)
    remote.close()
