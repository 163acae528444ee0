"""Documents and their ingestion: markdown, plain text, HTML, JSON/CSV FAQs, folders, objects.

Every loader returns :class:`Document` objects. Review metadata (``owner``, ``reviewed_at``,
``review_by``) and filter metadata (``product``, ``locale``, ``audience``, anything else) come from
markdown front matter (YAML), FAQ columns/keys, or the ``metadata`` argument (which the document's
own values override)::

    ---
    title: Refund policy
    owner: billing-team
    reviewed_at: 2024-05-01
    review_by: 2025-05-01
    product: payments
    audience: customer        # or "agent": never shown to customers
    ---
    # Refund policy
    ...

Front matter values are kept as written (``locale: no`` is the text ``"no"``, not a boolean); a
list of values becomes one comma-separated value; nested keys are allowed under ``metadata:``
only.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from ._html import html_to_text
from .errors import DocumentError

__all__ = [
    "Document",
    "DocumentFormat",
    "load_documents",
    "load_file",
    "parse_faq_csv",
    "parse_faq_json",
    "parse_html",
    "parse_markdown",
    "parse_text",
]

DocumentFormat = Literal["markdown", "text", "faq"]
Audience = Literal["customer", "agent"]

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
}
"""File suffixes :func:`load_file` understands, and the parser each one uses."""

_RESERVED = ("id", "title", "source", "url", "owner", "reviewed_at", "review_by")


@dataclass(kw_only=True)
class Document:
    """One knowledge article or FAQ entry, before chunking."""

    id: str
    """Stable identifier (a relative path, an FAQ entry id); cited in answers."""
    text: str
    """The body: markdown (headings as ``#`` lines), plain text, or an FAQ answer."""
    title: str = ""
    source: str = ""
    """URL or file path shown in citations."""
    format: DocumentFormat = "markdown"
    """``markdown`` splits on headings; ``text`` on paragraphs; ``faq`` keeps ``question``."""
    question: str | None = None
    """For FAQ entries: the question the answer in ``text`` responds to."""
    owner: str | None = None
    """Who maintains the content (a team or person), for content health reports."""
    reviewed_at: date | None = None
    review_by: date | None = None
    """After this date the content is stale: flagged and down-weighted in search."""
    metadata: dict[str, str] = field(default_factory=dict)
    """Filterable fields: ``product``, ``locale``, ``audience`` (``customer``/``agent``), ..."""

    def __post_init__(self) -> None:
        if not self.id:
            raise DocumentError(self.source or "document", "a document needs a non-empty id")
        audience = self.metadata.get("audience")
        if audience is not None and audience not in ("customer", "agent"):
            raise DocumentError(
                self.source or self.id,
                f"audience must be 'customer' or 'agent', not {audience!r}",
            )
        if self.format == "faq" and not (self.question and self.question.strip()):
            raise DocumentError(self.source or self.id, "an FAQ entry needs a question")


def _as_date(value: Any, where: str, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise DocumentError(
            where, f"{key} must be an ISO date (YYYY-MM-DD), not {value!r}"
        ) from None


def _split_fields(
    values: Mapping[str, Any], where: str, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge ``base`` and ``values`` into Document keyword arguments (values win)."""
    merged: dict[str, Any] = {**(base or {}), **values}
    out: dict[str, Any] = {"metadata": {}}
    for key, value in merged.items():
        if value is None:
            continue
        if key in ("reviewed_at", "review_by"):
            out[key] = _as_date(value, where, key)
        elif key == "url":
            out["source"] = str(value)
        elif key in _RESERVED:
            out[key] = str(value)
        elif key == "metadata" and isinstance(value, Mapping):
            out["metadata"].update({str(k): str(v) for k, v in value.items() if v is not None})
        else:
            out["metadata"][str(key)] = str(value)
    return out


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_SCALARS = (str, int, float, bool, date)
"""What a front matter value may be (``datetime`` is a ``date``)."""


@functools.cache
def _front_matter_loader() -> type[Any]:
    """PyYAML's safe loader with no implicit typing: every plain value stays the text it is.

    ``yaml.safe_load`` would read ``locale: no`` as ``False``, ``version: 1.10`` as ``1.1`` and
    ``id: 010`` as ``8``; metadata is text, so values are kept as written (dates are parsed by
    :func:`_as_date`). Quoting, comments, block scalars, lists and mappings are YAML's.
    """
    import yaml  # PyYAML: imported on first use, so `import resolvekit` stays fast

    # A subclass of the safe loader (libyaml's when installed): the same constructors, which
    # build plain Python values only, and no implicit resolvers.
    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader: type[Any] = type("FrontMatterLoader", (safe,), {})
    loader.yaml_implicit_resolvers = {}
    return loader


def _front_matter_value(key: str, value: Any, where: str) -> Any:
    """``value`` as a :func:`_split_fields` input: a scalar, or a list of scalars joined."""
    if isinstance(value, _SCALARS) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value):
        return ", ".join(v.isoformat() if isinstance(v, date) else str(v) for v in value)
    if isinstance(value, dict):
        kind = "a mapping"
    elif isinstance(value, list):
        kind = "a list of lists or mappings"
    else:
        kind = f"a {type(value).__name__}"
    raise DocumentError(
        where,
        f"front matter key {key!r} holds {kind}: values must be text, numbers, dates or lists "
        f"of them (nested keys are allowed under 'metadata' only)",
    )


def _front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    """The front matter of a markdown document as Document fields, and the body after it.

    Raises:
        DocumentError: the front matter is not valid YAML, not a mapping, or holds a nested
            value outside ``metadata``.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    import yaml

    try:
        data = yaml.load(match.group(1), Loader=_front_matter_loader())
    except yaml.YAMLError as exc:
        raise DocumentError(where, _yaml_problem(exc, match.group(1))) from None
    if data is None:
        return {}, text[match.end() :]
    if not isinstance(data, dict):
        kind = "text" if isinstance(data, str) else f"a {type(data).__name__}"
        raise DocumentError(
            where, f"front matter is not 'key: value' lines (a YAML mapping) but {kind}"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key.strip():
            raise DocumentError(where, f"front matter has an empty or non-text key: {key!r}")
        if key == "metadata" and isinstance(value, dict):
            values[key] = {
                str(k): _front_matter_value(f"metadata.{k}", v, where) for k, v in value.items()
            }
        else:
            values[key.strip()] = _front_matter_value(key, value, where)
    return values, text[match.end() :]


def _yaml_problem(exc: Exception, front: str) -> str:
    """A one-line description of a YAML error in the front matter ``front``, with its line in
    the file (the front matter starts on line 2)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = ""
    if mark is not None:
        last = front.count("\n")  # errors at the end of the text point past its last line
        where = f" (line {min(mark.line, last) + 2})"
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = "; quote a value that contains ': '"
    return f"front matter is not valid YAML{where}: {problem}{hint}"


def _first_heading(text: str) -> str:
    match = re.search(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def parse_markdown(
    text: str,
    *,
    id: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Document:
    """Parse a markdown article; front matter keys override ``metadata``.

    Raises:
        DocumentError: malformed front matter or metadata.
    """
    where = source or id
    front, body = _front_matter(text, where)
    fields = _split_fields(front, where, {"id": id, "source": source, **(metadata or {})})
    fields.setdefault("title", _first_heading(body) or _stem(id))
    return Document(text=body.strip(), format="markdown", **fields)


def parse_text(
    text: str,
    *,
    id: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Document:
    """A plain-text article: chunked by paragraphs, titled by ``metadata['title']`` or its id."""
    fields = _split_fields({}, source or id, {"id": id, "source": source, **(metadata or {})})
    fields.setdefault("title", _stem(id))
    return Document(text=text.strip(), format="text", **fields)


def parse_html(
    html: str,
    *,
    id: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Document:
    """An HTML page: text extracted (boilerplate dropped), headings kept for chunking."""
    title, text = html_to_text(html)
    fields = _split_fields({}, source or id, {"id": id, "source": source, **(metadata or {})})
    fields.setdefault("title", title or _first_heading(text) or _stem(id))
    return Document(text=text, format="markdown", **fields)


def _faq_entry(
    entry: Mapping[str, Any],
    *,
    number: int,
    default_id: str,
    source: str,
    base: Mapping[str, Any] | None,
) -> Document:
    where = f"{source or default_id} (entry {number})"
    question = entry.get("question")
    answer = entry.get("answer")
    if isinstance(answer, list):
        answer = "\n\n".join(str(part) for part in answer if part)
    if not isinstance(question, str) or not question.strip():
        raise DocumentError(where, "an FAQ entry needs a non-empty 'question' string")
    if not isinstance(answer, str) or not answer.strip():
        raise DocumentError(where, "an FAQ entry needs a non-empty 'answer' (string or list)")
    rest = {k: v for k, v in entry.items() if k not in ("question", "answer")}
    fields = _split_fields(rest, where, {"source": source, **(base or {})})
    fields["id"] = str(entry["id"]) if entry.get("id") not in (None, "") else default_id
    fields.setdefault("title", question.strip())
    return Document(text=answer.strip(), format="faq", question=question.strip(), **fields)


def parse_faq_json(
    data: str | list[Any] | Mapping[str, Any],
    *,
    id: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> list[Document]:
    """FAQ entries from JSON: a list of ``{"question", "answer", ...}`` objects, or an object
    holding such a list under ``"faq"``, ``"faqs"``, ``"items"`` or ``"entries"``.

    ``answer`` may be a string or a list of strings (joined as paragraphs). Other keys (``id``,
    ``url``, ``product``, ``locale``, ``audience``, ``owner``, ``review_by``...) become the entry's
    metadata. Entries without an ``id`` are numbered ``<file id>#<n>`` from 1.

    Raises:
        DocumentError: invalid JSON or an entry without question/answer.
    """
    where = source or id
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise DocumentError(where, f"invalid JSON: {exc}") from None
    if isinstance(data, Mapping):
        key = next((k for k in ("faq", "faqs", "items", "entries") if k in data), None)
        if key is None:
            raise DocumentError(
                where, "expected a list of FAQ entries or an object with a 'faq' list"
            )
        data = data[key]
    if not isinstance(data, list):
        raise DocumentError(where, "expected a list of FAQ entries")
    documents = []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, Mapping):
            raise DocumentError(f"{where} (entry {number})", "an FAQ entry must be an object")
        documents.append(
            _faq_entry(
                entry, number=number, default_id=f"{id}#{number}", source=source, base=metadata
            )
        )
    return documents


def parse_faq_csv(
    text: str,
    *,
    id: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> list[Document]:
    """FAQ entries from CSV with a header row holding ``question`` and ``answer`` columns.

    Other columns become metadata; empty cells are ignored.

    Raises:
        DocumentError: missing columns or an empty question/answer.
    """
    where = source or id
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "question" not in columns or "answer" not in columns:
        raise DocumentError(where, f"CSV needs 'question' and 'answer' columns, found {columns}")
    documents = []
    for number, row in enumerate(reader, start=1):
        entry = {str(k).strip().lower(): v for k, v in row.items() if k is not None and v}
        documents.append(
            _faq_entry(
                entry, number=number, default_id=f"{id}#{number}", source=source, base=metadata
            )
        )
    return documents


def load_file(
    path: str | Path, *, id: str | None = None, metadata: Mapping[str, Any] | None = None
) -> list[Document]:
    """Load one file by its suffix (see :data:`SUFFIXES`).

    Args:
        path: the file.
        id: the document id (default: the file name); FAQ entries get ``<id>#<n>``.
        metadata: defaults for every document from the file.

    Raises:
        DocumentError: unknown suffix, unreadable file, or invalid content.
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(
            str(path), f"unsupported file type {path.suffix!r}; supported: {sorted(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(str(path), f"cannot read the file ({exc})") from None
    doc_id = id or path.name
    source = str(path)
    if kind == "markdown":
        return [parse_markdown(text, id=doc_id, source=source, metadata=metadata)]
    if kind == "text":
        return [parse_text(text, id=doc_id, source=source, metadata=metadata)]
    if kind == "html":
        return [parse_html(text, id=doc_id, source=source, metadata=metadata)]
    if kind == "json":
        return parse_faq_json(text, id=doc_id, source=source, metadata=metadata)
    return parse_faq_csv(text, id=doc_id, source=source, metadata=metadata)


def _load_folder(folder: Path, metadata: Mapping[str, Any] | None) -> list[Document]:
    documents: list[Document] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in SUFFIXES:
            continue
        documents.extend(load_file(path, id=relative.as_posix(), metadata=metadata))
    return documents


def _from_mapping(record: Mapping[str, Any], number: int) -> list[Document]:
    where = f"record {number}"
    if "question" in record:
        return [
            _faq_entry(record, number=number, default_id=f"record-{number}", source="", base=None)
        ]
    text = record.get("text")
    if not isinstance(text, str):
        raise DocumentError(where, "a record needs 'text' (an article) or 'question' (an FAQ)")
    rest = {k: v for k, v in record.items() if k not in ("text", "format", "id", "source", "url")}
    doc_id = str(record.get("id") or f"record-{number}")
    source = str(record.get("source") or record.get("url") or "")
    fmt = record.get("format", "markdown")
    parsers = {"markdown": parse_markdown, "text": parse_text, "html": parse_html}
    if fmt not in parsers:
        raise DocumentError(where, f"format must be 'markdown', 'text' or 'html', not {fmt!r}")
    return [parsers[fmt](text, id=doc_id, source=source, metadata=rest)]


def load_documents(
    source: Any,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> list[Document]:
    """Load documents from a file, a folder (recursively), objects, or an iterable of these.

    Args:
        source: a path (``str``/``Path``) to a file or folder; a :class:`Document`; a mapping
            (``{"question", "answer", ...}`` for an FAQ entry, ``{"id", "title", "text",
            "format"?, ...}`` for an article); or a list/iterable mixing them.
        metadata: defaults applied to every file-loaded document (e.g. ``{"locale": "en"}``).

    Returns:
        The documents, folders in sorted path order (ids are paths relative to the folder).

    Raises:
        DocumentError: a path that does not exist, an unsupported object, invalid content, or
            two documents with the same id.
    """
    documents: list[Document] = []
    items = [source] if isinstance(source, str | Path | Document | Mapping) else source
    try:
        iterator = iter(items)
    except TypeError:
        raise DocumentError(repr(source)[:80], "not a path, Document, mapping or list") from None
    for number, item in enumerate(iterator, start=1):
        if isinstance(item, Document):
            documents.append(item)
        elif isinstance(item, str | Path):
            path = Path(item)
            if path.is_dir():
                documents.extend(_load_folder(path, metadata))
            elif path.is_file():
                documents.extend(load_file(path, metadata=metadata))
            else:
                raise DocumentError(str(path), "no such file or folder")
        elif isinstance(item, Mapping):
            documents.extend(_from_mapping(item, number))
        else:
            raise DocumentError(
                repr(item)[:80], f"cannot ingest a {type(item).__name__}: pass paths or Documents"
            )
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            raise DocumentError(document.source or document.id, f"duplicate id {document.id!r}")
        seen.add(document.id)
    return documents


def _stem(doc_id: str) -> str:
    name = doc_id.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name
