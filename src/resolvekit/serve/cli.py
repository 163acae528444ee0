"""``resolvekit serve``: an agent (or the retail demo) over HTTP with uvicorn.

Each uvicorn worker builds its own app from the environment (:func:`app_from_env`), so
``--workers N`` runs N processes; give them a shared store (PostgreSQL) so a customer's turns
are serialised across them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..agent import Agent

__all__ = ["add_serve_commands", "app_from_env", "demo_agent"]

ENV = "RESOLVEKIT_SERVE"
"""The environment variable that carries the settings to each worker (JSON)."""


def add_serve_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``resolvekit serve``."""
    parser = subparsers.add_parser(
        "serve",
        help="serve an agent over HTTP (JSON and Server-Sent Events)",
        description=(
            "Serve an agent over HTTP: POST /v1/customers/{id}/messages, its /stream variant, "
            "conversation, handoff and trace reads, /healthz, /readyz. See docs/serving.md."
        ),
    )
    parser.add_argument(
        "agent", nargs="?", help="where the agent is: path/to/file.py:agent or module:agent"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="an accepted API key (repeatable; also RESOLVEKIT_API_KEYS, comma-separated)",
    )
    parser.add_argument(
        "--cors-origin", action="append", default=[], help="a browser origin allowed (repeatable)"
    )
    parser.add_argument("--store", help="the store URL (default: the agent's own)")
    parser.add_argument("--model", help="run the agent on another model (e.g. test, local)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve the retail example agent and the web chat demo page (/demo)",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if not args.demo and not args.agent:
        raise UserError("give the agent to serve (path/to/file.py:agent), or --demo")
    keys = [*args.api_key, *_env_keys()]
    settings = {
        "agent": args.agent,
        "demo": args.demo,
        "store": args.store,
        "model": args.model,
        "api_keys": keys,
        "cors_origins": args.cors_origin,
        "cwd": os.getcwd(),
    }
    os.environ[ENV] = json.dumps(settings)
    if args.workers > 1 and not (args.store or "").startswith(("postgresql:", "postgres:")):
        print("note: workers share conversations only through a shared store (--store "
              "postgresql://...); memory:// is one per worker", file=sys.stderr)  # fmt: skip
    print(f"serving on http://{args.host}:{args.port}" + (" (demo: /demo)" if args.demo else ""))
    uvicorn.run(
        "resolvekit.serve.cli:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def _env_keys() -> list[str]:
    return [k.strip() for k in os.environ.get("RESOLVEKIT_API_KEYS", "").split(",") if k.strip()]


def app_from_env() -> Starlette:
    """The app one worker serves, built from the settings ``resolvekit serve`` put in
    ``$RESOLVEKIT_SERVE``."""
    from .app import create_app

    settings: dict[str, Any] = json.loads(os.environ.get(ENV) or "{}")
    cwd = settings.get("cwd")
    if cwd and cwd not in sys.path:
        sys.path.insert(0, cwd)  # `module:agent` targets resolve as they did in the shell
    if settings.get("demo"):
        agent = demo_agent(model=settings.get("model") or "local", store=settings.get("store"))
    else:
        from ..chat import load_agent

        agent = load_agent(str(settings.get("agent")))
        overrides = {k: settings[k] for k in ("model", "store") if settings.get(k)}
        if overrides:
            agent = _rebuilt(agent, overrides)
    return create_app(
        agent,
        api_keys=settings.get("api_keys") or [],
        cors_origins=settings.get("cors_origins") or [],
    )


def _rebuilt(agent: Agent[Any], overrides: dict[str, str]) -> Agent[Any]:
    """``agent`` on another model or store, set as :meth:`Agent.override` sets a model: in the
    cached properties, before the agent opened its own."""
    from ..models import infer_model
    from ..sessions import open_store

    if "model" in overrides:
        vars(agent)["model"] = infer_model(overrides["model"])
    if "store" in overrides:
        vars(agent)["store"] = open_store(overrides["store"])
    return agent


def demo_agent(*, model: str = "local", store: str | None = None) -> Agent[Any]:
    """The retail example agent (``examples/retail``) on the τ²-bench retail database
    (``../shared/data/tau2_retail`` or ``$RESOLVEKIT_TAU2_DATA``).

    Raises:
        UserError: the example or its data is not there (run from a resolvekit checkout).
    """
    root = Path(__file__).resolve().parents[3]  # src/resolvekit/serve -> the checkout
    if (root / "examples" / "retail").is_dir() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        from examples.retail.agent import build_agent
        from examples.retail.db import DataMissing, load_db
    except ImportError as exc:
        raise UserError(f"--demo needs a resolvekit checkout (examples/retail): {exc}") from exc
    try:
        db = load_db()
    except DataMissing as exc:
        raise UserError(f"--demo needs the τ²-bench retail data: {exc}") from exc
    agent: Agent[Any] = build_agent(model=model, store=store or "memory://", db=db, handoff=[])
    return agent
