"""Playbooks kept running in memory between turns, so a long conversation is not replayed from
its first step on every message.

When a playbook asks the customer something, its coroutine is *parked*: it waits on a future
instead of unwinding. On the customer's next message, in the same process, the engine checks
that the run's journal is still exactly the one the playbook left (nothing else moved it: no
other process, no correction), points the context at the new turn's conversation, and resumes
it; the journal stays the source of truth, so when there is no parked playbook (a restart,
another worker, one evicted from the bounded registry) the engine replays the journal as
before. A turn therefore costs the same at message 500 as at message 10.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..playbooks import Context
from ..sessions import PendingState, PlaybookRun
from ..tools import Tool

__all__ = ["Gate", "Parked", "ParkedPlaybooks"]


@dataclass(eq=False)
class Gate:
    """Between a parked playbook and the engine: the playbook sets ``suspended`` when it needs
    the customer, then waits on ``resume``."""

    suspended: asyncio.Future[tuple[PendingState, str | None]] = field(init=False)
    resume: asyncio.Future[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.suspended = asyncio.get_running_loop().create_future()

    async def park(self, pending: PendingState, error: str | None) -> None:
        loop = asyncio.get_running_loop()
        self.resume = loop.create_future()
        self.suspended.set_result((pending, error))
        await self.resume

    def wake(self) -> None:
        """Let the parked playbook run on; a new ``suspended`` future catches its next stop."""
        self.suspended = asyncio.get_running_loop().create_future()
        assert self.resume is not None
        self.resume.set_result(None)


@dataclass(eq=False)
class Parked:
    """A playbook waiting for the customer, and the journal it left."""

    task: asyncio.Task[Any]
    ctx: Context[Any]
    gate: Gate
    playbook: object
    """The playbook function it runs: a playbook registered anew is replayed, not resumed."""
    mark: tuple[Any, ...] = ()
    """What the run's journal looked like when the playbook parked (see :func:`journal_mark`)."""
    schemas: set[tuple[str, str]] = field(default_factory=set)
    """``(tool, schema digest)`` of the connected tools the journal called, as of ``seen``."""
    seen: int = 0
    """How many leading journal steps ``schemas`` covers (only new steps are read at a park:
    a journal that changed otherwise does not match ``mark``)."""


def journal_mark(run: PlaybookRun) -> tuple[Any, ...]:
    """The journal's length, its last step and the run's slot values: a run another turn moved,
    rewound or gave new values looks different, so its parked playbook is not resumed (its
    ``intent`` argument holds the values it started with)."""
    last = run.journal[-1] if run.journal else None
    slots = json.dumps(run.slots, sort_keys=True, default=str)
    return (len(run.journal), slots) + ((last.kind, last.key, last.at) if last else ())


class ParkedPlaybooks:
    """The agent's parked playbooks, at most ``limit`` (the least recently parked go first).

    Args:
        limit: how many to keep; 0 keeps none (every turn replays its journal).
    """

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._parked: OrderedDict[tuple[str, str], Parked] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parked)

    def park(self, conversation_id: str, run: PlaybookRun, parked: Parked) -> None:
        """Keep ``parked`` for the next turn of ``run``."""
        if self.limit <= 0:
            self.drop(conversation_id, run.id, parked)
            return
        key = (conversation_id, run.id)
        old = self._parked.pop(key, None)
        if old is not None and old is not parked:
            _cancel(old.task)
        # Abandoned on purpose when the agent is dropped without close(): the journal is in
        # the store and the next turn replays it. asyncio's own switch for its "Task was
        # destroyed but it is pending!" report turns the report off for this task.
        parked.task._log_destroy_pending = False  # type: ignore[attr-defined]
        parked.mark = journal_mark(run)
        _note_schemas(parked, run)
        self._parked[key] = parked
        while len(self._parked) > self.limit:
            _, evicted = self._parked.popitem(last=False)
            _cancel(evicted.task)

    def take(
        self,
        conversation_id: str,
        run: PlaybookRun,
        playbook: object,
        tools: Mapping[str, Tool[Any]] | None = None,
    ) -> Parked | None:
        """The playbook parked for ``run``, if the journal is still as it left it, it runs
        ``playbook`` and on this event loop, and the connected tools it called still have the
        shape it saw (``tools``); any other is cancelled, and the engine replays (where a
        changed tool fails loudly, :class:`~resolvekit.ToolChanged`)."""
        parked = self._parked.pop((conversation_id, run.id), None)
        if parked is None:
            return None
        usable = (
            not parked.task.done()
            and parked.task.get_loop() is asyncio.get_running_loop()
            and parked.mark == journal_mark(run)
            and parked.playbook is playbook
            and (tools is None or _same_tools(parked.schemas, tools))
        )
        if not usable:
            _cancel(parked.task)
            return None
        return parked

    def clear(self) -> None:
        """Cancel every parked playbook (the agent is closing)."""
        while self._parked:
            _, parked = self._parked.popitem()
            _cancel(parked.task)

    def drop(self, conversation_id: str, run_id: str, parked: Parked | None = None) -> None:
        """Forget (and cancel) the playbook parked for a run."""
        found = self._parked.pop((conversation_id, run_id), None) or parked
        if found is not None:
            _cancel(found.task)


def _note_schemas(parked: Parked, run: PlaybookRun) -> None:
    """Add the connected tools called by the journal's steps since the last park."""
    journal = run.journal
    if len(journal) < parked.seen:  # shorter than it was: read it all again
        parked.schemas.clear()
        parked.seen = 0
    for step in journal[parked.seen :]:
        if step.schema is not None:
            parked.schemas.add((step.key, step.schema))
    parked.seen = len(journal)


def _same_tools(schemas: set[tuple[str, str]], tools: Mapping[str, Tool[Any]]) -> bool:
    """Every connected tool the run called (a step with a schema digest) still has that shape."""
    for name, schema in schemas:
        tool = tools.get(name)
        if tool is None or tool.fingerprint != schema:
            return False
    return True


def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a parked playbook; one left on an event loop that has since closed never runs
    again, and there is nothing to cancel."""
    if not task.get_loop().is_closed():
        task.cancel()
