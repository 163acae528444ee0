"""The ``resolvekit`` command.

Each command family registers its subcommands with one ``_add_<family>_commands(subparsers)``
call; a subcommand stores its handler as ``handler`` (``(argparse.Namespace) -> int``) and
:func:`main` dispatches to it, turning any :class:`~resolvekit.exceptions.ResolvekitError` into a
one-line ``error: ...`` message and exit status 1.

Heavy modules are imported inside handlers so ``resolvekit --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .exceptions import ResolvekitError

__all__ = ["build_parser", "main"]


def _add_index_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .knowledge.cli import add_index_commands

    add_index_commands(subparsers)


def _add_eval_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .evals.cli import add_eval_commands

    add_eval_commands(subparsers)


def _add_chat_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="talk to an agent in the terminal",
        description="Talk to an agent in the terminal; /why shows what it decided and did.",
    )
    parser.add_argument("agent", help="where the agent is: path/to/file.py:agent or module:agent")
    parser.add_argument("--customer", default="customer", help="your customer id")
    parser.add_argument("--channel", default="chat", help="the channel to start on")
    parser.add_argument("--model", help="run the agent on another model (e.g. test, local)")
    parser.set_defaults(handler=_chat)


def _chat(args: argparse.Namespace) -> int:
    import asyncio

    from .chat import chat, load_agent

    agent = load_agent(args.agent)
    with agent.override(model=args.model or None):
        asyncio.run(chat(agent, customer_id=args.customer, channel=args.channel))
    return 0


def _add_recover_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "recover",
        help="finish writes a crash interrupted (the sweep)",
        description=(
            "Find conversations with a write a crash interrupted and no later message, and "
            "recover them as the next message would: idempotent tools are called again with "
            "the same key, others are handed to a human as unknown_outcome."
        ),
    )
    parser.add_argument("agent", help="where the agent is: path/to/file.py:agent or module:agent")
    parser.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep sweeping at this interval (default: sweep once and exit)",
    )
    parser.add_argument(
        "--older-than",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="only writes whose deadline passed at least this long ago (default 0)",
    )
    parser.set_defaults(handler=_recover)


def _recover(args: argparse.Namespace) -> int:
    import asyncio

    from .chat import load_agent

    agent = load_agent(args.agent)

    async def sweep() -> None:
        try:
            while True:
                for result in await agent.recover(older_than=args.older_than):
                    reason = result.handoff.reason if result.handoff else result.reply
                    print(f"{result.conversation_id}: {result.outcome}: {reason}", flush=True)
                if args.every is None:
                    return
                await asyncio.sleep(args.every)
        finally:
            await agent.close()

    asyncio.run(sweep())
    return 0


def _add_helpdesk_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    from .helpdesk_cli import add_helpdesk_commands

    add_helpdesk_commands(subparsers)


def _add_fit_report_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "fit-report",
        help="how well LocalModel understands an agent's intents (held-out accuracy, OOS)",
        description=(
            "Fit LocalModel's intent classifier for the agent's intents (or load the saved fit) "
            "and print its held-out accuracy per intent, top confusions, out-of-scope recall "
            "and in-scope rejections at the threshold, how the threshold was chosen, and "
            "warnings."
        ),
    )
    parser.add_argument("agent", help="where the agent is: path/to/file.py:agent or module:agent")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_fit_report)


def _fit_report(args: argparse.Namespace) -> int:
    import json

    from .chat import load_agent
    from .exceptions import UserError
    from .models.local import LocalModel
    from .models.local_fit import print_report

    agent = load_agent(args.agent)
    model = agent.model
    if not isinstance(model, LocalModel):
        raise UserError(
            f"fit-report needs an agent on LocalModel (model='local'); this one runs on "
            f"{type(model).__name__}"
        )
    report = model.fit_report(agent.intent_specs)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
    return 0


def _add_console_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .console.cli import add_console_command

    add_console_command(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command family registered."""
    parser = argparse.ArgumentParser(
        prog="resolvekit",
        description="Agentic customer-service resolution: knowledge index, agents, evals.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_index_commands(subparsers)
    _add_eval_commands(subparsers)
    _add_chat_command(subparsers)
    _add_recover_command(subparsers)
    _add_helpdesk_commands(subparsers)
    _add_fit_report_command(subparsers)
    _add_console_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    handler = getattr(args, "handler", None)
    if handler is None:
        # A family without a subcommand ("resolvekit index") prints that family's help.
        (getattr(args, "family_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        status: int = handler(args)
    except ResolvekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
