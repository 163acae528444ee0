"""Durable playbooks by deterministic replay.

A playbook is a plain ``async def playbook(ctx, intent)``. Every effectful ``ctx.*`` call is
recorded in the run's journal. When the playbook needs the customer (``ctx.ask``,
``ctx.confirm``) it is *suspended*: the question goes out and nothing blocks. On the next message
the engine re-runs the playbook from the top; each ``ctx.*`` call at step *n* returns the recorded
result instead of executing again, until the new frontier. A write therefore runs exactly once
across turns, process restarts and store reloads, and the journal is the audit log.

A write is journaled *ahead* of the call (status ``started``) with a deterministic idempotency
key, so a crash between the call and the commit is recovered: an idempotent tool is called again
with the same key; any other is reported as ``unknown_outcome`` and never repeated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    overload,
    runtime_checkable,
)

from pydantic import ValidationError

from ._json import detached, dump, jsonable, load, same_json
from .approvals import Approval, ApprovalPolicy, open_approval, recorded_approval
from .exceptions import (
    CorrectionAfterWrite,
    ReplayDivergence,
    ToolChanged,
    ToolError,
    ToolErrorKind,
    UnconfirmedWrite,
)
from .intents import answer_type, slot_error_message, spec_from_schema
from .messages import Citation
from .results import elapsed_ms
from .sessions import Conversation, PendingState, PlaybookRun, Step, process_id
from .specs import SlotSpec
from .tools import Tool, forbid_writes
from .toolsets import resolve_tool

if TYPE_CHECKING:
    from .models.base import Model

__all__ = ["Context", "Hooks", "KnowledgeAnswer", "KnowledgeSource", "PlaybookOutcome", "Suspended"]

DepsT = TypeVar("DepsT")
T = TypeVar("T")
R = TypeVar("R")

Priority = Literal["low", "normal", "high", "urgent"]


@dataclass(kw_only=True, frozen=True)
class PlaybookOutcome:
    """What a playbook returns: build it with ``ctx.resolve/escalate/refuse``."""

    kind: Literal["resolved", "escalated", "refused"]
    summary: str
    """For the journal, the handoff and evals ("Order W1234567 cancelled")."""
    reply: str | None = None
    """What to tell the customer; the summary when None."""
    priority: Priority = "normal"


@dataclass(kw_only=True)
class KnowledgeAnswer:
    """The result of ``ctx.search``: a grounded answer, or a reasoned "I don't know"."""

    query: str
    text: str
    answerable: bool
    score: float = 0.0
    citations: list[Citation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The answer as plain JSON data (what ``ctx.search`` journals)."""
        data: dict[str, Any] = dump(self)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnowledgeAnswer:
        """An answer from :meth:`to_json`'s data."""
        return load(cls, dict(data))


KnowledgeFn = Callable[[str, int], Awaitable[KnowledgeAnswer]]


@runtime_checkable
class KnowledgeSource(Protocol):
    """Anything that answers questions for the agent (a knowledge base, a search service)."""

    async def answer(
        self, query: str, k: int = 3, *, model: Model | None = None
    ) -> KnowledgeAnswer:
        """A grounded answer to ``query`` from the ``k`` best passages, or not answerable.

        ``model`` is the agent's model, for sources that write their answers with it (a
        :class:`~resolvekit.knowledge.KnowledgeBase` does on an LLM); others ignore it."""
        ...


class Suspended(BaseException):
    """Raised through a playbook when it waits (``ctx.ask/confirm/approve``); the
    engine catches it and sends the question. A BaseException so ``except Exception`` in
    playbook code cannot swallow it."""

    def __init__(self, pending: PendingState, spec: SlotSpec | None, error: str | None) -> None:
        self.pending = pending
        self.spec = spec
        self.error = error
        super().__init__(pending.question)


@dataclass(kw_only=True)
class Hooks:
    """The seam between a :class:`Context` and what runs it: persistence, tools, knowledge."""

    checkpoint: Callable[[], Awaitable[None]]
    """Persist the conversation now (used around writes)."""
    tools: Mapping[str, Tool[Any]]
    knowledge: KnowledgeFn | None
    trace: Callable[[str, dict[str, Any]], None]
    live: Callable[[str, dict[str, Any]], None] | None = None  # tool_started, say: see .live
    approvals: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    approval_text: str = "This needs approval ({reason}); I'll let you know once it's decided."


class Parking(Protocol):
    """How a playbook waits for the customer without unwinding: the engine keeps it running in
    memory between turns (no replay) and resumes it when the answer is in the journal. Without
    parking a context raises :class:`Suspended` and the next turn replays the journal."""

    async def park(self, pending: PendingState, error: str | None) -> None:
        """Wait until the engine resumes the playbook (after a new turn rebound the context)."""
        ...


class Context(Generic[DepsT]):
    """What a playbook (and a tool that asks for it) can see and do.

    Attributes:
        customer_id: who the agent is talking to.
        conversation_id: the conversation, stable across channels.
        channel: where the current message arrived.
        deps: the application's dependencies (``Agent(deps=...)`` or ``handle(deps=...)``).
        intent: the name of the running intent, if any.
    """

    __resolvekit_context__ = True
    """Marks the class for :func:`resolvekit.tool`, which passes it to tools that ask for it."""

    def __init__(
        self,
        *,
        conversation: Conversation,
        run: PlaybookRun,
        deps: DepsT,
        hooks: Hooks,
        rewind: str | None = None,
        parking: Parking | None = None,
    ) -> None:
        self.customer_id = conversation.customer_id
        self.conversation_id = conversation.id
        self.channel = conversation.channel
        self.deps = deps
        self.intent = run.intent
        self._conversation = conversation
        self._run = run
        self._hooks = hooks
        self._cursor = 0
        self._rewind = rewind
        """When set (to the corrected slot's name), a mismatch truncates the journal instead of
        raising :class:`ReplayDivergence`."""
        self.outbox: list[str] = []
        """Messages said at the live frontier of this execution (replayed ones are not resent)."""
        self._parking = parking

    def rebind(
        self, *, conversation: Conversation, run: PlaybookRun, deps: DepsT, hooks: Hooks
    ) -> None:
        """Point a parked context at a new turn's conversation (the same one, loaded again),
        dependencies and hooks; what it says from now on goes to a fresh outbox."""
        self._conversation = conversation
        self._run = run
        self.deps = deps
        self.channel = conversation.channel
        self._hooks = hooks
        self._rewind = None
        self.outbox = []

    @property
    def request_text(self) -> str:
        """The customer's message that started this request, in their own words.

        Fixed when the run starts, so replays see the same text: use it to read details the
        customer gave up front ("the order with the blue kettle").
        """
        return self._run.opening

    @property
    def identity(self) -> Any:
        """Who the customer is, as the agent's verify step (``@agent.verify``) returned it, in
        its JSON form; None until verified in this conversation."""
        return self._conversation.identity

    @property
    def facts(self) -> Mapping[str, Any]:
        """Facts known in this conversation (slot values, ``ctx.remember``-ed values)."""
        return dict(self._conversation.facts)

    def append_only(self) -> None:
        """Start at the end of the journal: nothing is replayed (free mode's journal)."""
        self._cursor = len(self._run.journal)

    @property
    def replaying(self) -> bool:
        """True while steps are being served from the journal."""
        return self._cursor < len(self._run.journal)

    # -- journal machinery -------------------------------------------------------------------

    def _next(self, kind: str, key: str, args: dict[str, Any]) -> Step | None:
        """The recorded step at the cursor if it matches, None at the live frontier."""
        index = self._cursor
        self._cursor += 1
        journal = self._run.journal
        if index >= len(journal):
            return None
        step = journal[index]
        if step.kind == kind and step.key == key and same_json(step.args, args):
            return step
        got = _describe(kind, key, args)
        if self._rewind is None:
            raise ReplayDivergence(index, _describe(step.kind, step.key, step.args), got)
        # A slot correction changed what the playbook does from here: drop the rest of the
        # journal, unless a write already ran at or after this point.
        for later in journal[index:]:
            if later.kind == "call" and later.effect == "write" and later.status != "error":
                raise CorrectionAfterWrite(self._rewind, later.index, later.key)
        self._run.superseded.extend(journal[index:])
        del journal[index:]
        self._hooks.trace("rewind", {"step": index, "now": got})
        return None

    def _recorded_call(self, tool: Tool[Any], args: dict[str, Any]) -> Step | None:
        """Replay's fast path: the step at the cursor records this very call with these very
        arguments (already plain JSON), so validating them again would change nothing."""
        journal = self._run.journal
        if self._cursor >= len(journal):
            return None
        step = journal[self._cursor]
        if step.kind != "call" or step.key != tool.name or step.args != args:
            return None
        self._cursor += 1
        return step

    def _append(self, step: Step) -> Step:
        self._run.journal.append(step)
        return step

    # -- effects -----------------------------------------------------------------------------

    @overload
    async def call(self, tool: Tool[R], /, **args: Any) -> R: ...
    @overload
    async def call(self, tool: str, /, **args: Any) -> Any: ...

    async def call(self, tool: Tool[Any] | str, /, **args: Any) -> Any:
        """Call a tool through the journal; returns its (typed) result.

        ``tool`` is a :class:`Tool` or the name of one of the agent's tools (``"crm.get_order"``).
        A Tool stands for the agent's tool of its name: when a toolset provides that name (a
        connected system), that one runs and its result loads as the Tool's return type.

        Raises:
            ToolError: the tool failed (timeout, refusal, exception, invalid arguments, no such
                tool now: ``unavailable``); the playbook may branch on ``error.kind``.
            UnconfirmedWrite: a ``confirm=True`` write without a customer yes since the last one.
            ToolChanged: a connected tool changed shape since this playbook called it.
        """
        outcome = await self._call(tool, args)
        if isinstance(outcome, ToolError):
            raise outcome
        return outcome

    @overload
    async def try_call(self, tool: Tool[R], /, **args: Any) -> R | ToolError: ...
    @overload
    async def try_call(self, tool: str, /, **args: Any) -> Any: ...

    async def try_call(self, tool: Tool[Any] | str, /, **args: Any) -> Any:
        """Like :meth:`call`, but a failure is returned as a :class:`ToolError` value."""
        return await self._call(tool, args)

    async def _call(self, ref: Tool[Any] | str, args: dict[str, Any]) -> Any:
        tool, shape = resolve_tool(self._hooks.tools, ref)  # the one that runs, the typed one
        if tool is None or shape is None:
            return self._unavailable(str(ref), args)
        forbid_writes(tool.name, tool.effect)  # a write inside an early check raises
        recorded = self._recorded_call(tool, args)
        if recorded is not None:
            return await self._replay_call(tool, recorded, shape)
        invalid: ToolError | None = None
        try:
            json_args = tool.validate_args(args)
        except ToolError as error:
            json_args, invalid = jsonable(args), error
        step = self._next("call", tool.name, json_args)
        if step is not None:
            return await self._replay_call(tool, step, shape)
        index = self._run.base + self._cursor - 1
        if invalid is not None:
            self._append(self._error_step(index, tool.name, json_args, invalid, tool.effect))
            self._hooks.trace("tool", {"tool": tool.name, "status": "error", **invalid.to_json()})
            return invalid
        if tool.confirm:
            self._require_confirmation(tool, index)
        step = self._append(
            Step(
                index=index,
                kind="call",
                key=tool.name,
                args=json_args,
                status="started",
                effect=tool.effect,
                idempotency_key=f"{self.conversation_id}:{self._run.id}:{index}",
                deadline=time.time() + tool.max_duration(),
                owner=process_id(),
                schema=tool.fingerprint,
            )
        )
        if tool.effect == "write":
            await self._hooks.checkpoint()  # journaled ahead of the call
        return await self._execute(tool, step, shape)

    def _unavailable(self, name: str, args: dict[str, Any]) -> Any:
        """A call by name of a tool the agent does not have now (a connected system stopped
        offering it): journaled as an ``unavailable`` error, so replays agree."""
        json_args = jsonable(args)
        step = self._next("call", name, json_args)
        if step is not None:
            if step.status == "error":
                return ToolError.from_json(step.error or {})
            raise ToolChanged(step.index, name, step.schema or "(a Python tool)", None)
        error = ToolError(
            name, "unavailable", f"no tool named {name!r} now (tools: {sorted(self._hooks.tools)})"
        )
        self._append(self._error_step(self._run.base + self._cursor - 1, name, json_args, error))
        self._hooks.trace("tool", {"tool": name, "status": "error", **error.to_json()})
        return error

    async def _execute(self, tool: Tool[Any], step: Step, shape: Tool[Any] | None = None) -> Any:
        shape, started, args = shape or tool, time.perf_counter(), step.args  # "ms" traced
        self._hooks.live and self._hooks.live("tool_started", {"tool": tool.name, "args": args})
        try:
            result = await tool.invoke(self, step.args, step.idempotency_key)
            loaded = shape.load_result(result)
        except ToolError as failed:
            return await self._failed(tool, step, failed, started)
        except Exception as exc:  # a result that does not fit the declared type
            kind: ToolErrorKind = "unknown_outcome" if tool.effect == "write" else "bad_result"
            unfit = ToolError(tool.name, kind, f"the result does not fit {shape.name!r}: {exc}")
            return await self._failed(tool, step, unfit, started)
        step.status, step.result = "done", result
        done = {"status": "done", "result": result, "ms": elapsed_ms(started)}
        self._hooks.trace("tool", {"tool": tool.name, "args": step.args, **done})
        if tool.effect == "write":
            await self._hooks.checkpoint()
        return loaded

    async def _failed(self, tool: Tool[Any], step: Step, error: ToolError, at: float) -> ToolError:
        step.status, step.error = "error", error.to_json()
        took = {"tool": tool.name, "args": step.args, **step.error, "ms": elapsed_ms(at)}
        self._hooks.trace("tool", took)
        if tool.effect == "write":
            await self._hooks.checkpoint()
        return error

    async def _replay_call(
        self, tool: Tool[Any], step: Step, shape: Tool[Any] | None = None
    ) -> Any:
        if step.schema is not None and step.schema != tool.fingerprint:
            raise ToolChanged(step.index, tool.name, step.schema, tool.fingerprint)
        if step.status == "done":
            return (shape or tool).load_result(step.result)
        if step.status == "error":
            return ToolError.from_json(step.error or {})
        return await self.recover_step(tool, step, shape)

    async def recover_step(
        self, tool: Tool[Any], step: Step, shape: Tool[Any] | None = None
    ) -> Any:
        """A call left ``started``: the process died (or the turn was cancelled) between
        journaling it and recording its result. A read, or an idempotent write (called again
        with the same key), runs again; any other write is not repeated and becomes an
        ``unknown_outcome`` error (the engine hands it to a human)."""
        if tool.idempotent or tool.effect == "read":
            self._hooks.trace("recover", {"tool": tool.name, "key": step.idempotency_key})
            return await self._execute(tool, step, shape)
        error = ToolError(
            tool.name,
            "unknown_outcome",
            "the call was interrupted and the tool takes no idempotency key, so it is not "
            "repeated; a human must check whether it took effect",
        )
        step.status, step.error = "error", error.to_json()
        self._hooks.trace("tool", {"tool": tool.name, "args": step.args, **error.to_json()})
        return error

    def _error_step(
        self,
        index: int,
        name: str,
        args: dict[str, Any],
        error: ToolError,
        effect: str | None = None,
    ) -> Step:
        return Step(
            index=index, kind="call", key=name, args=args, status="error",
            error=error.to_json(), effect=effect,
        )  # fmt: skip

    def _require_confirmation(self, tool: Tool[Any], index: int) -> None:
        """The nearest earlier confirmation must be a yes not yet used by another such write."""
        for step in reversed(self._run.journal[: index - self._run.base]):
            if step.kind == "confirm":
                if step.status == "done" and step.result is True:
                    return
                break
            if step.kind == "call" and step.status != "error":
                other = self._hooks.tools.get(step.key)
                if other is not None and other.confirm:
                    break
        raise UnconfirmedWrite(tool.name)

    @overload
    async def ask(self, question: str, /, *, name: str = ...) -> str: ...
    @overload
    async def ask(self, question: str, /, type: type[T], *, name: str = ...) -> T: ...
    # A type form that is not a class: ``Literal["card", "credit"]``, ``int | None``.
    @overload
    async def ask(self, question: str, /, type: object, *, name: str = ...) -> Any: ...

    async def ask(self, question: str, /, type: Any = str, *, name: str = "answer") -> Any:
        """Ask the customer a question; returns the answer converted to ``type``.

        The playbook is suspended until the customer answers; an answer that does not validate
        is asked again with the reason.
        """
        adapter, schema = answer_type(type)
        args = {"name": name, "schema": schema}
        step = self._next("ask", question, args)
        if step is None:
            step = self._append(
                Step(index=self._cursor - 1, kind="ask", key=question, args=args, status="pending")
            )
        position, error = step.index, None
        while True:
            step = self._run.journal[position]  # the run may be a new turn's copy
            if step.status == "done":
                try:
                    return adapter.validate_python(detached(step.result))
                except ValidationError as exc:
                    step.status, step.result = "pending", None
                    error = slot_error_message(name, exc)
            spec = spec_from_schema(name, schema, question)
            await self._wait_for_customer("ask", question, step, spec, error)
            error = None

    async def confirm(self, text: str, /) -> bool:
        """Ask a yes/no question; True only on an explicit yes (recorded in the journal)."""
        forbid_writes("ctx.confirm")  # a yes is for a write, never made in an early check
        step = self._next("confirm", text, {})
        if step is None:
            step = self._append(
                Step(index=self._cursor - 1, kind="confirm", key=text, status="pending")
            )
        position = step.index
        while True:
            step = self._run.journal[position]
            if step.status == "done":
                return bool(step.result)
            await self._wait_for_customer("confirm", text, step, None, None)

    async def approve(
        self,
        reason: str,
        /,
        *,
        amount: float | None = None,
        role: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Approval:
        """A decision on ``reason`` (a refund of ``amount``...) by the agent's approval policy:
        approved at once under the automatic tier, else the playbook waits (durably) for someone
        with the tier's ``role`` or a higher one (``Agent.decide``); above the top tier the
        conversation goes to a person. Write only when ``approval.approved``."""
        forbid_writes("ctx.approve")
        args = {"amount": amount, "role": role, "details": jsonable(dict(details or {}))}
        step = self._next("approve", reason, args) or self._append(
            Step(index=self._cursor - 1, kind="approve", key=reason, args=args, status="pending")
        )
        if step.status == "pending" and step.result is None:  # new (or its routing interrupted)
            hooks = self._hooks
            await open_approval(step, self._conversation, self._run, hooks.approvals, hooks.trace)
        position = step.index
        while True:
            step = self._run.journal[position]  # the run may be a new turn's copy
            if step.status != "pending":
                return recorded_approval(step)
            question = self._hooks.approval_text.format(reason=reason, role=step.result["role"])
            await self._wait_for_customer("approval", question, step, None, None)

    async def _wait_for_customer(
        self,
        kind: Literal["ask", "confirm", "approval"],
        question: str,
        step: Step,
        spec: SlotSpec | None,
        error: str | None,
    ) -> None:
        """Send the question and wait: parked in memory when the engine parks playbooks, else
        unwound (:class:`Suspended`) to be replayed on the next turn."""
        pending = PendingState(
            kind=kind,
            question=question,
            run_id=self._run.id,
            step=step.index,
            slot=spec.name if spec else None,
        )
        if self._parking is None:
            raise Suspended(pending, spec, error)
        await self._parking.park(pending, error)

    async def search(self, query: str, /, *, k: int = 3) -> KnowledgeAnswer:
        """Look up the knowledge index; the answer is journaled so replays see the same one."""
        step = self._next("search", query, {"k": k})
        if step is not None:
            return KnowledgeAnswer.from_json(step.result)
        knowledge, started = self._hooks.knowledge, time.perf_counter()
        if knowledge is None:
            answer = KnowledgeAnswer(query=query, text="", answerable=False)
        else:
            answer = await knowledge(query, k)
        searched = Step(index=self._cursor - 1, kind="search", key=query, args={"k": k})
        searched.result = answer.to_json()
        self._append(searched)
        found = {"answerable": answer.answerable, "score": answer.score, "ms": elapsed_ms(started)}
        self._hooks.trace("knowledge", {"query": query, "hits": len(answer.citations), **found})
        return answer

    def say(self, text: str, /) -> None:
        """Tell the customer something now (sent once, never again on replay)."""
        if self._next("say", text, {}) is None:
            self._append(Step(index=self._cursor - 1, kind="say", key=text))
            self.outbox.append(text)
            self._hooks.live and self._hooks.live("say", {"text": text})  # heard now

    def remember(self, key: str, value: Any, /) -> None:
        """Keep a fact for the rest of the conversation (e.g. the authenticated user id)."""
        value = jsonable(value)
        if self._next("remember", key, {"value": value}) is None:
            self._append(
                Step(index=self._cursor - 1, kind="remember", key=key, args={"value": value})
            )
        self._conversation.facts[key] = value

    # -- outcomes ----------------------------------------------------------------------------

    def resolve(self, summary: str, /, *, reply: str | None = None) -> PlaybookOutcome:
        """The customer's need is met."""
        return PlaybookOutcome(kind="resolved", summary=summary, reply=reply)

    def escalate(
        self, reason: str, /, *, priority: Priority = "normal", reply: str | None = None
    ) -> PlaybookOutcome:
        """Hand the conversation to a human, with everything done so far."""
        return PlaybookOutcome(kind="escalated", summary=reason, reply=reply, priority=priority)

    def refuse(self, reason: str, /, *, reply: str | None = None) -> PlaybookOutcome:
        """Decline the request (e.g. against policy) without changing anything."""
        return PlaybookOutcome(kind="refused", summary=reason, reply=reply)


def _describe(kind: str, key: str, args: dict[str, Any]) -> str:
    shown = json.dumps(args, sort_keys=True, default=str)
    return f"{kind} {key!r} {shown[:200]}"
