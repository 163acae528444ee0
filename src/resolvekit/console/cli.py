"""``resolvekit console``: serve the handoff inbox and agent assist console for an agent."""

from __future__ import annotations

import argparse
import os
import secrets
from typing import Any

from ..exceptions import UserError

__all__ = ["add_console_command"]

KEY_VARIABLE = "RESOLVEKIT_CONSOLE_KEY"


def add_console_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``resolvekit console``."""
    parser = subparsers.add_parser(
        "console",
        help="serve the handoff inbox and agent assist console",
        description=(
            "Serve a web console where human agents see open handoffs by priority and wait, "
            "take over a conversation with its whole context, run the agent's tools (writes "
            "after a confirm click), reply, and hand the conversation back to the bot."
        ),
    )
    parser.add_argument("agent", help="where the agent is: path/to/file.py:agent or module:agent")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port (default 8100)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"the shared key human agents log in with (default ${KEY_VARIABLE}, else a new "
        "random key printed at start)",
    )
    parser.add_argument(
        "--reply-target",
        default=None,
        metavar="MODULE:FUNCTION",
        help="where messages to customers go: a function taking a resolvekit.console."
        "HumanReply (default: kept in the transcript only)",
    )
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="NAME=ROLE",
        help="a human agent's approval role (repeatable), e.g. --role lena=team_lead",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..chat import load_agent
    from .app import create_app

    target = _load_function(args.reply_target) if args.reply_target else None
    roles = dict(_role(item) for item in args.role)
    agent = load_agent(args.agent)
    key = args.api_key or os.environ.get(KEY_VARIABLE)
    if not key:
        key = secrets.token_urlsafe(18)
        print(f"console key (log in with your name and it): {key}", flush=True)
    app = create_app(agent, api_key=key, reply_target=target, roles=roles)
    print(f"resolvekit console on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _load_function(where: str) -> Any:
    import importlib

    module_name, _, name = where.partition(":")
    if not module_name or not name:
        raise UserError(f"--reply-target takes MODULE:FUNCTION, not {where!r}")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load the reply target {where!r}: {exc}") from None
    if not callable(function):
        raise UserError(f"the reply target {where!r} is not callable")
    return function


def _role(item: str) -> tuple[str, str]:
    name, _, role = item.partition("=")
    if not name.strip() or not role.strip():
        raise UserError(f"--role takes NAME=ROLE, not {item!r}")
    return name.strip(), role.strip()
