"""Saving and loading a knowledge base directory.

Layout (format version 1)::

    manifest.json        format, version, embedder name and dim, counts, fusion, threshold
    documents.jsonl      one document per line (for incremental add/sync after loading)
    chunks.jsonl         one chunk per line, with its content hash
    vectors.npy          float32 (n_chunks, dim): embedded chunk bodies
    field_vectors.npy    float32 (n_questions, dim): embedded FAQ questions, in chunk order
    bm25.npz             BM25 postings/weights/idf over bodies (terms as newline-joined bytes)
    field_bm25.npz       the same over FAQ questions
    gaps.jsonl           knowledge-gap log (append-only sidecar, see health.py)

A save writes a sibling temporary directory and swaps it in, so a crash never leaves a half-written
index under the real name. Every load failure becomes :class:`CorruptIndex` or
:class:`IndexMismatch`, never a bare ``KeyError`` or ``ValueError``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import UserError
from ..understanding.embedders import Embedder
from .bm25 import BM25Index
from .chunking import Chunk
from .documents import Document
from .errors import CorruptIndex, DocumentError, IndexMismatch
from .health import GAPS_FILE
from .index import Fusion, HybridIndex

FORMAT = "resolvekit-knowledge"
VERSION = 1
_FILES = (
    "manifest.json",
    "documents.jsonl",
    "chunks.jsonl",
    "vectors.npy",
    "field_vectors.npy",
    "bm25.npz",
    "field_bm25.npz",
)


@dataclass(kw_only=True)
class IndexSnapshot:
    """What a saved index holds: the knowledge base's content and settings as plain data.

    :meth:`KnowledgeBase.save` hands one to :func:`save`; :func:`load` returns one for
    :meth:`KnowledgeBase.load` to rebuild the base from.
    """

    documents: list[Document]
    """Every document, in insertion order."""
    hashes: list[str]
    """Content hash of each chunk body, in chunk order (vectors are reused by hash)."""
    index: HybridIndex
    dim: int
    """Vector size."""
    embedder: str
    """The name of the embedder the vectors come from."""
    fusion: Fusion
    threshold: float | None
    """The answerability threshold set on the base; None for the embedder's default."""
    max_chars: int
    overlap: int
    stale_factor: float


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _undate(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def document_to_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "text": document.text,
        "title": document.title,
        "source": document.source,
        "format": document.format,
        "question": document.question,
        "owner": document.owner,
        "reviewed_at": _date(document.reviewed_at),
        "review_by": _date(document.review_by),
        "metadata": document.metadata,
    }


def document_from_json(data: dict[str, Any]) -> Document:
    return Document(
        id=data["id"],
        text=data["text"],
        title=data.get("title", ""),
        source=data.get("source", ""),
        format=data.get("format", "markdown"),
        question=data.get("question"),
        owner=data.get("owner"),
        reviewed_at=_undate(data.get("reviewed_at")),
        review_by=_undate(data.get("review_by")),
        metadata=dict(data.get("metadata") or {}),
    )


def chunk_to_json(chunk: Chunk, body_hash: str) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "doc_id": chunk.doc_id,
        "text": chunk.text,
        "title": chunk.title,
        "heading_path": list(chunk.heading_path),
        "source": chunk.source,
        "question": chunk.question,
        "owner": chunk.owner,
        "reviewed_at": _date(chunk.reviewed_at),
        "review_by": _date(chunk.review_by),
        "metadata": chunk.metadata,
        "hash": body_hash,
    }


def chunk_from_json(data: dict[str, Any]) -> tuple[Chunk, str]:
    chunk = Chunk(
        id=data["id"],
        doc_id=data["doc_id"],
        text=data["text"],
        title=data.get("title", ""),
        heading_path=tuple(data.get("heading_path") or ()),
        source=data.get("source", ""),
        question=data.get("question"),
        owner=data.get("owner"),
        reviewed_at=_undate(data.get("reviewed_at")),
        review_by=_undate(data.get("review_by")),
        metadata=dict(data.get("metadata") or {}),
    )
    return chunk, str(data["hash"])


def _save_bm25(index: BM25Index, path: Path) -> None:
    arrays = index.to_arrays()
    terms = np.frombuffer("\n".join(arrays.pop("terms")).encode(), dtype=np.uint8)
    np.savez(path, terms=terms, **arrays)


def _load_bm25(path: Path) -> BM25Index:
    # Open the file ourselves: np.load leaks the handle when the zip is broken.
    with path.open("rb") as stream, np.load(stream, allow_pickle=False) as data:
        arrays: dict[str, Any] = {key: data[key] for key in data.files}
    text = arrays.pop("terms").tobytes().decode()
    arrays["terms"] = text.split("\n") if text else []
    return BM25Index.from_arrays(arrays)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")


def save(snapshot: IndexSnapshot, path: Path, *, gaps: Path | None = None) -> Path:
    """Write ``snapshot`` to directory ``path`` (see the module docstring) and return the
    resolved path.

    Args:
        snapshot: what to write.
        path: the index directory, replaced atomically when it exists.
        gaps: the gap log to carry over (default: the one of the index being replaced).
    """
    index = snapshot.index
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    dim = snapshot.dim
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "embedder": snapshot.embedder,
        "dim": dim,
        "documents": len(snapshot.documents),
        "chunks": len(index),
        "fusion": snapshot.fusion.to_json(),
        "threshold": snapshot.threshold,
        "max_chars": snapshot.max_chars,
        "overlap": snapshot.overlap,
        "stale_factor": snapshot.stale_factor,
        "saved_at": time.time(),
    }
    _write_jsonl(tmp / "documents.jsonl", [document_to_json(d) for d in snapshot.documents])
    _write_jsonl(
        tmp / "chunks.jsonl",
        [chunk_to_json(c, h) for c, h in zip(index.chunks, snapshot.hashes, strict=True)],
    )
    empty = np.zeros((0, dim), dtype=np.float32)
    np.save(tmp / "vectors.npy", index.vectors if len(index) else empty)
    np.save(tmp / "field_vectors.npy", index.field_vectors if len(index.field_rows) else empty)
    _save_bm25(index.bm25, tmp / "bm25.npz")
    _save_bm25(index.field_bm25, tmp / "field_bm25.npz")
    # The manifest goes last: a directory without one is recognisably incomplete.
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    old_gaps = gaps if gaps is not None and gaps.exists() else path / GAPS_FILE
    if old_gaps.exists():
        shutil.copyfile(old_gaps, tmp / GAPS_FILE)
    if path.exists():
        trash = path.parent / f".{path.name}.old-{os.getpid()}"
        path.rename(trash)
        tmp.rename(path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        tmp.rename(path)
    return path


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise CorruptIndex(path, "no such directory")
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise CorruptIndex(path, "manifest.json is missing (not an index, or a partial save)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndex(path, f"manifest.json is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptIndex(path, "manifest.json is not a resolvekit knowledge manifest")
    if manifest.get("version") != VERSION:
        raise IndexMismatch(
            path,
            expected=str(VERSION),
            found=str(manifest.get("version")),
            what="format version",
        )
    missing = [name for name in _FILES if not (path / name).exists()]
    if missing:
        raise CorruptIndex(path, f"missing files: {', '.join(missing)}")
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the index at ``path``, validated (for ``resolvekit index stats``)."""
    return _read_manifest(path)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name} line {number} is not JSON ({exc.msg})") from None
    return rows


def load(path: Path, embedder: Embedder | None) -> IndexSnapshot:
    """Read the index at ``path`` (see :meth:`KnowledgeBase.load`).

    Args:
        path: the index directory.
        embedder: the embedder the caller will query with, checked against the stored name and
            vector size; None to accept the stored one.

    Raises:
        CorruptIndex: missing, unreadable or inconsistent files.
        IndexMismatch: another embedder, vector size or format version.
    """
    path = path.resolve()
    manifest = _read_manifest(path)
    stored_name = str(manifest.get("embedder"))
    if embedder is not None and embedder.name != stored_name:
        raise IndexMismatch(path, expected=embedder.name, found=stored_name, what="embedder")
    try:
        documents = [document_from_json(row) for row in _read_jsonl(path / "documents.jsonl")]
        pairs = [chunk_from_json(row) for row in _read_jsonl(path / "chunks.jsonl")]
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        field_vectors = np.load(path / "field_vectors.npy", allow_pickle=False)
        bm25 = _load_bm25(path / "bm25.npz")
        field_bm25 = _load_bm25(path / "field_bm25.npz")
        chunks = [chunk for chunk, _ in pairs]
        field_rows = np.array([i for i, c in enumerate(chunks) if c.question], dtype=np.int64)
        dim = int(manifest["dim"])
        if vectors.dtype != np.float32 or vectors.shape != (len(chunks), dim):
            raise ValueError(
                f"vectors.npy has shape {vectors.shape}, expected {(len(chunks), dim)}"
            )
        if field_vectors.shape != (len(field_rows), dim):
            raise ValueError("field_vectors.npy does not match the FAQ chunks")
        index = HybridIndex(
            chunks=chunks,
            vectors=vectors,
            field_rows=field_rows,
            field_vectors=field_vectors.astype(np.float32),
            bm25=bm25,
            field_bm25=field_bm25,
        )
        threshold = manifest.get("threshold")
        snapshot = IndexSnapshot(
            documents=documents,
            hashes=[h for _, h in pairs],
            index=index,
            dim=dim,
            embedder=stored_name,
            fusion=Fusion.from_json(manifest.get("fusion") or {}),
            threshold=None if threshold is None else float(threshold),
            max_chars=int(manifest.get("max_chars", 1200)),
            overlap=int(manifest.get("overlap", 150)),
            stale_factor=float(manifest.get("stale_factor", 0.8)),
        )
    except (
        UserError,
        DocumentError,
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        UnicodeDecodeError,
    ) as exc:
        raise CorruptIndex(path, f"{type(exc).__name__}: {exc}") from None
    if embedder is not None and embedder.dim != dim:
        raise IndexMismatch(path, expected=str(embedder.dim), found=str(dim), what="vector size")
    return snapshot
