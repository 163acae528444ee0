"""``python -m evals.tau2_retail``: run the suite, print the scorecard and the failures.

python -m evals.tau2_retail                       # tasks_train.json, LocalModel, 1 trial
python -m evals.tau2_retail --tasks my.json --db db.json --model test --show 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from resolvekit.evals import ConversationRecord, RunOptions, build_report, run_suite
from resolvekit.evals.report import print_scorecard, write_html, write_json
from resolvekit.exceptions import ResolvekitError

from .bench import DEFAULT_MODEL, build_suite

__all__ = ["format_failure", "main"]


def format_failure(record: ConversationRecord, *, max_turns: int = 40) -> str:
    """One failed conversation as text: verdict, transcript, database diff, missing facts."""
    lines = [f"--- {record.scenario} ({record.verdict}): {record.reason}"]
    for turn in record.turns[:max_turns]:
        who = "customer" if turn.role == "customer" else f"agent[{turn.outcome}]"
        lines.append(f"  {who}: {turn.text}")
    if len(record.turns) > max_turns:
        lines.append(f"  ... {len(record.turns) - max_turns} more turns")
    for call in record.tool_calls:
        if call.tool.startswith(("get_", "find_", "list_")):
            continue
        lines.append(f"  tool {call.tool}({call.args}) -> {call.status}")
    for entry in record.diff[:12]:
        lines.append(f"  diff {entry.path}: expected {entry.expected!r}, got {entry.actual!r}")
    if record.facts_missing:
        lines.append(f"  facts not said: {record.facts_missing}")
    if record.stop_reason:
        lines.append(f"  stopped: {record.stop_reason}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the τ²-bench retail suite from the command line."""
    parser = argparse.ArgumentParser(prog="python -m evals.tau2_retail", description=__doc__)
    parser.add_argument("--tasks", type=Path, help="task file (default: tasks_train.json)")
    parser.add_argument("--db", type=Path, help="db.json or its folder")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="agent model (default: local)")
    parser.add_argument("--ids", default="", help="comma-separated task ids (default: all)")
    parser.add_argument(
        "--backend",
        choices=["inprocess", "mcp", "openapi"],
        default="inprocess",
        help="run the retail actions in-process or through the retail service (MCP, OpenAPI)",
    )
    parser.add_argument("--trials", type=int, default=1, help="trials per task (default 1)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="agent CPU seconds per conversation"
    )
    parser.add_argument(
        "--hang-timeout", type=float, default=300.0, help="wall-clock seconds per turn (hangs)"
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip do_nothing and gold")
    parser.add_argument("--out", type=Path, help="folder for resumable results and reports")
    parser.add_argument("--json", type=Path, help="write the JSON report here")
    parser.add_argument("--html", type=Path, help="write the HTML report here")
    parser.add_argument("--show", type=int, default=3, help="failed conversations to print")
    args = parser.parse_args(argv)
    try:
        ids = [i.strip() for i in args.ids.split(",") if i.strip()] or None
        suite = build_suite(args.tasks, args.db, model=args.model, ids=ids, backend=args.backend)
        options = RunOptions(
            trials=args.trials,
            concurrency=args.concurrency,
            timeout=args.timeout,
            hang_timeout=args.hang_timeout,
            baselines=not args.no_baselines,
            out_dir=args.out,
            progress=None,
        )
        run = asyncio.run(run_suite(suite, options))
    except ResolvekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = build_report(run)
    print_scorecard(report)
    if args.backend != "inprocess":
        from examples.retail.services import service

        print(f"retail service ({args.backend}, {service().url}): {service().calls} calls")
    failures = [r for r in run.records.get("agent", []) if not r.success]
    for record in failures[: args.show]:
        print(format_failure(record))
    json_path = args.json or (args.out / "report.json" if args.out else None)
    html_path = args.html or (args.out / "report.html" if args.out else None)
    if json_path is not None:
        print(f"JSON report: {write_json(report, json_path)}")
    if html_path is not None:
        print(f"HTML report: {write_html(report, html_path)}")
    gold = [r for r in run.records.get("gold", []) if not r.success]
    for record in gold:
        print(format_failure(record), file=sys.stderr)
    return 1 if gold else 0


if __name__ == "__main__":
    sys.exit(main())
