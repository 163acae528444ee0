"""Chunking: documents -> passages small enough to retrieve and cite.

Markdown (and HTML, converted to markdown headings) is split at its headings first, so each chunk
belongs to one section and carries its heading path (``("Refunds", "Eligibility")``). A section
longer than ``max_chars`` is split at paragraph, line and sentence boundaries (words, as a last
resort); consecutive pieces of one section share up to ``overlap`` characters of whole sentences so
an answer spanning the cut is still found. No chunk is longer than ``max_chars``.

Plain text is split by the same rules without headings; an FAQ entry's answer likewise, and every
piece keeps the entry's question. A markdown section whose heading is a question ("## How long do
refunds take?", or "## How to reset your password" without the mark) is an FAQ entry too: the
heading is indexed as its question (see :func:`is_question`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from ..exceptions import UserError
from ..messages import Citation
from ._text import clean_markup, split_sentences
from .documents import Document
from .errors import DocumentError

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_OVERLAP",
    "Chunk",
    "chunk_document",
    "chunk_documents",
    "is_question",
]

DEFAULT_MAX_CHARS = 1200
"""About 250 words: within the 256 word-piece window of MiniLM-class embedders."""
DEFAULT_OVERLAP = 150


@dataclass(kw_only=True)
class Chunk:
    """One retrievable passage with everything needed to cite it."""

    id: str
    """``<doc_id>#c<n>``: unique in an index."""
    doc_id: str
    text: str
    """The passage itself (without its heading line)."""
    title: str = ""
    heading_path: tuple[str, ...] = ()
    """Headings from the top of the document down to this section."""
    source: str = ""
    question: str | None = None
    """FAQ chunks: the entry's question, indexed as a separate field."""
    owner: str | None = None
    reviewed_at: date | None = None
    review_by: date | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def section(self) -> tuple[str, tuple[str, ...], str]:
        """Which section of its document the chunk belongs to: the document id, the heading
        path and the FAQ question. Pieces of one long section share it; search returns at most
        one passage per section (so a one-page FAQ gives one hit per question)."""
        return (self.doc_id, self.heading_path, self.question or "")

    @property
    def heading(self) -> str:
        """The heading path as one string: ``"Refunds > Eligibility"``."""
        return " > ".join(self.heading_path)

    @property
    def citation(self) -> Citation:
        """A :class:`~resolvekit.messages.Citation` pointing at this chunk."""
        return Citation(
            doc_id=self.doc_id,
            title=self.title,
            source=self.source,
            heading=self.heading,
            chunk_id=self.id,
        )

    @property
    def body(self) -> str:
        """The text indexed for the chunk: its context (title, headings or question) + text."""
        if self.question:
            return f"{self.question}\n{self.text}"
        context = [self.title] if self.title else []
        context += [h for h in self.heading_path if h not in context]
        return "\n".join([" > ".join(context), self.text]) if context else self.text

    @property
    def body_hash(self) -> str:
        """Content hash of :attr:`body`: re-indexing re-embeds a chunk only when it changes."""
        return content_hash(self.body)

    def is_stale(self, today: date) -> bool:
        """True when ``review_by`` has passed."""
        return self.review_by is not None and self.review_by < today


def content_hash(text: str) -> str:
    """A short, stable hash of ``text`` (hex)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def _sections(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Split markdown into ``(heading_path, body)`` pairs, ignoring ``#`` lines inside code."""
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append((tuple(title for _, title in stack), body))
        lines.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
    flush()
    return sections


# An atom is a piece of text that is never split further, with the separator that joins it to
# the atom before it: "\n\n" between paragraphs, "\n" between lines, " " between sentences.
_Atom = tuple[str, str]


def _atoms(text: str, max_chars: int) -> list[_Atom]:
    atoms: list[_Atom] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        sep = "\n\n"
        if len(paragraph) <= max_chars:
            atoms.append((paragraph, sep))
            continue
        for line in paragraph.split("\n"):
            pieces = [line.strip()] if len(line) <= max_chars else split_sentences(line)
            for piece in pieces:
                for part in _hard_split(piece, max_chars):
                    atoms.append((part, sep))
                    sep = " "
            sep = "\n"
    return atoms


def _hard_split(text: str, max_chars: int) -> list[str]:
    """Split an over-long sentence at spaces (or anywhere, for a monster token)."""
    if len(text) <= max_chars:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars:
            parts.append(current)
            current = word
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _join(atoms: list[_Atom]) -> str:
    return "".join(text if i == 0 else sep + text for i, (text, sep) in enumerate(atoms))


def _length(atoms: list[_Atom]) -> int:
    return sum(len(text) for text, _ in atoms) + sum(len(sep) for _, sep in atoms[1:])


def _pack(atoms: list[_Atom], max_chars: int, overlap: int) -> list[str]:
    """Greedy packing of atoms into pieces of at most ``max_chars``, each starting with up to
    ``overlap`` characters (whole atoms) from the end of the previous piece."""
    pieces: list[str] = []
    start = 0
    while start < len(atoms):
        end = start + 1
        while end < len(atoms) and _length(atoms[start : end + 1]) <= max_chars:
            end += 1
        pieces.append(_join(atoms[start:end]))
        if end >= len(atoms):
            break
        # Carry the longest tail that fits in ``overlap`` and still leaves room for the next atom.
        next_start = end
        while (
            next_start - 1 > start
            and _length(atoms[next_start - 1 : end]) <= overlap
            and _length(atoms[next_start - 1 : end + 1]) <= max_chars
        ):
            next_start -= 1
        start = next_start
    return pieces


def chunk_document(
    document: Document,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> list[Chunk]:
    """Split one document into chunks (see the module docstring for the rules).

    Args:
        document: the document.
        max_chars: upper bound on each chunk's ``text`` length.
        overlap: characters of whole sentences repeated between consecutive pieces of a section.

    Raises:
        UserError: ``max_chars`` below 50 or ``overlap`` not below ``max_chars / 2``.
    """
    if max_chars < 50:
        raise UserError(f"max_chars must be at least 50, not {max_chars}")
    if not 0 <= overlap < max_chars // 2:
        raise UserError(f"overlap must be in [0, max_chars / 2), not {overlap}")
    text = clean_markup(document.text)
    if document.format == "markdown":
        sections = _sections(text)
    else:
        sections = [((), text)] if text.strip() else []
    chunks: list[Chunk] = []
    for path, body in sections:
        # "## How long do refunds take?" is an FAQ entry written as a section: its heading is
        # indexed as the question, as an FAQ file's would be.
        question = (clean_markup(document.question) if document.question else None) or (
            path[-1] if path and is_question(path[-1]) else None
        )
        for piece in _pack(_atoms(body, max_chars), max_chars, overlap):
            chunks.append(
                Chunk(
                    id=f"{document.id}#c{len(chunks)}",
                    doc_id=document.id,
                    text=piece,
                    title=document.title,
                    heading_path=path,
                    source=document.source,
                    question=question,
                    owner=document.owner,
                    reviewed_at=document.reviewed_at,
                    review_by=document.review_by,
                    metadata=dict(document.metadata),
                )
            )
    if not chunks and document.question:
        raise DocumentError(document.source or document.id, "an FAQ entry needs an answer")
    return chunks


_QUESTION_WORDS = """how what when where why who whom whose which can could do does did is are was
    were will would should shall may might am have has"""
_QUESTION_START = frozenset(_QUESTION_WORDS.split())


def is_question(heading: str) -> bool:
    """Whether a heading reads as a question, and is indexed as one: it ends with ``?``, or
    starts with a question word or an auxiliary verb ("How to reset my password",
    "Can I change plan mid-cycle"). Topic headings ("Timing", "Refund policy") are not."""
    words = heading.strip().split(maxsplit=1)
    if not words:
        return False
    return heading.rstrip().endswith("?") or words[0].lower().strip("\"'*_") in _QUESTION_START


def chunk_documents(
    documents: list[Document],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> list[Chunk]:
    """:func:`chunk_document` over many documents, in order."""
    return [
        chunk
        for document in documents
        for chunk in chunk_document(document, max_chars=max_chars, overlap=overlap)
    ]
