"""The hybrid index in PostgreSQL with pgvector: search (readers) and the schema.

Several worker processes (on several hosts) share one knowledge base: each opens it with
``KnowledgeBase.load("postgresql://...")`` and searches the database; nothing but the settings
is held in memory. Writes go through :mod:`._pgwrite`.

**Schema** (``<t>`` is the table prefix, default ``resolvekit_knowledge``)::

    <t>_meta             key -> jsonb; row "manifest": format, version, the active generation,
                         embedder, dim, fusion, threshold, chunking, stale_factor, and the
                         corpus statistics (chunk and question counts and total term counts for
                         BM25, documents, the sum of all vectors for centring)
    <t>_g<N>             one row per chunk of generation N: the chunk as JSON, review_by,
                         metadata, body and question vectors (pgvector ``vector(dim)``, HNSW
                         indexes with inner-product ops), term counts of body and question
                         (``jsonb`` term -> tf, GIN-indexed) and their lengths
    <t>_g<N>_terms       (field, term) -> document frequency, for the BM25 IDF
    <t>_g<N>_documents   the documents as JSON (for ``sync``)

**Search** keeps the in-memory index's scores exactly; only which chunks are scored differs.
Candidates are the union of: the ``depth`` nearest bodies and the ``depth`` nearest questions
by pgvector's HNSW index (inner product with the *centred* query ``q - m``: the numerator of
the centred cosine ranks the same; the row norms differ, hence re-scoring), and every chunk
containing one of the query's rare terms (ascending document frequency, up to ``4 * depth``
postings; a GIN index on the term counts). Each candidate is then scored exactly as
:class:`~resolvekit.knowledge.index.HybridIndex` does: the dense cosines from inner products
computed by PostgreSQL (``<#>``), centred with the stored mean; BM25 from the stored term counts,
lengths and document frequencies with the same formula and normalisation; the same fusion,
stale demotion, filters and distinct top-k. A knowledge base no larger than ``depth`` chunks
scores every chunk, so its results equal the in-memory index's.

The lexical side is this BM25, not PostgreSQL's ``ts_rank``: ``ts_rank`` has no IDF, so the
fused scores would mean something else and the calibrated answerability threshold would not
carry over; and ranking every match of a frequent term is what makes ``ts_rank`` slow.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import UserError
from ..understanding.embedders import Embedder
from ._dense import combine_signals, demote, fuse
from ._store import chunk_from_json, document_from_json
from ._text import terms as text_terms
from .chunking import Chunk
from .documents import Document
from .errors import CorruptIndex, IndexMismatch, KnowledgeError
from .fusion import Fusion
from .index import CENTER_PRIOR_DOCS, DEFAULT_DEPTH, Filters, Ranking

if TYPE_CHECKING:
    import numpy.typing as npt
    import psycopg

__all__ = [
    "DEPTH",
    "FORMAT",
    "SCHEMA_VERSION",
    "PgIndex",
    "as_array",
    "is_url",
    "redact",
    "tables",
]

FORMAT = "resolvekit-knowledge-pg"
SCHEMA_VERSION = 1
K1, B = 1.2, 0.75
"""BM25 parameters (those of :class:`~resolvekit.knowledge.bm25.BM25Index`)."""

_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,40}")
FLOAT = np.float32
DEPTH = 300  # a loaded base's depth = ef_search: recall@10 0.99 at 300k (docs/benchmarks.md)


def is_url(path: object) -> bool:
    """Whether ``path`` names a PostgreSQL database rather than a directory."""
    return isinstance(path, str) and path.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def check_table(table: str) -> str:
    if not _TABLE.fullmatch(table):
        raise UserError(
            f"table must be a plain lower-case name (letters, digits, _), not {table!r}"
        )
    return table


def tables(table: str, generation: int) -> tuple[str, str, str]:
    """The chunk, term and document tables of one generation."""
    base = f"{table}_g{generation}"
    return base, f"{base}_terms", f"{base}_documents"


def connect(url: str, *, timeout: float = 10.0) -> psycopg.Connection[Any]:
    """An autocommit connection with pgvector's types registered."""
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError as exc:
        raise UserError(
            "A PostgreSQL knowledge base needs psycopg and pgvector: "
            'pip install "resolvekit[postgres]"'
        ) from exc
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))
    except psycopg.Error as exc:
        # redact all of it: a URL psycopg cannot parse is quoted whole in its message
        raise KnowledgeError(redact(f"Cannot connect to {url}: {exc}")) from None
    # Without the right to create it, it may exist already (register_vector says if not).
    with contextlib.suppress(psycopg.Error):
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    try:
        register_vector(conn)
    except psycopg.Error as exc:
        conn.close()
        message = f"pgvector is not installed in {url} (run CREATE EXTENSION vector as its owner)"
        raise KnowledgeError(redact(f"{message}: {exc}")) from None
    return conn


def read_manifest(
    conn: psycopg.Connection[Any], table: str, *, lock: bool = False
) -> dict[str, Any]:
    """The manifest row (``FOR UPDATE`` when ``lock``); {} when there is none."""
    import psycopg

    try:
        row = conn.execute(
            f"SELECT value FROM {table}_meta WHERE key = 'manifest'"
            + (" FOR UPDATE" if lock else "")
        ).fetchone()
    except psycopg.errors.UndefinedTable:
        return {}
    return dict(row[0]) if row else {}


def as_array(value: Any) -> npt.NDArray[np.float64]:
    """A pgvector value (numpy array or ``Vector``, by protocol) as a float64 array."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float64)


def mean_vector(manifest: Mapping[str, Any]) -> npt.NDArray[np.float32]:
    """The shrunk centring mean of the stored vectors (as ``HybridIndex.centering``)."""
    total = np.asarray(manifest["vector_sum"], dtype=np.float64)
    count = int(manifest["chunks"]) + int(manifest["questions"])
    n_docs = int(manifest["chunked_documents"])
    if not count:
        return np.zeros(int(manifest["dim"]), dtype=FLOAT)
    return (total / count * (n_docs / (n_docs + CENTER_PRIOR_DOCS))).astype(FLOAT)


class PgIndex:
    """A reader of a knowledge base in PostgreSQL (see the module docstring).

    One connection, shared by the threads of a process under a lock; a forked child opens its
    own. The manifest (statistics, active generation) is re-read at most every ``refresh``
    seconds, so a reader sees a publish or a write within that time.
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "resolvekit_knowledge",
        refresh: float = 2.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.table = check_table(table)
        self.refresh = refresh
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._manifest: dict[str, Any] = {}
        self._read_at = -math.inf
        self._ef_search = 0

    def __repr__(self) -> str:
        return f"PgIndex({redact(self.url)!r}, table={self.table!r})"

    @classmethod
    def open(
        cls, url: str, *, table: str, embedder: Embedder | None
    ) -> tuple[PgIndex, dict[str, Any]]:
        """A reader and its manifest, checked against ``embedder`` (name and vector size).

        Raises:
            CorruptIndex: no knowledge base at ``url``.
            IndexMismatch: another embedder, vector size or schema version.
        """
        index = cls(url, table=table)
        manifest = index.manifest(fresh=True)
        if embedder is not None and embedder.name != manifest["embedder"]:
            found = str(manifest["embedder"])
            raise IndexMismatch(repr(index), expected=embedder.name, found=found, what="embedder")
        if embedder is not None and embedder.dim != int(manifest["dim"]):
            found = str(manifest["dim"])
            raise IndexMismatch(
                repr(index), expected=str(embedder.dim), found=found, what="vector size"
            )
        return index, manifest

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            self._conn = connect(self.url, timeout=self.connect_timeout)
            self._pid = os.getpid()
            self._ef_search = 0
            # Closed when this reader is garbage-collected (``close`` closes it sooner).
            weakref.finalize(self, _close_quietly, self._conn, self._pid)
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def manifest(self, *, fresh: bool = False) -> dict[str, Any]:
        """The validated manifest (cached for :attr:`refresh` seconds)."""
        with self._lock:
            if fresh or time.monotonic() - self._read_at > self.refresh:
                manifest = read_manifest(self.connection(), self.table)
                where = f"{redact(self.url)} table {self.table}"
                if not manifest:
                    raise CorruptIndex(where, "no knowledge base here (save one to this URL first)")
                if manifest.get("format") != FORMAT:
                    raise CorruptIndex(where, "the manifest is not a resolvekit knowledge manifest")
                if manifest.get("version") != SCHEMA_VERSION:
                    raise IndexMismatch(
                        where,
                        expected=str(SCHEMA_VERSION),
                        found=str(manifest.get("version")),
                        what="schema version",
                    )
                self._manifest = manifest
                self._read_at = time.monotonic()
            return self._manifest

    def _tables(self) -> tuple[str, str, str]:
        return tables(self.table, int(self.manifest()["generation"]))

    def __len__(self) -> int:
        return int(self.manifest()["chunks"])

    def _query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run a read; on a generation dropped under us, re-read the manifest and retry once."""
        import psycopg

        with self._lock:
            for attempt in (0, 1):
                try:
                    return self.connection().execute(sql.format(*self._tables()), params).fetchall()
                except psycopg.errors.UndefinedTable:
                    if attempt:
                        raise
                    self.manifest(fresh=True)
                except psycopg.OperationalError as exc:
                    self._conn = None
                    raise KnowledgeError(
                        redact(f"PostgreSQL unavailable ({self.url}): {exc}")
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading content --------------------------------------------------------------------

    def document_frequencies(self, words: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """Document frequencies of ``words`` over bodies and over questions."""
        unique = sorted(set(words))
        body: dict[str, int] = {}
        question: dict[str, int] = {}
        if unique:
            for field_id, term, df in self._query(
                "SELECT field, term, df FROM {1} WHERE term = ANY(%s)", (unique,)
            ):
                (question if field_id else body)[term] = int(df)
        return body, question

    def term_weights(self, words: Iterable[str]) -> dict[str, float]:
        """The body BM25 IDF of each term (0 for unknown terms)."""
        words = list(words)
        body, _ = self.document_frequencies(words)
        n = int(self.manifest()["chunks"])
        return {w: _idf(n, body[w]) if w in body else 0.0 for w in words}

    def all_chunks(self, where: str = "TRUE", params: Any = None) -> list[Chunk]:
        rows = self._query(f"SELECT data FROM {{0}} WHERE {where} ORDER BY row", params)
        return [chunk_from_json(row[0])[0] for row in rows]

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk, read from the database (as ``HybridIndex.chunks``)."""
        return self.all_chunks()

    def documents(self) -> list[Document]:
        rows = self._query("SELECT data FROM {2} ORDER BY position")
        return [document_from_json(row[0]) for row in rows]

    def stale_chunks(self, today: date) -> list[Chunk]:
        return self.all_chunks("review_by < %s", (today,))

    def vectors(self) -> tuple[list[str], Any, list[str], Any]:
        """Every chunk's body hash and vector and every question's hash and vector, in chunk
        order (for exporting to a directory)."""
        rows = self._query(
            "SELECT hash, embedding, question_hash, question_embedding FROM {0} ORDER BY row"
        )
        dim = int(self.manifest()["dim"])
        body = np.array([as_array(r[1]) for r in rows], dtype=FLOAT).reshape(len(rows), dim)
        asked = [r for r in rows if r[2] is not None]
        field = np.array([as_array(r[3]) for r in asked], dtype=FLOAT).reshape(len(asked), dim)
        return [r[0] for r in rows], body, [r[2] for r in asked], field

    # -- search -----------------------------------------------------------------------------

    def rank(
        self,
        query_vector: npt.NDArray[np.float32],
        query: str,
        *,
        k: int,
        fusion: Fusion,
        filters: Filters | None = None,
        distinct: bool = True,
        stale_factor: float = 1.0,
        today: date | None = None,
        scoring: str = "auto",
        depth: int = DEFAULT_DEPTH,
    ) -> Ranking:
        """The ``k`` best chunks (see the module docstring); ``scoring`` is ignored here."""
        del scoring
        manifest = self.manifest()
        empty = np.zeros(0, dtype=FLOAT)
        nothing = Ranking(
            rows=np.zeros(0, dtype=np.int64),
            scores=empty,
            dense=empty,
            lexical=empty,
            stale=np.zeros(0, dtype=bool),
            chunks=[],
        )
        n = int(manifest["chunks"])
        if n == 0 or k <= 0:
            return nothing
        depth = min(1000, max(depth, 4 * k, 40))
        where, where_params = filter_sql(filters)
        words = sorted(set(text_terms(query)))
        body_df, question_df = self.document_frequencies(words)
        query_vector = np.asarray(query_vector, dtype=FLOAT)
        mean = mean_vector(manifest) if fusion.center else np.zeros_like(query_vector)
        if n <= depth:
            candidates = f"SELECT row FROM {{0}} WHERE {where}"
            params: list[Any] = list(where_params)
        else:
            candidates, params = self._candidate_sql(
                query_vector - mean, where, where_params, depth, body_df, question_df
            )
        known = [w for w in words if w in body_df or w in question_df]
        rows = self._query(
            f"""WITH candidates AS ({candidates})
            SELECT c.row, c.data, c.review_by,
                -(c.embedding <#> %s), -(c.embedding <#> %s), vector_norm(c.embedding),
                -(c.question_embedding <#> %s), -(c.question_embedding <#> %s),
                vector_norm(c.question_embedding),
                c.body_len,
                ARRAY(SELECT coalesce((c.body_tf->>t)::int, 0) FROM unnest(%s::text[]) t),
                c.question_len,
                ARRAY(SELECT coalesce((c.question_tf->>t)::int, 0) FROM unnest(%s::text[]) t)
            FROM {{0}} c JOIN candidates USING (row)""",
            [*params, query_vector, mean, query_vector, mean, known, known],
        )
        if not rows:
            return nothing
        return self._score(
            rows,
            query_vector,
            mean,
            manifest,
            known=known,
            body_df=body_df,
            question_df=question_df,
            k=k,
            fusion=fusion,
            distinct=distinct,
            stale_factor=stale_factor,
            today=today or date.today(),
        )

    def _candidate_sql(
        self,
        centred_query: npt.NDArray[np.float32],
        where: str,
        where_params: list[Any],
        depth: int,
        body_df: dict[str, int],
        question_df: dict[str, int],
    ) -> tuple[str, list[Any]]:
        if self._ef_search != depth:
            with self._lock:
                self.connection().execute(f"SET hnsw.ef_search = {int(depth)}")
                self._ef_search = depth
        parts = [f"(SELECT row FROM {{0}} WHERE {where} ORDER BY embedding <#> %s LIMIT {depth})"]
        params = [*where_params, centred_query]
        if int(self.manifest()["questions"]):
            # No "IS NOT NULL": it would hide the HNSW index from the planner (NULLs sort last).
            parts.append(
                f"(SELECT row FROM {{0}} WHERE {where} "
                f"ORDER BY question_embedding <#> %s LIMIT {depth})"
            )
            params += [*where_params, centred_query]
        for column, df in (("body_tf", body_df), ("question_tf", question_df)):
            rare = _rare_terms(df, 4 * depth)
            if rare:
                parts.append(
                    f"(SELECT row FROM {{0}} WHERE {column} ?| %s::text[] AND {where} "
                    f"LIMIT {4 * depth})"
                )
                params += [rare, *where_params]
        return " UNION ".join(parts), params

    def _score(
        self,
        rows: list[tuple[Any, ...]],
        query_vector: npt.NDArray[np.float32],
        mean: npt.NDArray[np.float32],
        manifest: Mapping[str, Any],
        *,
        known: list[str],
        body_df: dict[str, int],
        question_df: dict[str, int],
        k: int,
        fusion: Fusion,
        distinct: bool,
        stale_factor: float,
        today: date,
    ) -> Ranking:
        """Exact scores of the candidate ``rows`` (as ``HybridIndex.rank``)."""
        count = len(rows)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        has = np.array([r[6] is not None for r in rows], dtype=bool)
        columns = np.array(
            [[r[3], r[4], r[5], r[6] or 0.0, r[7] or 0.0, r[8] or 0.0] for r in rows],
            dtype=np.float64,
        ).reshape(count, 6)
        q_m = float(query_vector.astype(np.float64) @ mean)
        m_m = float(mean.astype(np.float64) @ mean)
        body = _cosines(columns[:, :3], q_m, m_m, query_vector)
        question = _cosines(columns[:, 3:], q_m, m_m, query_vector)
        if not fusion.center:
            body, question = columns[:, 0].astype(FLOAT), columns[:, 3].astype(FLOAT)
        chunks_n, questions_n = int(manifest["chunks"]), int(manifest["questions"])
        lexical = _bm25(
            [r[9] for r in rows],
            [r[10] for r in rows],
            [_idf(chunks_n, body_df[w]) if w in body_df else None for w in known],
            _average(manifest["body_terms"], chunks_n),
        )
        field_lexical = _bm25(
            [r[11] or 0 for r in rows],
            [r[12] for r in rows],
            [_idf(questions_n, question_df[w]) if w in question_df else None for w in known],
            _average(manifest["question_terms"], questions_n),
        )
        field_rows = np.flatnonzero(has)
        signals = combine_signals(
            field_rows, body, question[has], lexical, field_lexical[has], fusion.best_of_two
        )
        if fusion.method == "weighted":
            fused = fuse(signals, fusion)
        else:
            fused = np.zeros(count, dtype=FLOAT)
            for name in ("dense", "dense_field", "lexical", "lexical_field"):
                weight = getattr(fusion, name)
                if weight:
                    order = np.lexsort((ids, -signals[name]))
                    fused[order] += FLOAT(weight) / (fusion.rrf_k + np.arange(1, count + 1))
        stale = np.array([r[2] is not None and r[2] < today for r in rows], dtype=bool)
        if stale.any() and stale_factor != 1.0:
            demote(fused, stale, stale_factor)
        order = np.lexsort((ids, -fused))
        chunks = [chunk_from_json(rows[int(i)][1])[0] for i in order]
        if distinct:
            seen: set[tuple[str, tuple[str, ...], str]] = set()
            kept = []
            for position, chunk in enumerate(chunks):
                if chunk.section not in seen:
                    seen.add(chunk.section)
                    kept.append(position)
            order, chunks = order[kept], [chunks[p] for p in kept]
        order, chunks = order[:k], chunks[:k]
        return Ranking(
            rows=ids[order],
            scores=fused[order],
            dense=signals["dense"][order],
            lexical=signals["lexical"][order],
            stale=stale[order],
            chunks=chunks,
        )


def _close_quietly(conn: psycopg.Connection[Any], pid: int) -> None:
    if pid == os.getpid():  # never a connection inherited from the parent process
        with contextlib.suppress(Exception):
            conn.close()


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """A WHERE clause with the semantics of ``HybridIndex.mask``."""
    filters = dict(filters or {})
    audience = filters.pop("audience", "customer")
    if audience not in ("customer", "agent"):
        raise UserError(f"audience filter must be 'customer' or 'agent', not {audience!r}")
    clauses = ["TRUE"]
    params: list[Any] = []
    if audience == "customer":
        clauses.append("(metadata->>'audience') IS DISTINCT FROM 'agent'")
    for key, wanted in filters.items():
        allowed = [wanted] if isinstance(wanted, str) else list(wanted)
        clauses.append("(NOT (metadata ? %s) OR metadata->>%s = ANY(%s::text[]))")
        params += [key, key, allowed]
    return " AND ".join(clauses), params


def _rare_terms(df: Mapping[str, int], budget: int) -> list[str]:
    """The rarest terms whose postings add up to at most ``budget``."""
    chosen, total = [], 0
    for term, count in sorted(df.items(), key=lambda item: (item[1], item[0])):
        if total + count > budget:
            break
        chosen.append(term)
        total += count
    return chosen


def _idf(n: int, df: int) -> float:
    return math.log1p((n - df + 0.5) / (df + 0.5))


def _average(total: Any, count: int) -> float:
    return float(total) / count if count and float(total) else 1.0


def _bm25(
    lengths: list[int],
    frequencies: list[list[int]],
    idf: list[float | None],
    average: float,
) -> npt.NDArray[np.float32]:
    """Normalised BM25 (divided by the best score the query could reach) of each row."""
    present = [i for i, value in enumerate(idf) if value is not None]
    if not present or not lengths:
        return np.zeros(len(lengths), dtype=FLOAT)
    weights = np.array([idf[i] for i in present], dtype=np.float64)
    tf = np.array(frequencies, dtype=np.float64).reshape(len(lengths), len(idf))[:, present]
    norm = K1 * (1 - B + B * np.asarray(lengths, dtype=np.float64) / average)
    # Per posting in float32, as BM25Index stores its weights.
    per_term = (weights * tf * (K1 + 1) / (tf + norm[:, None])).astype(FLOAT)
    scores: npt.NDArray[np.float32] = per_term.sum(axis=1, dtype=FLOAT)
    scores *= FLOAT(1.0 / (float(weights.sum()) * (K1 + 1)))
    return scores


def _cosines(
    columns: npt.NDArray[np.float64],
    q_m: float,
    m_m: float,
    query_vector: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Centred cosines ``(q.d - q.m - m.d + m.m) / (|q - m| |d - m|)`` from the columns
    ``q.d``, ``m.d`` and ``|d|`` of each row."""
    dots, mean_dots, norms = columns[:, 0], columns[:, 1], columns[:, 2]
    squared = float(query_vector.astype(np.float64) @ query_vector) - 2 * q_m + m_m
    query_scale = 1.0 / math.sqrt(squared) if squared > 1e-12 else 0.0
    row_squared = np.maximum(norms * norms - 2 * mean_dots + m_m, 0.0)
    row_norm = np.sqrt(row_squared)
    inverse = np.divide(1.0, row_norm, out=np.zeros_like(row_norm), where=row_norm > 1e-6)
    cosines: npt.NDArray[np.float32] = (
        (dots - q_m - mean_dots + m_m) * inverse * query_scale
    ).astype(FLOAT)
    return cosines
