"""``resolvekit report STORE_URL``: the scorecard from the conversations in a store."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

__all__ = ["add_report_command"]


def add_report_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report``."""
    parser = subparsers.add_parser(
        "report",
        help="the service scorecard from the conversations in a store",
        description=(
            "Volume by intent and channel, resolution next to containment, escalation and "
            "deflection, first-contact resolution, escalation reasons, approval turnaround, "
            "customer effort, knowledge gaps, the articles answers cited and (with --knowledge) "
            "the stale ones, from the conversations in a store."
        ),
    )
    parser.add_argument("store", help="the store URL: sqlite:///support.db, postgresql://...")
    parser.add_argument("--since", help="first day (YYYY-MM-DD, UTC), by creation time")
    parser.add_argument("--until", help="day after the last (YYYY-MM-DD, UTC)")
    parser.add_argument("--reopen-days", type=float, default=7.0, help="FCR window (default 7)")
    parser.add_argument(
        "--format", choices=("table", "html", "csv", "json"), default="table", help="output"
    )
    parser.add_argument("--out", type=Path, help="write to this file (default: stdout)")
    parser.add_argument(
        "--knowledge",
        metavar="INDEX",
        help="the agent's knowledge index (directory or postgresql:// URL): list its articles "
        "past their review date with how often answers cited them",
    )
    parser.add_argument(
        "--key-env",
        metavar="NAME",
        help="an encrypted store: the environment variable holding its key (EncryptedStore)",
    )
    parser.set_defaults(handler=_report)


def _day(text: str | None, flag: str) -> float | None:
    from ..exceptions import UserError

    if text is None:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise UserError(f"{flag}: not a date (YYYY-MM-DD): {text!r}") from None


def _report(args: argparse.Namespace) -> int:
    from ..exceptions import CorruptStore, UserError
    from ..sessions import open_store
    from ..sessions.encrypted import EncryptedStore
    from . import render
    from .scorecard import compute_scorecard, load_conversations

    since, until = _day(args.since, "--since"), _day(args.until, "--until")
    if args.store.startswith("sqlite://"):
        path = Path(args.store.removeprefix("sqlite://").removeprefix("/"))
        if args.store.startswith("sqlite:////"):
            path = Path("/" + str(path))
        if not path.exists():  # opening would create an empty database
            raise UserError(f"no store at {path}")

    key = None
    if args.key_env is not None:
        key = os.environ.get(args.key_env)
        if not key:
            raise UserError(f"--key-env: the environment variable {args.key_env} is not set")

    async def load() -> list:  # type: ignore[type-arg]
        store = open_store(args.store) if key is None else EncryptedStore(args.store, key)
        try:
            return await load_conversations(store, since=since, until=until)
        finally:
            await store.close()

    try:
        facts = asyncio.run(load())
    except CorruptStore as exc:
        print(f"error: damaged store: {exc}", file=sys.stderr)
        return 2
    if not facts:
        print(f"No conversations in {args.store} for this date range.", file=sys.stderr)
        return 0
    stale = None
    if args.knowledge is not None:
        from ..knowledge import KnowledgeBase

        index = args.knowledge
        kb = KnowledgeBase.load(index if "://" in index else Path(index))
        stale = kb.stale()
    card = compute_scorecard(
        facts, since=since, until=until, reopen_days=args.reopen_days, stale=stale
    )
    if args.format == "table" and args.out is None:
        render.to_table(card)
        return 0
    text = {
        "table": None,
        "html": render.to_html,
        "csv": render.to_csv,
        "json": render.to_json,
    }[args.format]
    if text is None:
        with args.out.open("w", encoding="utf-8") as handle:
            render.to_table(card, handle)
        return 0
    output = text(card)
    if args.out is None:
        sys.stdout.write(output)
    else:
        args.out.write_text(output, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
