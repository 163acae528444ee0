"""KnowledgeBase: ingest, index, search, answer, persist."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import UserError
from ..understanding.embedders import Embedder
from ._embedding import default_embedder, embedder_for_name
from ._reuse import vectors_for
from ._text import terms as text_terms
from .answers import Answer, Hit, extract_answer
from .chunking import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP, Chunk, chunk_documents, content_hash
from .documents import Document, load_documents
from .errors import CorruptIndex, IndexMismatch
from .fusion import DEFAULT_FUSION, default_fusion, default_threshold
from .health import GAPS_FILE, GapLog, StaleDocument, stale_documents
from .index import DEFAULT_DEPTH, Filters, Fusion, HybridIndex, Scoring

if TYPE_CHECKING:
    import numpy.typing as npt

    from ..models.base import Model
    from ..playbooks import KnowledgeAnswer
    from ._pg import PgIndex
    from ._store import IndexSnapshot
    from .calibration import Calibration

__all__ = [
    "DEFAULT_FUSION",
    "IndexReport",
    "KnowledgeBase",
    "default_fusion",
    "default_threshold",
]


@dataclass(kw_only=True)
class IndexReport:
    """What an (incremental) indexing run did."""

    documents: int
    chunks: int
    embedded: int
    """Texts sent to the embedder (new or changed chunk bodies and FAQ questions)."""
    reused: int
    """Texts whose vectors were reused by content hash."""


class KnowledgeBase:
    """Documents indexed for hybrid search and grounded, cited answers.

    Example:
        >>> from resolvekit.understanding.embedders import HashingEmbedder
        >>> kb = KnowledgeBase(embedder=HashingEmbedder())
        >>> _ = kb.add([{"question": "How long do refunds take?", "answer": "5 business days."}])
        >>> kb.search("refund time", k=1)[0].text
        '5 business days.'
    """

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        fusion: Fusion | None = None,
        threshold: float | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        overlap: int = DEFAULT_OVERLAP,
        stale_factor: float = 0.8,
        clock: Callable[[], date] = date.today,
        scoring: Scoring = "auto",
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        """Create an empty knowledge base.

        Args:
            embedder: any :class:`~resolvekit.understanding.embedders.Embedder`; default: the
                library's sentence-transformer (all-MiniLM-L6-v2), loaded on first use.
            fusion: how dense and lexical scores combine (default: :func:`default_fusion` for
                the embedder, i.e. :data:`DEFAULT_FUSION` for sentence-transformers).
            threshold: answerability threshold (default: calibrated for the embedder).
            max_chars: chunk size bound.
            overlap: characters shared by consecutive chunks of one section.
            stale_factor: score multiplier for chunks past their ``review_by`` date.
            clock: today's date (injectable for tests).
            scoring: how dense scores are computed (returned scores are always exact):
                ``"auto"`` (default), ``"exact"``, ``"int8"`` (exact results, a quarter of the
                memory read) or ``"binary"`` (approximate, fastest); see
                :data:`~resolvekit.knowledge.index.Scoring` and ``docs/knowledge.md``.
            depth: candidates re-scored after a ``"binary"`` pass (at least 1% of chunks).
        """
        if not 0 < stale_factor <= 1:
            raise UserError(f"stale_factor must be in (0, 1], not {stale_factor}")
        if scoring not in ("auto", "exact", "int8", "binary"):
            raise UserError(f"scoring must be auto, exact, int8 or binary, not {scoring!r}")
        if depth < 1:
            raise UserError(f"depth must be at least 1, not {depth}")
        self.scoring: Scoring = scoring
        self.depth = depth
        self._embedder = embedder
        self._fusion = fusion
        self._threshold = threshold
        self.max_chars = max_chars
        self.overlap = overlap
        self.stale_factor = stale_factor
        self.clock = clock
        self.gaps = GapLog()
        self.calibration: Calibration | None = None
        """What the last :meth:`calibrate` measured and chose."""
        self.path: Path | None = None
        """The directory this base was loaded from or last saved to."""
        self._embedder_name: str | None = None
        """Set by :meth:`load`: the stored embedder, recreated on first use."""
        self._documents: dict[str, Document] = {}
        self._hashes: list[str] = []
        self._index: HybridIndex | PgIndex = HybridIndex.build([], _empty(0), _empty(0))
        self.url: str | None = None
        """The PostgreSQL database searched, for a base loaded from a URL (else None)."""
        self._table = "resolvekit_knowledge"
        self._dim: int | None = None

    @property
    def embedder(self) -> Embedder:
        """The embedder (created on first use when none was given)."""
        if self._embedder is None:
            if self._embedder_name is None:
                self._embedder = default_embedder()
            else:
                embedder = embedder_for_name(self._embedder_name)
                if self._dim is not None and embedder.dim != self._dim:
                    raise IndexMismatch(
                        self.path or "(memory)",
                        expected=str(embedder.dim),
                        found=str(self._dim),
                        what="vector size",
                    )
                self._embedder = embedder
        return self._embedder

    @property
    def embedder_name(self) -> str:
        """The embedder's name, without creating it."""
        if self._embedder is None and self._embedder_name is not None:
            return self._embedder_name
        return self.embedder.name

    @property
    def fusion(self) -> Fusion:
        """How signals combine: explicit, loaded, or :func:`default_fusion` for the embedder."""
        if self._fusion is None:
            return default_fusion(self.embedder_name)
        return self._fusion

    @fusion.setter
    def fusion(self, value: Fusion) -> None:
        self._fusion = value

    @property
    def threshold(self) -> float:
        """Answerability threshold: explicit, loaded, or calibrated for the embedder."""
        if self._threshold is None:
            return default_threshold(self.embedder_name)
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = float(value)

    @property
    def documents(self) -> list[Document]:
        if not isinstance(self._index, HybridIndex):
            return self._index.documents()
        return list(self._documents.values())

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._index.chunks)

    def __len__(self) -> int:
        return len(self._index)

    # -- indexing ---------------------------------------------------------------------------

    def add(self, source: Any, *, metadata: Mapping[str, Any] | None = None) -> IndexReport:
        """Add documents (replacing any with the same id); see :func:`load_documents`.

        On a base loaded from PostgreSQL this and :meth:`sync` and :meth:`remove` change the
        database in one transaction (see ``docs/knowledge.md``, several workers)."""
        if not isinstance(self._index, HybridIndex):
            return self._change(load_documents(source, metadata=metadata), [])
        documents = dict(self._documents)
        for document in load_documents(source, metadata=metadata):
            documents[document.id] = document
        return self._reindex(documents)

    def sync(self, source: Any, *, metadata: Mapping[str, Any] | None = None) -> IndexReport:
        """Make ``source`` the whole content: new and changed chunks are embedded, unchanged
        ones keep their vectors, documents absent from ``source`` are removed."""
        if not isinstance(self._index, HybridIndex):
            return self._change(load_documents(source, metadata=metadata), [], sync=True)
        return self._reindex({d.id: d for d in load_documents(source, metadata=metadata)})

    def remove(self, *doc_ids: str) -> IndexReport:
        """Remove documents by id (unknown ids raise :class:`UserError`)."""
        if not isinstance(self._index, HybridIndex):
            stored = {d.id for d in self._index.documents()}
            missing = [d for d in doc_ids if d not in stored]
            if missing:
                raise UserError(f"No such documents: {missing}")
            return self._change([], list(doc_ids))
        unknown = [d for d in doc_ids if d not in self._documents]
        if unknown:
            raise UserError(f"No such documents: {unknown}")
        return self._reindex({k: v for k, v in self._documents.items() if k not in doc_ids})

    def _change(
        self, upsert: list[Document], remove: list[str], *, sync: bool = False
    ) -> IndexReport:
        """Write changes to the PostgreSQL database this base was loaded from."""
        from ._pgwrite import apply_changes

        assert self.url is not None and not isinstance(self._index, HybridIndex)
        if len({d.id for d in upsert}) != len(upsert):
            raise UserError("Document ids must be unique within one call")
        counts = apply_changes(
            self.url,
            table=self._table,
            upsert=upsert,
            remove=remove,
            embed=lambda texts: np.asarray(self.embedder.embed(texts), dtype=np.float32),
            max_chars=self.max_chars,
            overlap=self.overlap,
            sync=sync,
        )
        self._index.manifest(fresh=True)
        documents, chunks, embedded, reused = counts
        return IndexReport(documents=documents, chunks=chunks, embedded=embedded, reused=reused)

    def _reindex(self, documents: dict[str, Document]) -> IndexReport:
        chunks = chunk_documents(
            list(documents.values()), max_chars=self.max_chars, overlap=self.overlap
        )
        hashes = [content_hash(c.body) for c in chunks]
        hashes += [content_hash(c.question) for c in chunks if c.question]
        # The embedder's output and the reuse table die with this call, before the BM25 build.
        body, field, embedded = vectors_for(
            self._index,
            self._hashes,
            chunks,
            hashes,
            lambda: self.embedder,
            self._dim,
        )
        dim = body.shape[1]
        self._index = HybridIndex.build(chunks, body, field)
        self._hashes = hashes[: len(chunks)]
        self._documents = documents
        self._dim = dim
        return IndexReport(
            documents=len(documents),
            chunks=len(chunks),
            embedded=embedded,
            reused=len(set(hashes)) - embedded,
        )

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        distinct: bool = True,
        query_vector: npt.NDArray[np.float32] | None = None,
        log_gaps: bool = True,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first.

        Args:
            query: the question.
            k: how many hits.
            filters: metadata filters (see :data:`~resolvekit.knowledge.index.Filters`);
                agent-only content is hidden unless ``{"audience": "agent"}``.
            distinct: at most one passage per section (:attr:`Chunk.section`: a document's
                heading or FAQ question), so a one-page FAQ gives one hit per question.
            query_vector: the query's embedding, if already computed.
            log_gaps: log the query as a knowledge gap when its best score is below the
                answerability threshold.

        Raises:
            UserError: ``query`` is not a string or ``k`` is negative.
        """
        if not isinstance(query, str):
            raise UserError(f"query must be a string, not {type(query).__name__}")
        if k < 0:
            raise UserError(f"k must be >= 0, not {k}")
        if not query.strip() or len(self._index) == 0:
            return []
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        ranking = self._index.rank(
            np.asarray(query_vector, dtype=np.float32),
            query,
            k=k,
            fusion=self.fusion,
            filters=filters,
            distinct=distinct,
            stale_factor=self.stale_factor,
            today=self.clock(),
            scoring=self.scoring,
            depth=self.depth,
        )
        chunks = ranking.chunks
        if chunks is None:
            assert isinstance(self._index, HybridIndex)
            chunks = [self._index.chunks[int(row)] for row in ranking.rows]
        hits = [
            Hit(
                chunk=chunk,
                score=float(score),
                dense=float(dense),
                lexical=float(lexical),
                stale=bool(stale),
            )
            for chunk, score, dense, lexical, stale in zip(
                chunks,
                ranking.scores,
                ranking.dense,
                ranking.lexical,
                ranking.stale,
                strict=True,
            )
        ]
        if log_gaps and (not hits or hits[0].score < self.threshold):
            self.gaps.record(query, hits[0].score if hits else 0.0, "low_score")
        return hits

    # -- answers ----------------------------------------------------------------------------

    async def answer(
        self, query: str, k: int = 3, *, model: Model | None = None
    ) -> KnowledgeAnswer:
        """Answer ``query`` for an agent: the
        :class:`~resolvekit.playbooks.KnowledgeSource` protocol.

        The same answer as :meth:`aanswer`, as a
        :class:`~resolvekit.playbooks.KnowledgeAnswer` (the answerability goes into ``score``;
        the retrieved passages are left out).

        Args:
            query: the customer's question.
            k: how many passages to retrieve.
            model: with the ``"answer"`` capability (an LLM), the answer is generated from the
                passages and grounded; None or another model: extractive.

        Raises:
            UserError: ``query`` is not a string or ``k`` is not a non-negative int.
        """
        from ..playbooks import KnowledgeAnswer

        if isinstance(k, bool) or not isinstance(k, int):
            raise UserError(f"k must be an int, not {type(k).__name__} (pass a model as model=...)")
        found = await self.aanswer(query, model, k=k)
        return KnowledgeAnswer(
            query=query,
            text=found.text,
            answerable=found.answerable,
            score=found.answerability,
            citations=list(found.citations),
        )

    def ask(
        self, query: str, model: Model | None = None, *, k: int = 5, filters: Filters | None = None
    ) -> Answer:
        """Answer ``query`` from the knowledge base (sync), with the retrieved passages.

        With ``model=None``, or a model without the ``"answer"`` capability (no LLM), the answer
        is extractive. With an LLM it is generated and grounded: this runs the event loop, so
        inside async code use :meth:`aanswer`.

        Args:
            query: the question.
            model: the model that may generate the answer.
            k: how many passages to retrieve.
            filters: metadata filters, as for :meth:`search`.

        Raises:
            UserError: an LLM was given while an event loop is running.
        """
        if model is None or "answer" not in model.capabilities:
            return self._extractive(query, k=k, filters=filters)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.aanswer(query, model, k=k, filters=filters))
        raise UserError("KnowledgeBase.ask() with an LLM inside async code: use `await aanswer`")

    async def aanswer(
        self, query: str, model: Model | None = None, *, k: int = 5, filters: Filters | None = None
    ) -> Answer:
        """Answer ``query`` (async), with the retrieved passages; with an LLM, generated from
        the passages and grounded.

        When grounding leaves no cited sentence (the model found the passages insufficient),
        the answer is not answerable and the query is logged as a gap.

        Args:
            query: the question.
            model: the model that may generate the answer (extractive without the ``"answer"``
                capability).
            k: how many passages to retrieve.
            filters: metadata filters, as for :meth:`search`.
        """
        # Retrieval embeds the query (CPU work): off the event loop, so other customers' turns
        # go on meanwhile.
        answer = await asyncio.to_thread(self._extractive, query, k=k, filters=filters)
        if model is None or "answer" not in model.capabilities:
            return answer
        from ._generate import generate_answer

        if not answer.answerable:
            return answer
        generated = await generate_answer(model, query, answer)
        if not generated.answerable:
            self.gaps.record(query, generated.answerability, "unanswered")
        return generated

    def _extractive(self, query: str, *, k: int, filters: Filters | None) -> Answer:
        hits = self.search(query, k=k, filters=filters, log_gaps=False)
        score = hits[0].score if hits else 0.0
        if not hits or score < self.threshold:
            self.gaps.record(query, score, "unanswered")
            return Answer(query=query, text="", answerability=score, answerable=False, hits=hits)
        weights = self._index.term_weights(text_terms(query))
        text = extract_answer(query, hits[0], weight=lambda term: weights.get(term, 0.0))
        return Answer(
            query=query,
            text=text,
            truncated=text != hits[0].text.strip(),
            citations=[hits[0].citation],
            answerability=score,
            answerable=True,
            hits=hits,
            mode="extractive",
        )

    def calibrate(
        self,
        examples: Iterable[tuple[str, str | Iterable[str] | None]],
        *,
        target_precision: float = 0.9,
        choose_center: bool = True,
        choose_best_of_two: bool = True,
    ) -> float:
        """Set :attr:`threshold`, :attr:`Fusion.center` and :attr:`Fusion.best_of_two` from
        ``(question, expected)`` pairs (expected: a doc id, several, or ``None`` for a question
        not to answer); return the threshold. :attr:`calibration` says what was measured. See
        :func:`~resolvekit.knowledge.calibration.calibrate`."""
        from .calibration import calibrate

        choose = {"choose_center": choose_center, "choose_best_of_two": choose_best_of_two}
        self.calibration = calibrate(self, examples, target_precision=target_precision, **choose)
        return self.calibration.threshold

    # -- health and persistence -----------------------------------------------------------

    def stale(self, today: date | None = None) -> list[StaleDocument]:
        """Documents past their ``review_by`` date."""
        today = today or self.clock()
        return stale_documents(self._index.stale_chunks(today), today)

    def save(self, path: str | Path, *, table: str = "resolvekit_knowledge") -> None:
        """Write the index to directory ``path`` (replaced atomically; gaps go to a sidecar),
        or publish it to PostgreSQL when ``path`` is a ``postgresql://`` URL.

        Publishing writes a new generation of the tables prefixed ``table`` and switches
        readers to it in one transaction (see ``docs/knowledge.md``); it needs the
        ``postgres`` extra and the pgvector extension on the server.
        """
        from ._pg import is_url

        if is_url(path):
            from ._pgwrite import publish

            publish(str(path), self._snapshot(), table=table)
            return
        from ._store import save

        saved = save(self._snapshot(), Path(path), gaps=self.gaps.path)
        self.gaps.attach(saved / GAPS_FILE)
        self.path = saved

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        embedder: Embedder | None = None,
        table: str = "resolvekit_knowledge",
    ) -> KnowledgeBase:
        """Load an index saved by :meth:`save`: a directory, or a ``postgresql://`` URL.

        A base loaded from a URL searches the database (pgvector) and holds nothing but its
        settings in memory; :meth:`add`, :meth:`sync` and :meth:`remove` change the database.

        Args:
            path: the index directory, or the database URL.
            embedder: the embedder to query with; default: recreated from the stored name on
                first use (so stats and health reports never load a model).
            table: the table prefix in the database (URLs only).

        Raises:
            CorruptIndex: missing or unreadable files, or no knowledge base at the URL.
            IndexMismatch: ``embedder`` differs from the one the index was built with, or the
                index format is from another version.
        """
        from ._pg import DEPTH, PgIndex, is_url

        if is_url(path):
            index, manifest = PgIndex.open(str(path), table=table, embedder=embedder)
            kb = cls(
                embedder=embedder,
                fusion=Fusion.from_json(manifest["fusion"]),
                threshold=manifest["threshold"],
                max_chars=int(manifest["max_chars"]),
                overlap=int(manifest["overlap"]),
                stale_factor=float(manifest["stale_factor"]),
            )
            kb._embedder_name = str(manifest["embedder"])
            kb._index = index
            kb._dim = int(manifest["dim"])
            kb.url, kb._table, kb.depth = str(path), table, DEPTH
            return kb
        from ._store import load

        snapshot = load(Path(path), embedder)
        path = Path(path).resolve()
        try:
            kb = cls(
                embedder=embedder,
                fusion=snapshot.fusion,
                threshold=snapshot.threshold,
                max_chars=snapshot.max_chars,
                overlap=snapshot.overlap,
                stale_factor=snapshot.stale_factor,
            )
        except UserError as exc:
            raise CorruptIndex(path, f"{type(exc).__name__}: {exc}") from None
        kb._embedder_name = snapshot.embedder
        kb._documents = {d.id: d for d in snapshot.documents}
        kb._hashes = snapshot.hashes
        kb._index = snapshot.index
        kb._dim = snapshot.dim
        kb.path = path
        kb.gaps.attach(path / GAPS_FILE)
        return kb

    def close(self) -> None:
        """Close the database connection of a base loaded from a URL (else a no-op)."""
        if not isinstance(self._index, HybridIndex):
            self._index.close()

    def _snapshot(self) -> IndexSnapshot:
        """The content and settings :func:`~resolvekit.knowledge._store.save` writes (read
        back from the database for a base loaded from a URL)."""
        from ._store import IndexSnapshot

        index = self._index
        documents, hashes = list(self._documents.values()), list(self._hashes)
        if not isinstance(index, HybridIndex):
            chunks = index.all_chunks()
            hashes, body, _, field = index.vectors()
            documents = index.documents()
            index = HybridIndex.build(chunks, body, field)
        dim = int(index.vectors.shape[1]) if len(index) else self._dim or self.embedder.dim
        return IndexSnapshot(
            documents=documents,
            hashes=hashes,
            index=index,
            dim=dim,
            embedder=self.embedder_name,
            fusion=self.fusion,
            threshold=self._threshold,
            max_chars=self.max_chars,
            overlap=self.overlap,
            stale_factor=self.stale_factor,
        )


def _empty(dim: int) -> npt.NDArray[np.float32]:
    return np.zeros((0, dim), dtype=np.float32)
