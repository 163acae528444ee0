"""What an agent knows: its tools, its intents and the playbook of each (the registration API
that :class:`~resolvekit.Agent` inherits), and running one of its tools directly."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar, Unpack, overload

from ._json import jsonable
from .exceptions import UserError
from .intents import Intent
from .playbooks import Context, Hooks, PlaybookOutcome
from .sessions import Conversation, PlaybookRun
from .specs import IntentSpec
from .tools import Tool, ToolOptions, tool
from .toolsets import FunctionToolset, Toolset, check_names, merge_tools

__all__ = ["EarlyCheck", "Playbook", "Registry", "VerifyStep"]

log = logging.getLogger("resolvekit")
DepsT = TypeVar("DepsT")
IntentT = TypeVar("IntentT", bound=Intent)
CheckT = TypeVar("CheckT", bound=Callable[..., Awaitable[Any]])
Playbook = Callable[[Context[Any], Any], Awaitable[PlaybookOutcome | None]]
"""A registered playbook: ``async def playbook(ctx, intent) -> PlaybookOutcome``."""
VerifyStep = Callable[[Context[Any]], Awaitable[Any]]
"""The identity step: ``async def verify(ctx) -> identity | PlaybookOutcome`` (see
:meth:`Registry.verify`)."""


@dataclass(frozen=True, kw_only=True)
class EarlyCheck:
    """A read-only check of an intent that may refuse the request as soon as the slots it
    needs are known (:meth:`Registry.check`)."""

    name: str
    """The function's name: journaled, so renaming a check re-runs it in open requests."""
    needs: tuple[str, ...]
    """The slots it reads; it runs once all of them are filled, before any other is asked."""
    function: Callable[[Context[Any], Any], Awaitable[PlaybookOutcome | None]]
    """``async def check(ctx, intent) -> PlaybookOutcome | None``."""


class Registry(Generic[DepsT]):
    """An agent's tools, intents and playbooks.

    Args:
        name: shown in traces, handoffs and errors.
        deps: default dependencies given to playbooks and tools as ``ctx.deps``.
        toolsets: more sources of tools (connected systems), after the agent's own functions.
    """

    def __init__(
        self, name: str, *, deps: DepsT | None = None, toolsets: Iterable[Toolset] = ()
    ) -> None:
        self.name = name
        self.deps = deps
        self.functions = FunctionToolset(name="functions")
        """The ``@agent.tool`` functions."""
        self.toolsets: list[Toolset] = [self.functions, *toolsets]
        """Where the agent's tools come from; the first toolset wins a name."""
        self._merged: dict[str, Tool[Any]] = {}
        self._merged_from: tuple[Mapping[str, Tool[Any]], ...] = ()
        self.intents: dict[str, type[Intent]] = {}
        self.playbooks: dict[str, Playbook] = {}
        self._specs: dict[str, IntentSpec] = {}
        self._toolsets_held = False
        self.verify_step: VerifyStep | None = None
        """The identity step registered with :meth:`verify`, if any."""
        self.checks: dict[str, tuple[EarlyCheck, ...]] = {}
        """The early checks of each intent (:meth:`check`), in the order registered."""

    @overload
    def tool(self, function: Callable[..., Any], /) -> Tool[Any]: ...

    @overload
    def tool(
        self, /, **options: Unpack[ToolOptions]
    ) -> Callable[[Callable[..., Any]], Tool[Any]]: ...

    def tool(
        self, function: Callable[..., Any] | None = None, /, **options: Unpack[ToolOptions]
    ) -> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]:
        """Register a tool; the options of :func:`resolvekit.tool` (:class:`ToolOptions`)."""
        decorate = tool(**options)

        def register(func: Callable[..., Any]) -> Tool[Any]:
            return self.add_tool(func if isinstance(func, Tool) else decorate(func))

        return register(function) if function is not None else register

    def add_tool(self, new: Tool[Any]) -> Tool[Any]:
        """Register an already built :class:`Tool`.

        Raises:
            UserError: another tool has the same name.
        """
        if new.name in self.tools and self.tools[new.name] is not new:
            raise UserError(f"Agent {self.name!r} already has a tool named {new.name!r}")
        return self.functions.add(new)

    def add_toolset(self, toolset: Toolset) -> Toolset:
        """Add a source of tools (a connected system); started with the agent."""
        self.toolsets.append(toolset)
        if self._toolsets_held:  # the agent is running: it uses this one from now on
            toolset.acquire()
        return toolset

    @property
    def tools(self) -> Mapping[str, Tool[Any]]:
        """Every tool the agent has now, by name: its functions and its toolsets' tools."""
        current = tuple(toolset.tools() for toolset in self.toolsets)
        seen = self._merged_from
        # The mappings themselves are kept (not their ids), so a changed one is never mistaken
        # for the old one.
        if len(current) != len(seen) or any(a is not b for a, b in zip(current, seen, strict=True)):
            self._merged = merge_tools(self.toolsets)
            self._merged_from = current
        return self._merged

    async def start_tools(self) -> None:
        """Connect every toolset and list its tools.

        Raises:
            UserError: two toolsets offer the same tool name.
        """
        self._hold_toolsets()
        for toolset in self.toolsets:
            await toolset.start()
        check_names(self.toolsets)

    async def refresh_tools(self) -> None:
        """Before a turn: reconnect dropped systems, list changed tool lists again. A system
        that cannot be reached keeps offering its last tools; calling them fails typed
        (``unavailable``)."""
        self._hold_toolsets()
        for toolset in self.toolsets:
            try:
                await toolset.refresh()
            except Exception:  # a system that is down must not stop the customer's turn
                log.warning("toolset %r could not be refreshed", toolset.name, exc_info=True)

    async def close_tools(self) -> None:
        """Let go of every toolset: one that other agents still use stays connected (the
        retail eval builds an agent per conversation over one shared connection), the last
        user disconnects it."""
        held, self._toolsets_held = self._toolsets_held, False
        for toolset in self.toolsets:
            if held:
                await toolset.release()
            elif toolset.users == 0:
                await toolset.close()

    def _hold_toolsets(self) -> None:
        if not self._toolsets_held:
            self._toolsets_held = True
            for toolset in self.toolsets:
                toolset.acquire()

    def playbook(
        self, intent: type[IntentT]
    ) -> Callable[[Callable[[Context[Any], IntentT], Awaitable[Any]]], Playbook]:
        """Register the playbook that resolves ``intent``.

        Raises:
            UserError: ``intent`` is not an Intent subclass, or it already has a playbook.
        """
        if not (isinstance(intent, type) and issubclass(intent, Intent)) or intent is Intent:
            raise UserError(f"@agent.playbook takes an Intent subclass, not {intent!r}")
        name = intent.intent_name

        def register(function: Callable[[Context[Any], IntentT], Awaitable[Any]]) -> Playbook:
            if not asyncio.iscoroutinefunction(function):
                raise UserError(f"Playbook for {name} must be an async function")
            if name in self.playbooks:
                raise UserError(f"Intent {name} already has a playbook")
            self.intents[name] = intent
            self.playbooks[name] = function
            self._specs.pop(name, None)
            self.__dict__.pop("intent_specs", None)
            return function

        return register

    def verify(self, function: Callable[[Context[Any]], Awaitable[Any]]) -> VerifyStep:
        """Register the agent's identity step, written once for every playbook.

        ``async def verify(ctx) -> identity | PlaybookOutcome`` may ``ctx.ask``, ``ctx.call``
        lookups and ``ctx.say``; it returns who the customer is (plain data, a pydantic model or
        a dataclass, kept as JSON) or a refusal/escalation (``ctx.refuse(...)``). It runs
        before any slot of an intent with ``verify_first = True``, at most once per conversation
        (whatever the channel): afterwards every playbook reads the result as ``ctx.identity``.
        Its steps are journaled in the request's run like the playbook's own.

        Raises:
            UserError: ``function`` is not an async function, or a verify step is registered
                already.
        """
        if not asyncio.iscoroutinefunction(function):
            raise UserError(f"@agent.verify takes an async function, not {function!r}")
        if self.verify_step is not None:
            raise UserError(f"Agent {self.name!r} already has a verify step")
        self.verify_step = function
        return function

    def check(
        self, intent: type[Intent], *, needs: Iterable[str] = ()
    ) -> Callable[[CheckT], CheckT]:
        """Register an early check of ``intent``: a refusal made as soon as it can be.

        ``async def check(ctx, intent) -> PlaybookOutcome | None`` runs once every slot in
        ``needs`` is filled (at once when ``needs`` is empty; after the verify step of a
        ``verify_first`` intent), before any other missing slot is asked, and in any case
        before the playbook. It may ``ctx.call`` read tools, ``ctx.say`` and ``ctx.ask``;
        returning a ``PlaybookOutcome`` (``ctx.refuse(...)``) ends the request with nothing
        else asked, returning None goes on. ``intent`` holds the slots known so far (only
        ``needs`` are sure to be set). A write (a write tool reached by any path,
        ``ctx.confirm``, ``ctx.approve``) raises :class:`~resolvekit.WriteInCheck`. Its steps
        are journaled in the request's run; a correction of a needed slot runs it again.

        Raises:
            UserError: ``intent`` is not an Intent subclass, a name in ``needs`` is not one of
                its slots, the function is not async or is named ``passed``, or the intent has
                a check of that name.
        """
        if not (isinstance(intent, type) and issubclass(intent, Intent)) or intent is Intent:
            raise UserError(f"@agent.check takes an Intent subclass, not {intent!r}")
        needed = (needs,) if isinstance(needs, str) else tuple(needs)
        unknown = [slot for slot in needed if slot not in intent.model_fields]
        if unknown:
            raise UserError(
                f"@agent.check({intent.intent_name}): {unknown} are not slots of the intent "
                f"(slots: {sorted(intent.model_fields)})"
            )
        name = intent.intent_name

        def register(function: CheckT) -> CheckT:
            registered = function  # the check of the type given (the test below narrows it)
            if not asyncio.iscoroutinefunction(function):
                raise UserError(f"@agent.check takes an async function, not {function!r}")
            known = self.checks.get(name, ())
            check_name = function.__name__
            if check_name == "passed":  # the journal's record of a check that passed
                raise UserError("@agent.check: a check cannot be named 'passed'")
            if any(c.name == check_name for c in known):
                raise UserError(f"Intent {name} already has a check named {check_name!r}")
            check = EarlyCheck(name=check_name, needs=needed, function=function)
            self.checks[name] = (*known, check)
            return registered

        return register

    def intent_spec(self, name: str) -> IntentSpec:
        """The model-facing description of one registered intent."""
        spec = self._specs.get(name)
        if spec is None:
            spec = self._specs[name] = self.intents[name].spec()
        return spec

    @cached_property
    def intent_specs(self) -> list[IntentSpec]:
        """Model-facing descriptions of every registered intent."""
        return [self.intent_spec(name) for name in self.intents]

    async def call_tool(
        self,
        name: str,
        args: dict[str, Any],
        *,
        customer_id: str,
        deps: DepsT | None = None,
        channel: str = "chat",
        idempotency_key: str | None = None,
        identity: Any = None,
    ) -> Any:
        """Run one of the agent's tools outside any conversation: for operators, back-office
        jobs and evals (the gold baseline). Arguments are validated, the timeout and retry
        policy apply and failures are typed as in a turn; nothing is journaled and no
        confirmation is asked (whoever calls this is the one consenting).

        Args:
            name: the tool's name.
            args: its arguments (validated against its schema).
            customer_id: the customer the tool acts for (``ctx.customer_id``).
            deps: the dependencies given to the tool (default ``Agent.deps``).
            channel: ``ctx.channel``.
            idempotency_key: passed to tools that take one (default: a new random key).
            identity: who the customer is, as the agent's verify step would return it in JSON
                form (``ctx.identity`` for the tool; default None, not verified).

        Returns:
            The result as JSON-compatible data (what a journal would store).

        Raises:
            UserError: no tool of that name.
            ToolError: the arguments are invalid, or the tool failed (its ``kind`` says how).
        """
        await self.refresh_tools()
        tool = self.tools.get(name)
        if tool is None:
            raise UserError(
                f"Agent {self.name!r} has no tool {name!r} (tools: {sorted(self.tools)})"
            )
        valid = tool.validate_args(args)
        conversation = Conversation.new(customer_id, channel)
        conversation.identity = jsonable(identity)
        run = PlaybookRun(id="direct", intent="direct")

        async def no_checkpoint() -> None:
            return None

        hooks = Hooks(checkpoint=no_checkpoint, tools=self.tools, knowledge=None, trace=_ignore)
        ctx: Context[Any] = Context(
            conversation=conversation,
            run=run,
            deps=deps if deps is not None else self.deps,
            hooks=hooks,
        )
        key = idempotency_key or f"direct:{uuid.uuid4().hex}"
        return await tool.invoke(ctx, valid, key)


def _ignore(kind: str, data: dict[str, Any]) -> None:
    return None
