"""``resolvekit eval <suite>`` and ``resolvekit eval compare A.json B.json``."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import UserError

if TYPE_CHECKING:
    from ..redaction import Redactor

__all__ = ["add_eval_commands", "main"]

_DESCRIPTION = """\
Run an eval suite: every scenario TRIALS times against the suite's agent (and the do_nothing
and gold baselines), scored resolved / escalated_correctly / refused_correctly / deflected /
escalated_wrongly / failed.

SUITE is 'demo', a .py file, a folder holding a suite.py, or a module path; it must expose a
Suite (see docs/evals.md).

  resolvekit eval demo --trials 3 --html report.html
  resolvekit eval compare main.json branch.json --max-drop 0.02
"""


def add_eval_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``eval`` (run a suite) and ``eval compare`` (gate on regressions)."""
    parser = subparsers.add_parser(
        "eval",
        help="run an eval suite, or compare two reports",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _configure(parser)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", metavar="SUITE", help="suite to run, or 'compare'")
    parser.add_argument(
        "reports", nargs="*", metavar="REPORT", help="with 'compare': the two JSON reports"
    )
    parser.add_argument("--trials", type=int, default=3, help="trials per scenario (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="conversations at once")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="the agent's own time per conversation: CPU seconds of its turns (default 60)",
    )
    parser.add_argument(
        "--hang-timeout",
        type=float,
        default=300.0,
        help="wall-clock seconds one agent turn or customer reply may take before the "
        "conversation counts as hung (default 300)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of customers and bootstrap")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for results.jsonl (resumable), report.json and report.html",
    )
    parser.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    parser.add_argument("--html", type=Path, help="write the HTML report here")
    parser.add_argument("--json", type=Path, help="write the JSON report here")
    parser.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the do_nothing and gold baselines (default: yes)",
    )
    parser.add_argument("--model", help="model for the agent: local, test, openai:<model>...")
    parser.add_argument("--user-model", help="model for LLM-driven simulated customers")
    parser.add_argument(
        "--suite-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for a suite exposed as a function, e.g. --suite-arg tasks=my_tasks.json "
        "(repeatable); any other --KEY VALUE is passed to the suite the same way",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="also keep the agent's conversations in this store (sqlite:///eval.db), for "
        "`resolvekit report`",
    )
    parser.add_argument(
        "--no-redact",
        action="store_true",
        help="write results, reports and errors without masking cards, IBANs, phone numbers, "
        "emails and national ids (debugging only; default: masked)",
    )
    parser.add_argument(
        "--max-drop",
        type=float,
        default=0.02,
        help="with 'compare': largest tolerated drop of a rate (default 0.02 = 2 points)",
    )
    parser.add_argument(
        "--max-intent-drop",
        type=float,
        default=0.10,
        help="with 'compare': largest tolerated drop of one intent's success rate (default 0.10)",
    )
    parser.set_defaults(handler=_handle, accepts_extra=True)


def _handle(args: argparse.Namespace) -> int:
    from ..exceptions import ResolvekitError

    if args.suite == "compare":
        return _compare(args)
    if args.reports:
        raise UserError(f"Unexpected arguments after the suite: {' '.join(args.reports)}")
    try:
        return _run(args)
    except ResolvekitError as exc:
        # The message may quote a tool's arguments or errors (a failed reference action).
        message, redactor = str(exc), _redactor(args)
        masked = redactor.redact_text(message) if redactor is not None else message
        if masked == message:
            raise
        raise UserError(masked) from None


def _redactor(args: argparse.Namespace) -> Redactor | None:
    from ..redaction import DEFAULT_REDACTOR

    return None if getattr(args, "no_redact", False) else DEFAULT_REDACTOR


def _run(args: argparse.Namespace) -> int:
    from .report import build_report, print_scorecard, write_html, write_json
    from .runner import RunOptions, run_suite
    from .suite import load_suite

    options = _suite_options(args.suite_arg)
    options.update(_suite_flags(getattr(args, "extra", [])))
    suite = load_suite(args.suite, options)
    out: Path | None = args.out
    if out is not None and args.fresh and out.exists():
        shutil.rmtree(out)
    run_options = RunOptions(
        trials=args.trials,
        concurrency=args.concurrency,
        timeout=args.timeout,
        hang_timeout=args.hang_timeout,
        seed=args.seed,
        model=args.model,
        user_model=args.user_model,
        baselines=args.baselines,
        out_dir=out,
        progress=False if args.no_progress else None,
        redactor=_redactor(args),
        store=args.store,
    )
    run = asyncio.run(run_suite(suite, run_options))
    report = build_report(run)
    print_scorecard(report, redactor=run.redactor)
    json_path = args.json or (out / "report.json" if out is not None else None)
    html_path = args.html or (out / "report.html" if out is not None else None)
    if json_path is not None:
        print(f"JSON report: {write_json(report, json_path, redactor=run.redactor)}")
    if html_path is not None:
        print(f"HTML report: {write_html(report, html_path, redactor=run.redactor)}")
    gold = report.agents.get("gold")
    if gold is not None and gold.metrics.success_rate < 1.0:
        print(
            "warning: the gold replay misses some expectations; check those scenarios",
            file=sys.stderr,
        )
    return 0


def _suite_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UserError(f"--suite-arg takes KEY=VALUE with KEY a name, got {pair!r}")
        options[key.strip()] = value
    return options


def _suite_flags(extra: list[str]) -> dict[str, str]:
    """Flags the eval command does not know, passed to the suite: ``--tasks PATH`` -> tasks."""
    options: dict[str, str] = {}
    rest = list(extra)
    while rest:
        flag = rest.pop(0)
        if not flag.startswith("--") or len(flag) < 3:
            raise UserError(f"Unexpected argument {flag!r}")
        key, sep, value = flag[2:].partition("=")
        if not sep:
            if not rest or rest[0].startswith("--"):
                raise UserError(f"Suite option {flag} needs a value")
            value = rest.pop(0)
        key = key.replace("-", "_")
        if not key.isidentifier():
            raise UserError(f"Bad suite option {flag!r}")
        options[key] = value
    return options


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_reports, print_comparison
    from .report import load_report

    if len(args.reports) != 2:
        raise UserError("eval compare takes exactly two JSON reports: BEFORE AFTER")
    if args.max_drop < 0 or args.max_intent_drop < 0:
        raise UserError("--max-drop and --max-intent-drop must not be negative")
    before, after = (load_report(p) for p in args.reports)
    comparison = compare_reports(
        before, after, max_drop=args.max_drop, max_intent_drop=args.max_intent_drop
    )
    print_comparison(comparison)
    return comparison.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m resolvekit.evals ...``: the ``eval`` command on its own."""
    from ..exceptions import ResolvekitError

    parser = argparse.ArgumentParser(
        prog="python -m resolvekit.evals",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _configure(parser)
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except ResolvekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return status
