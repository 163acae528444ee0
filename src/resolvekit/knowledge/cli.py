"""``resolvekit index build | query | calibrate | stats``: the knowledge index from the command
line.

The top-level ``resolvekit`` command registers these with :func:`add_index_commands`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ..understanding.embedders import Embedder, HashingEmbedder
from ._pg import redact
from .answers import Answer
from .errors import CorruptIndex, IndexMismatch

if TYPE_CHECKING:
    from .base import KnowledgeBase

__all__ = ["add_index_commands"]


def add_index_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``index build``, ``index query`` and ``index stats``.

    Args:
        subparsers: the top-level parser's subcommands; ``index`` is added to them.
    """
    family = subparsers.add_parser(
        "index",
        help="build, query and inspect a knowledge index",
        description="Build, query and inspect a knowledge index.",
    )
    family.set_defaults(family_parser=family)
    commands = family.add_subparsers(dest="index_command", metavar="SUBCOMMAND")

    build = commands.add_parser(
        "build",
        help="index a folder of documents (incremental when the index exists)",
        description="Index DIR (markdown, text, HTML, JSON/CSV FAQs) into the directory OUT. "
        "When OUT already holds an index built with the same embedder, only new or changed "
        "chunks are embedded.",
    )
    build.add_argument("source", metavar="DIR", type=Path, help="folder (or file) to index")
    build.add_argument("--out", required=True, type=Path, help="index directory to write")
    build.add_argument(
        "--embedder",
        choices=("default", "hashing"),
        default="default",
        help="default: all-MiniLM-L6-v2 (needs the 'local' extra); hashing: no model, for tests",
    )
    build.add_argument("--rebuild", action="store_true", help="ignore an existing index at OUT")
    build.add_argument("--max-chars", type=int, default=1200, help="chunk size bound")
    build.add_argument("--overlap", type=int, default=150, help="chunk overlap in characters")
    build.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="default metadata for every document (repeatable), e.g. locale=en",
    )
    _add_ranking_options(build)
    build.add_argument(
        "--calibrate",
        metavar="FILE",
        type=Path,
        help="after indexing, calibrate on labelled questions (see `index calibrate`)",
    )
    build.add_argument("--target-precision", type=float, default=0.9, help=argparse.SUPPRESS)
    build.set_defaults(handler=_build)

    calibrate = commands.add_parser(
        "calibrate",
        help="set the answerability threshold (and the dense ranking) from labelled questions",
        description='Calibrate an index on FILE: JSON Lines of {"question": ..., '
        '"expected": doc id | [doc ids] | null} (null: a question it must not answer), or a '
        "CSV with question and expected columns (several ids separated by '|'). Sets the "
        "lowest threshold whose answered questions reach --target-precision and, unless "
        "--keep-center, whether dense cosines are centred and, unless --keep-best-of-two, "
        "whether FAQ entries match on the better of question and body or the body alone; "
        "saves the index.",
    )
    calibrate.add_argument("index", metavar="PATH", type=Path, help="index directory")
    calibrate.add_argument("examples", metavar="FILE", type=Path, help="labelled questions")
    calibrate.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        help="share of answered questions whose best hit must be right (default 0.9)",
    )
    calibrate.add_argument(
        "--keep-center", action="store_true", help="do not choose centring, only the threshold"
    )
    calibrate.add_argument(
        "--keep-best-of-two", action="store_true", help="do not choose best of two / body only"
    )
    calibrate.set_defaults(handler=_calibrate)

    query = commands.add_parser("query", help="answer a question from an index")
    query.add_argument(
        "index", metavar="PATH", type=_index_arg, help="directory or postgresql:// URL"
    )
    query.add_argument("question")
    query.add_argument("-k", type=int, default=5, help="passages to show")
    query.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata filter (repeatable; VALUE may be a,b for several)",
    )
    query.add_argument("--json", action="store_true", help="print JSON")
    query.add_argument(
        "--threshold", type=float, help="answerability threshold for this query only"
    )
    _add_ranking_options(query, saved="for this query only")
    query.set_defaults(handler=_query)

    stats = commands.add_parser("stats", help="size, stale content and knowledge gaps")
    stats.add_argument(
        "index", metavar="PATH", type=_index_arg, help="directory or postgresql:// URL"
    )
    stats.add_argument("--gaps", type=int, default=20, help="how many gaps to list")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(handler=_stats)


def _add_ranking_options(parser: argparse.ArgumentParser, saved: str = "saved") -> None:
    group = parser.add_argument_group(f"ranking ({saved}; default: the index's own)")
    group.add_argument("--fusion", choices=("weighted", "rrf"), help="how signals combine")
    for name in ("dense", "dense-field", "lexical", "lexical-field"):
        group.add_argument(f"--{name}", type=float, metavar="W", help=f"weight of {name}")
    group.add_argument(
        "--center",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="centre dense cosines on the corpus mean",
    )
    group.add_argument(
        "--best-of-two",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="FAQ entries match on the better of question and body (--no-best-of-two: body)",
    )
    if saved == "saved":
        group.add_argument("--threshold", type=float, help="answerability threshold")


def _apply_ranking(kb: KnowledgeBase, args: argparse.Namespace) -> None:
    """Set the fusion options given on the command line (others keep the index's values)."""
    from dataclasses import replace

    changes: dict[str, Any] = {
        field: value
        for field, value in (
            ("method", args.fusion),
            ("dense", args.dense),
            ("dense_field", args.dense_field),
            ("lexical", args.lexical),
            ("lexical_field", args.lexical_field),
            ("center", args.center),
            ("best_of_two", args.best_of_two),
        )
        if value is not None
    }
    if changes:
        kb.fusion = replace(kb.fusion, **changes)
    if args.threshold is not None:
        kb.threshold = args.threshold


def _read_examples(path: Path) -> list[tuple[str, Any]]:
    """Labelled questions from JSON Lines or CSV (see ``index calibrate --help``)."""
    import csv

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    examples: list[tuple[str, Any]] = []
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and not {"question", "expected"} <= set(rows[0]):
            raise UserError(f"{path}: the CSV needs 'question' and 'expected' columns")
        for row in rows:
            ids = [i.strip() for i in (row["expected"] or "").split("|") if i.strip()]
            examples.append((row["question"], ids or None))
        return examples
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            examples.append((str(record["question"]), record.get("expected")))
        except (ValueError, KeyError, TypeError):
            raise UserError(
                f"{path}:{number}: expected a JSON object with 'question' and 'expected'"
            ) from None
    return examples


def _calibrate(args: argparse.Namespace) -> int:
    from .base import KnowledgeBase

    kb = KnowledgeBase.load(args.index)
    choose = (not args.keep_center, not args.keep_best_of_two)
    _calibrate_and_report(kb, args.examples, args.target_precision, *choose)
    kb.save(args.index)
    return 0


def _calibrate_and_report(
    kb: KnowledgeBase,
    examples: Path,
    target_precision: float,
    choose_center: bool,
    choose_best_of_two: bool,
) -> None:
    kb.calibrate(
        _read_examples(examples),
        target_precision=target_precision,
        choose_center=choose_center,
        choose_best_of_two=choose_best_of_two,
    )
    found = kb.calibration
    assert found is not None
    tried = ", ".join(
        f"{_ranking_label(*setting)} {right}/{found.answerable} right first"
        for setting, right in sorted(found.right_first.items(), reverse=True)
    )
    print(
        f"Calibrated on {found.questions} questions ({found.answerable} answerable): "
        f"threshold {found.threshold:.3f}, {_ranking_label(found.center, found.best_of_two)}"
        + (f" ({tried})" if tried else "")
    )


def _ranking_label(center: bool, best_of_two: bool) -> str:
    return f"{'centred' if center else 'raw'} cosines, {'best of two' if best_of_two else 'body'}"


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} expects KEY=VALUE, got {value!r}")
        out[key.strip()] = item.strip()
    return out


def _embedder(choice: str) -> Embedder:
    if choice == "hashing":
        return HashingEmbedder()
    from ..understanding.embedders import default_embedder

    return default_embedder()


def _build(args: argparse.Namespace) -> int:
    from .base import KnowledgeBase

    metadata = _pairs(args.metadata, "--metadata")
    embedder = _embedder(args.embedder)
    started = time.perf_counter()
    kb: KnowledgeBase | None = None
    if args.out.exists() and not args.rebuild:
        try:
            kb = KnowledgeBase.load(args.out, embedder=embedder)
        except IndexMismatch as exc:
            print(f"note: rebuilding from scratch: {exc}", file=sys.stderr)
        except CorruptIndex as exc:
            raise UserError(f"{exc} (or pass --rebuild to overwrite it)") from None
    if kb is None or (kb.max_chars, kb.overlap) != (args.max_chars, args.overlap):
        kb = KnowledgeBase(embedder=embedder, max_chars=args.max_chars, overlap=args.overlap)
    report = kb.sync(args.source, metadata=metadata)
    if report.documents == 0:
        raise UserError(
            f"No documents found in {args.source} (supported: .md, .txt, .html, .json, .csv)"
        )
    _apply_ranking(kb, args)
    if args.calibrate is not None:
        choose = (args.center is None, args.best_of_two is None)
        _calibrate_and_report(kb, args.calibrate, args.target_precision, *choose)
    kb.save(args.out)
    elapsed = time.perf_counter() - started
    print(
        f"Indexed {report.documents} documents into {report.chunks} chunks at {args.out} "
        f"in {elapsed:.1f}s: {report.embedded} texts embedded, {report.reused} reused"
    )
    return 0


def _query(args: argparse.Namespace) -> int:
    from .base import KnowledgeBase

    filters: dict[str, str | list[str]] = {
        key: value.split(",") if "," in value else value
        for key, value in _pairs(args.filter, "--filter").items()
    }
    kb = KnowledgeBase.load(args.index)
    _apply_ranking(kb, args)
    answer = kb.ask(args.question, k=args.k, filters=filters or None)
    if args.json:
        print(json.dumps(_answer_json(answer), indent=2, ensure_ascii=False))
        return 0
    verdict = "answerable" if answer.answerable else "NOT answerable"
    print(f"{verdict} (answerability {answer.answerability:.3f}, threshold {kb.threshold:.3f})")
    if answer.answerable:
        print(f"\n{answer.text}\n")
        for number, citation in enumerate(answer.citations, start=1):
            parts = [citation.title] if citation.title else []
            parts += [h for h in citation.heading.split(" > ") if h and h not in parts]
            where = " > ".join(parts)
            print(f"[{number}] {citation.doc_id}  {where}  {citation.source}".rstrip())
    print("\nPassages:")
    for rank, hit in enumerate(answer.hits, start=1):
        stale = "  STALE" if hit.stale else ""
        snippet = " ".join(hit.text.split())[:100]
        print(f"{rank:>2}. {hit.score:.3f}  {hit.chunk.id}{stale}\n    {snippet}")
    return 0


def _answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "query": answer.query,
        "answerable": answer.answerable,
        "answerability": answer.answerability,
        "text": answer.text,
        "citations": [c.model_dump() for c in answer.citations],
        "hits": [
            {
                "chunk_id": h.chunk.id,
                "doc_id": h.doc_id,
                "score": h.score,
                "dense": h.dense,
                "lexical": h.lexical,
                "stale": h.stale,
                "text": h.text,
            }
            for h in answer.hits
        ],
    }


def _index_arg(value: str) -> Path | str:
    """A directory, or a PostgreSQL URL kept as text (``Path`` would fold its ``//``)."""
    return value if value.startswith(("postgresql://", "postgres://")) else Path(value)


def _size(path: Path | str) -> int:
    if isinstance(path, str):
        return 0  # in PostgreSQL
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _stats(args: argparse.Namespace) -> int:
    from .base import KnowledgeBase

    kb = KnowledgeBase.load(args.index)
    size = _size(args.index)
    stale = kb.stale()
    gaps = kb.gaps.gaps()
    data = {
        "path": redact(args.index) if isinstance(args.index, str) else str(args.index),
        "embedder": kb.embedder_name,
        "documents": len(kb.documents),
        "chunks": len(kb),
        "size_bytes": size,
        "threshold": kb.threshold,
        "fusion": kb.fusion.to_json(),
        "today": date.today().isoformat(),
        "stale": [
            {
                "doc_id": s.doc_id,
                "title": s.title,
                "owner": s.owner,
                "review_by": s.review_by.isoformat(),
                "days_overdue": s.days_overdue,
            }
            for s in stale
        ],
        "gaps": [
            {"query": g.query, "count": g.count, "best_score": g.best_score, "reasons": g.reasons}
            for g in gaps[: args.gaps]
        ],
        "gap_queries": len(gaps),
    }
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"Index {data['path']}")
    print(f"  embedder   {data['embedder']}")
    print(f"  documents  {data['documents']}   chunks {data['chunks']}")
    print(f"  size       {size / 1e6:.2f} MB")
    print(f"  threshold  {kb.threshold:.3f}")
    print(f"\nStale documents (past review_by): {len(stale)}")
    for s in stale:
        owner = f"  owner {s.owner}" if s.owner else ""
        print(f"  {s.doc_id}  review by {s.review_by}  ({s.days_overdue} days overdue){owner}")
    print(f"\nKnowledge gaps: {len(gaps)} distinct questions")
    for g in gaps[: args.gaps]:
        print(f"  {g.count:>4} x  {g.query}  (best score {g.best_score:.3f})")
    return 0
