"""Toolsets: where an agent's tools come from, composed into the one view ``agent.tools``.

The ``@agent.tool`` functions are one :class:`FunctionToolset`; a connected system (an MCP
server, an OpenAPI service, see :mod:`resolvekit.connect`) is another. Every tool, wherever it
comes from, goes through the same gates when it is called: argument validation, its effect,
the customer's confirmation, the idempotency key, the timeout, retries, typed errors and the
journal. Toolsets compose::

    crm = rk.connect.MCPToolset.stdio("python", ["crm_server.py"])
    agent = rk.Agent(
        "Support",
        toolsets=[
            crm.filtered(["get_order", "cancel_order"])
            .with_overrides({"cancel_order": rk.ToolOverride(confirm=True, timeout=10)})
            .prefixed("crm")
        ],
    )
    # agent.tools["crm.get_order"], agent.tools["crm.cancel_order"]

A connected toolset is started with the agent (``async with agent``, ``agent.warm_up()``, or
lazily on the first turn), refreshed at the start of each turn (a server whose tool list
changed is listed again; a dropped one is reconnected) and stopped by ``agent.close()``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import UserError
from .tools import Authorize, Effect, RetryPolicy, Tool

__all__ = [
    "FunctionToolset",
    "ToolOverride",
    "Toolset",
    "check_names",
    "merge_tools",
    "resolve_tool",
]

_UNSET: Any = object()


@dataclass(kw_only=True, frozen=True)
class ToolOverride:
    """What to change about one tool of a toolset (a field left unset keeps the tool's own).

    The safe defaults of connected tools (an MCP tool without ``readOnlyHint`` is a write that
    needs the customer's yes) are loosened or tightened here, by the application, never by the
    server."""

    effect: Effect = _UNSET
    """``read`` or ``write``."""
    confirm: bool = _UNSET
    """A write that needs the customer's explicit yes."""
    idempotent: bool = _UNSET
    """The system accepts an idempotency key, so retrying or recovering the call is safe."""
    timeout: float | None = _UNSET
    """Seconds per attempt; None for no limit."""
    retry: RetryPolicy = _UNSET
    """The retry policy for reads and idempotent writes."""
    description: str = _UNSET
    """What models read about the tool."""
    returns: Any = _UNSET
    """The Python type results are loaded as (a pydantic model, a dataclass...), instead of
    plain JSON data; a result that does not fit is a ``bad_result``."""
    authorize: Authorize | None = _UNSET
    """``authorize(ctx, args)`` before every attempt; raise :class:`ToolRefusal` to refuse."""

    def apply(self, tool: Tool[Any]) -> Tool[Any]:
        """A copy of ``tool`` with these changes.

        Raises:
            UserError: ``confirm`` on a read, or an unknown effect.
        """
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not _UNSET and f.name != "returns"
        }
        if self.effect is not _UNSET and self.effect == "read" and self.confirm is _UNSET:
            changes["confirm"] = False
        if self.returns is not _UNSET:
            from pydantic import TypeAdapter

            changes["result_adapter"] = TypeAdapter(self.returns)
        new = dataclasses.replace(tool, **changes)
        if new.effect not in ("read", "write"):
            raise UserError(f"Tool {tool.name!r}: effect must be 'read' or 'write'")
        if new.confirm and new.effect != "write":
            raise UserError(f"Tool {tool.name!r}: confirm=True only makes sense for a write")
        return new


class Toolset:
    """A source of tools. Subclasses provide :meth:`tools`; connected ones also start, refresh
    and close a connection. The combinators return new toolsets over this one."""

    name: str = "tools"

    def tools(self) -> Mapping[str, Tool[Any]]:
        """The tools offered now, by name (the same mapping object until they change)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Connect and list the tools (safe to call again)."""

    async def refresh(self) -> None:
        """At the start of each turn: reconnect a dropped system, list changed tools again."""
        await self.start()

    async def close(self) -> None:
        """Disconnect (safe to call again, and when never started)."""

    # -- sharing: several agents (one per conversation, say) may use one toolset -------------

    _users: int = 0

    @property
    def users(self) -> int:
        """How many agents use this toolset now (see :meth:`acquire`)."""
        return self._users

    def acquire(self) -> None:
        """One more agent uses this toolset (an agent does so once, on its first turn or
        ``warm_up``)."""
        self._users += 1

    async def release(self) -> None:
        """An agent is done with this toolset; the last one to go closes it."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.close()

    # -- combinators -------------------------------------------------------------------------

    def filtered(self, keep: Iterable[str] | Callable[[Tool[Any]], bool]) -> Toolset:
        """Only the tools named in ``keep`` (or for which ``keep(tool)`` is true)."""
        if callable(keep):
            return _Mapped(self, lambda tools: {n: t for n, t in tools.items() if keep(t)})
        names = set(keep)
        return _Mapped(self, lambda tools: {n: t for n, t in tools.items() if n in names})

    def prefixed(self, prefix: str, *, sep: str = ".") -> Toolset:
        """Every tool renamed ``prefix + sep + name`` (``crm.get_order``)."""
        return self.renamed(lambda name: f"{prefix}{sep}{name}")

    def renamed(self, names: Mapping[str, str] | Callable[[str], str]) -> Toolset:
        """Tools renamed by a mapping (unlisted names kept) or a function of the name."""
        rename = names if callable(names) else (lambda name: names.get(name, name))

        def apply(tools: Mapping[str, Tool[Any]]) -> dict[str, Tool[Any]]:
            out: dict[str, Tool[Any]] = {}
            for tool in tools.values():
                new = rename(tool.name)
                if not _NAME.fullmatch(new):
                    raise UserError(f"Tool name {new!r} (from {tool.name!r}) is not valid")
                out[new] = dataclasses.replace(tool, name=new)
            return out

        return _Mapped(self, apply)

    def with_overrides(self, overrides: Mapping[str, ToolOverride]) -> Toolset:
        """Per-tool changes of effect, confirmation, timeout, retry, result type or
        authorisation, by the tool's name in this toolset."""

        def apply(tools: Mapping[str, Tool[Any]]) -> dict[str, Tool[Any]]:
            return {n: overrides[n].apply(t) if n in overrides else t for n, t in tools.items()}

        return _Mapped(self, apply)


_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


class FunctionToolset(Toolset):
    """Tools made from Python functions (``@agent.tool`` registers into the agent's own)."""

    def __init__(self, tools: Iterable[Tool[Any]] = (), *, name: str = "functions") -> None:
        self.name = name
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool[Any]) -> Tool[Any]:
        """Add a tool.

        Raises:
            UserError: another tool has the same name.
        """
        if tool.name in self._tools and self._tools[tool.name] is not tool:
            raise UserError(f"Toolset {self.name!r} already has a tool named {tool.name!r}")
        # A new mapping, so views over this toolset see the change.
        self._tools = {**self._tools, tool.name: tool}
        return tool

    def tools(self) -> Mapping[str, Tool[Any]]:
        return self._tools


class _Mapped(Toolset):
    """A toolset seen through a transformation of its tools (filter, rename, overrides),
    computed again only when the inner toolset's tools change."""

    def __init__(
        self,
        inner: Toolset,
        transform: Callable[[Mapping[str, Tool[Any]]], Mapping[str, Tool[Any]]],
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._transform = transform
        self._seen: Mapping[str, Tool[Any]] | None = None
        self._tools: Mapping[str, Tool[Any]] = {}

    def tools(self) -> Mapping[str, Tool[Any]]:
        current = self.inner.tools()
        if current is not self._seen:
            self._tools, self._seen = self._transform(current), current
        return self._tools

    async def start(self) -> None:
        await self.inner.start()

    async def refresh(self) -> None:
        await self.inner.refresh()

    async def close(self) -> None:
        await self.inner.close()

    @property
    def users(self) -> int:
        return self.inner.users

    def acquire(self) -> None:
        self.inner.acquire()

    async def release(self) -> None:
        await self.inner.release()


def resolve_tool(
    tools: Mapping[str, Tool[Any]], ref: Tool[Any] | str
) -> tuple[Tool[Any] | None, Tool[Any] | None]:
    """What ``ctx.call(ref)`` runs: ``(the tool that runs, the tool whose return type loads
    the result)``. A name is looked up among ``tools``; a Tool stands for the tool of its name
    there (a connected system's), or runs itself when there is none."""
    if isinstance(ref, str):
        found = tools.get(ref)
        return found, found
    if not isinstance(ref, Tool):
        raise TypeError(f"ctx.call takes a Tool or a tool name, not {type(ref).__name__}")
    return tools.get(ref.name, ref), ref


def merge_tools(toolsets: Iterable[Toolset]) -> dict[str, Tool[Any]]:
    """The tools of several toolsets in one mapping; the first toolset wins a name.

    A clash is reported when the agent starts (:meth:`check_names`); a connected system that
    later offers a name another toolset already has does not replace that tool."""
    merged: dict[str, Tool[Any]] = {}
    for toolset in toolsets:
        for name, tool in toolset.tools().items():
            merged.setdefault(name, tool)
    return merged


def check_names(toolsets: Iterable[Toolset]) -> None:
    """Raise :class:`UserError` when two toolsets offer the same tool name."""
    owner: dict[str, Toolset] = {}
    for toolset in toolsets:
        for name in toolset.tools():
            other = owner.setdefault(name, toolset)
            if other is not toolset:
                raise UserError(
                    f"Tool {name!r} is offered by toolsets {other.name!r} and "
                    f"{toolset.name!r}; filter or prefix one of them"
                )
