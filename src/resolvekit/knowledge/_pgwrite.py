"""Writing a knowledge base to PostgreSQL: publishing a whole index, and incremental changes.

**One writer at a time**: every write takes a transaction-level advisory lock on the table
prefix (a second writer waits for the first), and readers never wait for a writer.

- :func:`publish` (``kb.save(url)``) writes a *new generation* (``<t>_g<N+1>`` tables: rows by
  ``COPY``, then the HNSW, GIN and B-tree indexes) while readers keep searching the current one,
  then switches the manifest to it in one short transaction and drops the old tables. A reader
  sees the switch within its refresh interval; a query that raced the drop is retried on the new
  generation. This is the way to re-index (a new embedder, new chunking, a bulk load).
- :func:`apply_changes` (``add``, ``sync`` and ``remove`` on a base loaded from a URL) changes
  the active generation in place in one transaction: the changed documents' chunks are deleted
  and re-inserted, vectors are reused by content hash, and the document frequencies, counts and
  vector sum in the manifest are updated with the same transaction. Readers see all of it or
  none of it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._pg import (
    FORMAT,
    K1,
    SCHEMA_VERSION,
    B,
    as_array,
    check_table,
    connect,
    read_manifest,
    tables,
)
from ._store import chunk_to_json, document_to_json
from ._text import terms as text_terms
from .chunking import Chunk, chunk_documents, content_hash
from .documents import Document
from .errors import KnowledgeError

if TYPE_CHECKING:
    import numpy.typing as npt
    import psycopg

    from ._store import IndexSnapshot

__all__ = ["apply_changes", "document_hash", "publish"]

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def _lock_key(table: str) -> int:
    digest = hashlib.blake2b(f"resolvekit-knowledge\0{table}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def document_hash(document: Document) -> str:
    """A hash of everything a document holds (``sync`` skips documents whose hash is stored)."""
    return content_hash(json.dumps(document_to_json(document), sort_keys=True))


def _create(conn: psycopg.Connection[Any], table: str, generation: int, dim: int) -> None:
    chunks, terms, documents = tables(table, generation)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table}_meta (key text PRIMARY KEY, value jsonb)")
    for name in (chunks, terms, documents):
        conn.execute(f"DROP TABLE IF EXISTS {name}")  # a publish that died half-way
    conn.execute(
        f"""CREATE TABLE {chunks} (
            row bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            doc_id text NOT NULL,
            data jsonb NOT NULL,
            hash text NOT NULL,
            question_hash text,
            review_by date,
            metadata jsonb NOT NULL,
            body_len integer NOT NULL,
            body_tf jsonb NOT NULL,
            question_len integer,
            question_tf jsonb,
            embedding vector({dim}) NOT NULL,
            question_embedding vector({dim})
        )"""
    )
    conn.execute(
        f"CREATE TABLE {terms} (field smallint NOT NULL, term text NOT NULL, "
        "df integer NOT NULL, PRIMARY KEY (term, field))"
    )
    conn.execute(
        f"CREATE TABLE {documents} (id text PRIMARY KEY, position bigserial, "
        "hash text NOT NULL, data jsonb NOT NULL)"
    )


def _create_indexes(conn: psycopg.Connection[Any], table: str, generation: int) -> None:
    chunks, _, _ = tables(table, generation)
    options = f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    conn.execute(f"CREATE INDEX ON {chunks} USING hnsw (embedding vector_ip_ops) {options}")
    conn.execute(
        f"CREATE INDEX ON {chunks} USING hnsw (question_embedding vector_ip_ops) {options}"
    )
    conn.execute(f"CREATE INDEX ON {chunks} USING gin (body_tf)")
    conn.execute(f"CREATE INDEX ON {chunks} USING gin (question_tf)")
    conn.execute(f"CREATE INDEX ON {chunks} (doc_id)")
    conn.execute(f"CREATE INDEX ON {chunks} (hash)")
    conn.execute(f"CREATE INDEX ON {chunks} (question_hash)")
    conn.execute(f"ANALYZE {chunks}")


def Jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb as wrapper

    return wrapper(value)


def _chunk_row(
    chunk: Chunk,
    body_hash: str,
    vector: npt.NDArray[np.float32],
    question_vector: npt.NDArray[np.float32] | None,
) -> tuple[tuple[Any, ...], Counter[str], Counter[str] | None]:
    body_terms = Counter(text_terms(chunk.body))
    question_terms = Counter(text_terms(chunk.question)) if chunk.question else None
    row = (
        chunk.id,
        chunk.doc_id,
        Jsonb(chunk_to_json(chunk, body_hash)),
        body_hash,
        content_hash(chunk.question) if chunk.question else None,
        chunk.review_by,
        Jsonb(chunk.metadata),
        sum(body_terms.values()),
        Jsonb(body_terms),
        sum(question_terms.values()) if question_terms is not None else None,
        Jsonb(question_terms) if question_terms is not None else None,
        np.asarray(vector, dtype=np.float32),
        None if question_vector is None else np.asarray(question_vector, dtype=np.float32),
    )
    return row, body_terms, question_terms


_CHUNK_COLUMNS = (
    "id, doc_id, data, hash, question_hash, review_by, metadata, body_len, body_tf, "
    "question_len, question_tf, embedding, question_embedding"
)
_CHUNK_TYPES = [
    "text", "text", "jsonb", "text", "text", "date", "jsonb",
    "int4", "jsonb", "int4", "jsonb", "vector", "vector",
]  # fmt: skip


class _Stats:
    """Corpus statistics kept in the manifest, updated as rows come and go."""

    def __init__(self, manifest: dict[str, Any], dim: int) -> None:
        self.chunks = int(manifest.get("chunks", 0))
        self.questions = int(manifest.get("questions", 0))
        self.body_terms = int(manifest.get("body_terms", 0))
        self.question_terms = int(manifest.get("question_terms", 0))
        self.vector_sum = np.asarray(manifest.get("vector_sum") or np.zeros(dim), np.float64)
        self.df: Counter[tuple[int, str]] = Counter()

    def count(
        self, row: tuple[Any, ...], body: Counter[str], question: Counter[str] | None, sign: int
    ) -> None:
        self.chunks += sign
        self.body_terms += sign * int(row[7])
        self.vector_sum += sign * as_array(row[11])
        for term in body:
            self.df[(0, term)] += sign
        if question is not None:
            self.questions += sign
            self.question_terms += sign * int(row[9])
            self.vector_sum += sign * as_array(row[12])
            for term in question:
                self.df[(1, term)] += sign

    def to_manifest(self, manifest: dict[str, Any], chunked_documents: int) -> dict[str, Any]:
        return {
            **manifest,
            "chunks": self.chunks,
            "questions": self.questions,
            "body_terms": self.body_terms,
            "question_terms": self.question_terms,
            "vector_sum": self.vector_sum.tolist(),
            "chunked_documents": chunked_documents,
            "saved_at": time.time(),
        }


def _settings(snapshot: IndexSnapshot) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": SCHEMA_VERSION,
        "embedder": snapshot.embedder,
        "dim": snapshot.dim,
        "fusion": snapshot.fusion.to_json(),
        "threshold": snapshot.threshold,
        "max_chars": snapshot.max_chars,
        "overlap": snapshot.overlap,
        "stale_factor": snapshot.stale_factor,
        "bm25": {"k1": K1, "b": B},
    }


def publish(
    url: str,
    snapshot: IndexSnapshot,
    *,
    table: str = "resolvekit_knowledge",
    maintenance_work_mem: str | None = "1GB",
    progress: Callable[[str], None] | None = None,
) -> int:
    """Write ``snapshot`` as a new generation and make it the active one; returns its number.

    Args:
        url: the database.
        snapshot: what :meth:`KnowledgeBase._snapshot` holds.
        table: the table prefix.
        maintenance_work_mem: for the index builds of this session (an HNSW graph built in
            memory is many times faster); None to keep the server's setting.
        progress: called with a line of text after each step (benchmarks).
    """
    check_table(table)
    index = snapshot.index
    questions = index.field_of_row()
    rows = (
        (
            chunk,
            body_hash,
            index.vectors[row],
            index.field_vectors[questions[row]] if questions[row] >= 0 else None,
        )
        for row, (chunk, body_hash) in enumerate(zip(index.chunks, snapshot.hashes, strict=True))
    )
    return publish_rows(
        url,
        settings=_settings(snapshot),
        documents=snapshot.documents,
        rows=rows,
        table=table,
        maintenance_work_mem=maintenance_work_mem,
        progress=progress,
    )


def publish_rows(
    url: str,
    *,
    settings: dict[str, Any],
    documents: Iterable[Document],
    rows: Iterable[tuple[Chunk, str, Any, Any]],
    table: str,
    maintenance_work_mem: str | None = "1GB",
    progress: Callable[[str], None] | None = None,
) -> int:
    """:func:`publish` from a stream of ``(chunk, body hash, vector, question vector or None)``
    (chunks in order; the benchmark streams a million without building an index in memory)."""
    say = progress or (lambda _line: None)
    dim = int(settings["dim"])
    started = time.perf_counter()
    with connect(url) as conn:
        if maintenance_work_mem:
            conn.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
        # Only one publish at a time (session lock: the copy spans several transactions).
        conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(table),))
        try:
            old = read_manifest(conn, table)
            generation = int(old.get("generation", 0)) + 1
            _create(conn, table, generation, dim)
            chunks_table, terms_table, documents_table = tables(table, generation)
            with conn.cursor().copy(
                f"COPY {documents_table} (id, hash, data) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "jsonb"])
                for document in documents:
                    data = document_to_json(document)
                    copy.write_row((document.id, document_hash(document), Jsonb(data)))
            stats = _Stats({}, dim)
            doc_ids: set[str] = set()
            with conn.cursor().copy(
                f"COPY {chunks_table} ({_CHUNK_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_CHUNK_TYPES)
                for chunk, body_hash, vector, question_vector in rows:
                    row, body, question = _chunk_row(chunk, body_hash, vector, question_vector)
                    copy.write_row(row)
                    stats.count(row, body, question, +1)
                    doc_ids.add(chunk.doc_id)
            say(f"copied {stats.chunks:,} chunks in {time.perf_counter() - started:.1f}s")
            with conn.cursor().copy(
                f"COPY {terms_table} (field, term, df) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int2", "text", "int4"])
                for (field, term), df in stats.df.items():
                    copy.write_row((field, term, df))
            stats.df.clear()
            built = time.perf_counter()
            _create_indexes(conn, table, generation)
            say(f"built the indexes in {time.perf_counter() - built:.1f}s")
            manifest = stats.to_manifest({**settings, "generation": generation}, len(doc_ids))
            with conn.transaction():
                conn.execute(
                    f"INSERT INTO {table}_meta (key, value) VALUES ('manifest', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (Jsonb(manifest),),
                )
            if old:
                for name in tables(table, int(old["generation"])):
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(table),))
    say(f"published generation {generation} in {time.perf_counter() - started:.1f}s")
    return generation


def apply_changes(
    url: str,
    *,
    table: str,
    upsert: list[Document],
    remove: Iterable[str],
    embed: Callable[[list[str]], npt.NDArray[np.float32]],
    max_chars: int,
    overlap: int,
    sync: bool = False,
) -> tuple[int, int, int, int]:
    """Add or replace ``upsert`` and delete ``remove`` (document ids) in the active generation,
    in one transaction; with ``sync``, also delete every document not in ``upsert``.

    Documents whose stored hash is unchanged are skipped. Returns ``(documents, chunks,
    embedded, reused)`` as :class:`~resolvekit.knowledge.base.IndexReport` reports them.
    """
    with connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(table),))
        manifest = read_manifest(conn, table, lock=True)
        if not manifest:
            raise KnowledgeError(f"No knowledge base in table {table} to change")
        chunks_table, terms_table, documents_table = tables(table, int(manifest["generation"]))
        dim = int(manifest["dim"])
        stored = dict(conn.execute(f"SELECT id, hash FROM {documents_table}").fetchall())
        wanted = {d.id: d for d in upsert}
        removed = set(remove) | (set(stored) - set(wanted) if sync else set())
        changed = [d for d in wanted.values() if stored.get(d.id) != document_hash(d)]
        affected = sorted(removed | {d.id for d in changed})
        stats = _Stats(manifest, dim)
        known: dict[str, Any] = {}
        for row in conn.execute(
            f"DELETE FROM {chunks_table} WHERE doc_id = ANY(%s) RETURNING {_CHUNK_COLUMNS}",
            (affected,),
        ).fetchall():
            body: Counter[str] = Counter(row[8])
            question: Counter[str] | None = None
            if row[10] is not None:
                question = Counter(row[10])
                known[row[4]] = as_array(row[12])
            stats.count(row, body, question, -1)
            known[row[3]] = as_array(row[11])
        conn.execute(f"DELETE FROM {documents_table} WHERE id = ANY(%s)", (affected,))
        chunks = chunk_documents(changed, max_chars=max_chars, overlap=overlap)
        texts = {content_hash(c.body): c.body for c in chunks}
        texts |= {content_hash(c.question): c.question for c in chunks if c.question}
        lookup = sorted(set(texts) - set(known))
        for text_hash, vector in _stored_vectors(conn, chunks_table, lookup):
            known.setdefault(text_hash, as_array(vector))
        missing = [h for h in texts if h not in known]
        if missing:
            vectors = np.asarray(embed([texts[h] for h in missing]), dtype=np.float32)
            if vectors.shape != (len(missing), dim):
                raise KnowledgeError(
                    f"The embedder returned shape {vectors.shape}, expected {(len(missing), dim)}"
                )
            known.update(zip(missing, vectors, strict=True))
        rows = []
        for chunk in chunks:
            body_hash = content_hash(chunk.body)
            question = known[content_hash(chunk.question)] if chunk.question else None
            row, body, asked = _chunk_row(chunk, body_hash, known[body_hash], question)
            stats.count(row, body, asked, +1)
            rows.append(row)
        if rows:
            with conn.cursor().copy(
                f"COPY {chunks_table} ({_CHUNK_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_CHUNK_TYPES)
                for row in rows:
                    copy.write_row(row)
        for document in changed:
            conn.execute(
                f"INSERT INTO {documents_table} (id, hash, data) VALUES (%s, %s, %s)",
                (document.id, document_hash(document), Jsonb(document_to_json(document))),
            )
        deltas = [(f, t, d) for (f, t), d in stats.df.items() if d]
        if deltas:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {terms_table} AS t (field, term, df) VALUES (%s, %s, %s) "
                    "ON CONFLICT (term, field) DO UPDATE SET df = t.df + EXCLUDED.df",
                    deltas,
                )
            conn.execute(f"DELETE FROM {terms_table} WHERE df <= 0")
        chunked = conn.execute(f"SELECT count(DISTINCT doc_id) FROM {chunks_table}").fetchone()
        documents = conn.execute(f"SELECT count(*) FROM {documents_table}").fetchone()
        conn.execute(
            f"UPDATE {table}_meta SET value = %s WHERE key = 'manifest'",
            (Jsonb(stats.to_manifest(manifest, int(chunked[0] if chunked else 0))),),
        )
        total = int(documents[0]) if documents else 0
        return total, stats.chunks, len(missing), len(texts) - len(missing)


def _stored_vectors(
    conn: psycopg.Connection[Any], chunks_table: str, hashes: list[str]
) -> Iterator[tuple[str, Any]]:
    """Vectors already stored for these body or question hashes."""
    if not hashes:
        return
    yield from conn.execute(
        f"SELECT hash, embedding FROM {chunks_table} WHERE hash = ANY(%s)", (hashes,)
    ).fetchall()
    yield from conn.execute(
        f"SELECT question_hash, question_embedding FROM {chunks_table} "
        "WHERE question_hash = ANY(%s)",
        (hashes,),
    ).fetchall()
