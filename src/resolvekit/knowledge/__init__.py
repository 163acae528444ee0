"""Knowledge: documents -> chunks -> hybrid index (dense + BM25) -> cited, grounded answers.

Example:
    >>> from resolvekit.knowledge import KnowledgeBase
    >>> from resolvekit.understanding.embedders import HashingEmbedder
    >>> kb = KnowledgeBase(embedder=HashingEmbedder())
    >>> report = kb.add([{"question": "Can I return an opened item?",
    ...                   "answer": "Yes, within 30 days of delivery."}])
    >>> answer = kb.ask("return opened item")
    >>> answer.answerable, answer.text
    (True, 'Yes, within 30 days of delivery.')

See ``docs/knowledge.md`` for ingestion formats, search, answers and content health.
"""

from __future__ import annotations

from .answers import ANSWER_INSTRUCTIONS, Answer, Hit, calibrate_threshold
from .base import DEFAULT_FUSION, IndexReport, KnowledgeBase, default_fusion
from .bm25 import BM25Index
from .chunking import Chunk, chunk_document, chunk_documents
from .documents import Document, load_documents, load_file
from .errors import CorruptIndex, DocumentError, IndexMismatch, KnowledgeError
from .health import Gap, StaleDocument
from .index import Filters, Fusion

__all__ = [
    "ANSWER_INSTRUCTIONS",
    "DEFAULT_FUSION",
    "Answer",
    "BM25Index",
    "Chunk",
    "CorruptIndex",
    "Document",
    "DocumentError",
    "Filters",
    "Fusion",
    "Gap",
    "Hit",
    "IndexMismatch",
    "IndexReport",
    "KnowledgeBase",
    "KnowledgeError",
    "StaleDocument",
    "calibrate_threshold",
    "chunk_document",
    "chunk_documents",
    "default_fusion",
    "load_documents",
    "load_file",
]
