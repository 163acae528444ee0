"""Entry point of ``resolvekit eval evals/tau2_retail``.

Options come as ``--suite-arg KEY=VALUE`` (``tasks``, ``db``, ``model``, ``ids``, ``backend``,
``split``), or from
``RESOLVEKIT_TAU2_DATA`` (the data folder)::

    resolvekit eval evals/tau2_retail --trials 1
    resolvekit eval evals/tau2_retail --suite-arg tasks=/path/to/tasks.json --suite-arg ids=0,1
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # loaded as a file by `resolvekit eval`: `evals`, `examples` importable
    sys.path.insert(0, _ROOT)

from evals.tau2_retail.bench import DEFAULT_MODEL, build_suite  # noqa: E402
from evals.tau2_retail.data import Tau2DataError  # noqa: E402
from resolvekit.evals import Suite  # noqa: E402

__all__ = ["suite"]


def suite(
    tasks: str | None = None,
    db: str | None = None,
    model: str = DEFAULT_MODEL,
    ids: str = "",
    backend: str = "inprocess",
    split: str = "all",
) -> Suite:
    """The τ²-bench retail suite (see :func:`evals.tau2_retail.bench.build_suite`).

    Args:
        tasks: task file path.
        db: ``db.json`` path (or its folder).
        model: the agent's model when ``--model`` is not given.
        ids: comma-separated task ids to play (default: all).
        backend: ``inprocess`` (default), ``mcp`` or ``openapi``: the retail actions through
            the retail service on 127.0.0.1 (``--suite-arg backend=mcp``).
        split: ``dev``, ``holdout`` or ``all`` (default), by task id (:mod:`evals.splits`).
    """
    chosen = [i.strip() for i in ids.split(",") if i.strip()]
    if backend not in ("inprocess", "mcp", "openapi"):
        raise Tau2DataError(f"backend must be inprocess, mcp or openapi, not {backend!r}")
    return build_suite(tasks, db, model=model, ids=chosen or None, backend=backend, split=split)  # type: ignore[arg-type]
