"""The ``resolvekit deliver`` and ``resolvekit report`` commands (registered by ``cli.py``)."""

from __future__ import annotations

import argparse
import asyncio

__all__ = ["add_helpdesk_commands"]


def add_helpdesk_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register ``deliver`` (the outbox sweep) and ``report`` (the service scorecard)."""
    deliver = subparsers.add_parser(
        "deliver",
        help="re-send handoffs waiting in the helpdesk outboxes (the sweep)",
        description=(
            "Re-send the handoff packets waiting in the outbox of each of the agent's helpdesk "
            "targets (WebhookTarget, ZendeskTarget, FreshdeskTarget), with the same "
            "idempotency keys, and print what was delivered, still waits or was dead-lettered."
        ),
    )
    deliver.add_argument("agent", help="where the agent is: path/to/file.py:agent or module:agent")
    deliver.add_argument("--retry", action="store_true", help="sweep the outboxes (the default)")
    deliver.add_argument(
        "--requeue",
        action="store_true",
        help="first put the dead letters back in the outboxes (after fixing their cause)",
    )
    deliver.add_argument(
        "--every", type=float, metavar="SECONDS", help="keep sweeping at this interval"
    )
    deliver.set_defaults(handler=_deliver)
    from .report.cli import add_report_command

    add_report_command(subparsers)


def _deliver(args: argparse.Namespace) -> int:
    from .chat import load_agent
    from .exceptions import UserError
    from .helpdesk import OutboxTarget

    agent = load_agent(args.agent)
    targets = [t for t in agent.handoff_targets if isinstance(t, OutboxTarget)]
    if not targets:
        raise UserError(f"agent {agent.name!r} has no helpdesk target with an outbox")

    async def sweep() -> int:
        dead = 0
        while True:
            for target in targets:
                if args.requeue:
                    count = await asyncio.to_thread(target.outbox.requeue)
                    print(f"{target.name}: {count} dead letter(s) requeued", flush=True)
                report = await target.flush()
                dead += len(report.dead)
                print(
                    f"{target.name}: {len(report.delivered)} delivered, "
                    f"{len(report.deferred)} waiting, {len(report.dead)} dead-lettered "
                    f"({target.outbox.dead_letter_path})",
                    flush=True,
                )
            args.requeue = False
            if args.every is None:
                return 1 if dead else 0
            await asyncio.sleep(args.every)

    return asyncio.run(sweep())
