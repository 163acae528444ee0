"""Suites: an agent factory plus scenarios, and how ``resolvekit eval <suite>`` finds them.

A suite is a Python file, a module path, or a folder holding a ``suite.py``; it exposes a
:class:`Suite` as ``suite`` (or a zero-argument function ``suite()`` returning one, or exactly one
``Suite`` among its globals)::

    # evals/shop/suite.py
    from resolvekit.evals import Suite, load_scenarios

    suite = Suite(
        name="shop",
        agent=lambda model: build_agent(model=model or "local", store="memory://"),
        scenarios=load_scenarios(Path(__file__).parent / "scenarios"),
        deps=lambda state: Backend(**state),
    )
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ._state import to_data
from .errors import ScenarioError, SuiteNotFound
from .scenario import Scenario, ToolCall

if TYPE_CHECKING:
    from ..agent import Agent
    from ..models import Model

__all__ = ["AgentFactory", "Suite", "load_suite"]

AgentFactory = Callable[["Model | None"], "Agent[Any]"]
"""Builds a fresh agent for one conversation; receives the model chosen for the run (``--model``)
or None for the suite's own default. Give it ``store="memory://"``."""

BUILTIN = {"demo": "resolvekit.evals.demo"}


def _same(state: Any) -> Any:
    return state


@dataclass(kw_only=True)
class Suite:
    """The agent under test and the scenarios it is played against."""

    name: str
    scenarios: list[Scenario]
    agent: AgentFactory
    """Called once per conversation, so each trial has its own store."""
    deps: Callable[[Any], Any] = _same
    """Turns a scenario's fresh state into the ``deps`` given to ``agent.handle`` (default: the
    state itself, so playbooks and tools read and change it through ``ctx.deps``)."""
    snapshot: Callable[[Any], Any] = field(default=to_data)
    """Turns ``deps`` into plain data for end-state checks (default: a deep conversion of
    dataclasses, pydantic models, mappings and lists)."""
    plain_snapshots: bool = False
    """``snapshot`` returns plain data already (dicts with string keys, lists, strings, numbers,
    booleans, None), so the runner uses it as it is instead of converting it (a conversion walks
    and copies the whole state). Snapshots are
    only read, never changed, so they may share their unchanged parts with each other; parts
    that are the same object cost nothing to compare."""
    description: str = ""
    replay: Callable[[Any, ToolCall], Any] | None = None
    """Applies one reference action to ``deps`` for the gold baseline and returns its result
    (raising on failure); default: the agent's own tool of that name."""

    def __post_init__(self) -> None:
        if not self.scenarios:
            raise ScenarioError(f"Suite {self.name!r} has no scenarios")
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.id in seen:
                raise ScenarioError(
                    f"Suite {self.name!r} has two scenarios with id {scenario.id!r}"
                )
            seen.add(scenario.id)

    def __repr__(self) -> str:
        # The scenarios may hold whole backend states; keep the repr short.
        return f"Suite(name={self.name!r}, scenarios={len(self.scenarios)})"

    def scenario(self, scenario_id: str) -> Scenario:
        """The scenario with this id.

        Raises:
            ScenarioError: no such scenario.
        """
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise ScenarioError(f"Suite {self.name!r} has no scenario {scenario_id!r}")


def load_suite(spec: str | Path, options: dict[str, str] | None = None) -> Suite:
    """Find a suite by name (``demo``), file path, folder (with ``suite.py``) or module path.

    Args:
        spec: what to load.
        options: keyword arguments for a suite exposed as a function (``suite(**options)``),
            e.g. ``{"tasks": "my_tasks.json"}`` from ``--suite-arg tasks=my_tasks.json``.

    Raises:
        SuiteNotFound: nothing matches, or the module exposes no ``Suite``.
        UserError: options given to a suite that takes none, or that it rejects.
    """
    text = str(spec)
    path = Path(text)
    if text in BUILTIN:
        module = importlib.import_module(BUILTIN[text])
    elif path.is_dir():
        if not (path / "suite.py").is_file():
            raise SuiteNotFound(f"Folder {path} has no suite.py exposing a Suite")
        module = _import_file(path / "suite.py")
    elif path.suffix == ".py":
        if not path.is_file():
            raise SuiteNotFound(f"No suite file at {path}")
        module = _import_file(path)
    else:
        try:
            module = importlib.import_module(text)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not text.startswith(exc.name):
                raise  # the suite exists but one of its imports is missing
            raise SuiteNotFound(
                f"No suite {text!r}: give 'demo', a .py file, a folder with a suite.py "
                f"or an importable module path"
            ) from exc
    return _find_suite(module, options or {})


def _import_file(path: Path) -> ModuleType:
    name = f"_resolvekit_suite_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SuiteNotFound(f"Cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _on_path(path.parent):
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    """Let a suite file import its sibling modules."""
    entry = str(folder.resolve())
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


def _find_suite(module: ModuleType, options: dict[str, str]) -> Suite:
    found = getattr(module, "suite", None)
    if callable(found) and not isinstance(found, Suite):
        try:
            found = found(**options)
        except TypeError as exc:
            if not options:
                raise
            raise UserError(
                f"Suite {module.__name__} rejects the options {options}: {exc}"
            ) from exc
    elif options:
        raise UserError(
            f"Suite options {sorted(options)} given, but {module.__name__} exposes no "
            f"suite(...) function to take them"
        )
    if isinstance(found, Suite):
        return found
    suites = [v for v in vars(module).values() if isinstance(v, Suite)]
    if len(suites) == 1:
        return suites[0]
    raise SuiteNotFound(
        f"Module {module.__name__} exposes {'no' if not suites else 'several'} Suite objects; "
        f"name the one to run `suite`"
    )
