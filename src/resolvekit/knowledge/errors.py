"""Typed errors of the knowledge index, all subclasses of :class:`~resolvekit.KnowledgeError`::

KnowledgeError
├── DocumentError      a document could not be read or parsed (names the file and the reason)
├── IndexMismatch      the index was built with another embedder (or format version)
└── CorruptIndex       the index directory is missing files or holds unreadable data
"""

from __future__ import annotations

from pathlib import Path

from ..exceptions import KnowledgeError

__all__ = ["CorruptIndex", "DocumentError", "IndexMismatch", "KnowledgeError"]


class DocumentError(KnowledgeError):
    """A document could not be ingested.

    Attributes:
        source: the file path or object description that failed.
        reason: what was wrong with it.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"Cannot ingest {source}: {reason}")


class IndexMismatch(KnowledgeError):
    """The index on disk was built with a different embedder or format than the one in use.

    Attributes:
        path: the index directory.
        expected: what the caller uses (embedder name or format version).
        found: what the index was built with.
    """

    def __init__(self, path: Path | str, *, expected: str, found: str, what: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.found = found
        super().__init__(
            f"Knowledge index at {self.path} was built with {what} {found!r}, but {expected!r} "
            f"is in use: load it with the same {what}, or rebuild it "
            f"(`resolvekit index build DIR --out {self.path}`)"
        )


class CorruptIndex(KnowledgeError):
    """The index directory is incomplete or unreadable (a crashed save, a hand-edited file).

    Attributes:
        path: the index directory.
        reason: which file is missing or broken, and how.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"Knowledge index at {self.path} is broken: {reason}; rebuild it with "
            f"`resolvekit index build DIR --out {self.path} --rebuild`"
        )
