"""Errors raised by resolvekit.

Every error derives from one root, so ``except resolvekit.ResolvekitError`` catches them all::

    ResolvekitError
    ├── UserError                      the developer used the API wrong (actionable message)
    │   ├── VerifyStepMissing          an intent is ``verify_first`` but the agent has no verify
    │   └── WriteInCheck               an early check (``@agent.check``) tried to write
    ├── InternalError                  a bug: an unexpected exception while handling a message
    ├── InvalidMessage                 a customer message was rejected; nothing was stored
    ├── ToolSignal                     raised *on purpose* by a tool
    │   ├── ToolRefusal                business rule says no ("order already shipped")
    │   └── RetryableToolError         transient failure; the engine may retry
    ├── ToolError                      a tool call failed (typed ``kind``); playbooks may catch it
    ├── PlaybookError
    │   ├── ReplayDivergence           replay asked for a different step than the journal holds
    │   ├── CorrectionAfterWrite       a correction would rewrite history after a completed write
    │   └── UnconfirmedWrite           a confirm-required write without a recorded customer yes
    ├── ApprovalError                  deciding an approval was refused; nothing changed
    │   ├── ApprovalNotFound           no approval has that id
    │   ├── ApprovalAlreadyDecided     it was decided already (no second action)
    │   ├── ApprovalRoleNotAllowed     the approver's role may not decide it
    │   └── ApprovalStale              the conversation moved on (cancelled, handed over...)
    ├── ModelError
    │   ├── ModelHTTPError             the model server answered with an HTTP error
    │   ├── ModelTimeout               the model did not answer in time
    │   ├── ModelConnectionError       the model server could not be reached
    │   ├── UnexpectedModelBehavior    the model's output could not be used
    │   ├── ModelRequestsBlocked       real model requests are disabled (tests)
    │   └── ModelFilesError            a local model's file is missing or damaged
    ├── StoreError
    │   ├── CorruptStore               a stored conversation could not be read
    │   ├── ConcurrentUpdate           another writer saved the conversation first
    │   └── StoreUnavailable           transient (locked, disk full, server down): retry later
    └── KnowledgeError                 the knowledge index could not be built, loaded or queried

Signals a tool raises on purpose are separate from developer mistakes and from run failures:
the engine turns signals and failures into a :class:`ToolError` the playbook can branch on, and
never crashes a customer's turn because of them.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "ApprovalAlreadyDecided",
    "ApprovalError",
    "ApprovalNotFound",
    "ApprovalRoleNotAllowed",
    "ApprovalStale",
    "ConcurrentUpdate",
    "CorrectionAfterWrite",
    "CorruptStore",
    "InternalError",
    "InvalidMessage",
    "KnowledgeError",
    "ModelConnectionError",
    "ModelError",
    "ModelFilesError",
    "ModelHTTPError",
    "ModelRequestsBlocked",
    "ModelTimeout",
    "PlaybookError",
    "ReplayDivergence",
    "ResolvekitError",
    "RetryableToolError",
    "StoreError",
    "StoreUnavailable",
    "ToolChanged",
    "ToolError",
    "ToolErrorKind",
    "ToolRefusal",
    "ToolSignal",
    "UnconfirmedWrite",
    "UnexpectedModelBehavior",
    "UserError",
    "VerifyStepMissing",
    "WriteInCheck",
]


class ResolvekitError(Exception):
    """Root of every error resolvekit raises."""


class UserError(ResolvekitError):
    """The API was used in a way that cannot work; the message says how to fix it."""


class VerifyStepMissing(UserError):
    """An intent declares ``verify_first = True`` but the agent has no verify step.

    Attributes:
        intent: the intent's name.
    """

    def __init__(self, intent: str, agent: str) -> None:
        self.intent = intent
        super().__init__(
            f"Intent {intent} has verify_first = True, but agent {agent!r} has no verify step: "
            f"register one with @agent.verify (async def verify(ctx) -> identity | refusal)"
        )


class WriteInCheck(UserError):
    """An early check (``@agent.check``) tried to write: call a write tool (through
    ``ctx.call``, a read tool's own context, ``agent.call_tool`` or ``Tool.invoke``) or ask for
    a confirmation or an approval. Nothing was written; a check only reads.

    Attributes:
        check: the check's name.
        action: the write tool's name, or ``ctx.confirm`` / ``ctx.approve``.
    """

    def __init__(self, check: str, action: str) -> None:
        self.check = check
        self.action = action
        super().__init__(
            f"Early check {check!r} tried {action!r}: a check runs before the slots are asked "
            "and must only read (call read tools, say, ask, refuse); do the write in the playbook"
        )


class InternalError(ResolvekitError):
    """An unexpected exception (a bug in resolvekit or in code it calls outside a playbook or
    tool) while handling a message; the original is chained as ``__cause__``. The customer's
    message is kept when the store allows it."""


class InvalidMessage(ResolvekitError):
    """A customer message was rejected before anything was stored.

    Attributes:
        reason: ``"empty"`` or ``"too_long"``.
    """

    def __init__(self, reason: Literal["empty", "too_long"], detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class ToolSignal(ResolvekitError):
    """Base for exceptions a tool raises on purpose."""


class ToolRefusal(ToolSignal):
    """Raised by a tool when a business rule forbids the action (not a failure of the system)."""


class RetryableToolError(ToolSignal):
    """Raised by a tool for a transient failure; reads and idempotent writes are retried.

    Args:
        message: what failed.
        retry_after: seconds the system asked to wait before the next attempt (an HTTP
            ``Retry-After``), capped by the tool's retry policy.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


ToolErrorKind = Literal[
    "invalid_arguments",
    "timeout",
    "refused",
    "exception",
    "unconfirmed",
    "unknown_outcome",
    "unavailable",
    "bad_result",
]


class ToolError(ResolvekitError):
    """A tool call failed. Raised by ``ctx.call``; ``ctx.try_call`` returns it instead.

    Attributes:
        tool: the tool's name.
        kind: what went wrong: ``invalid_arguments`` (rejected before the call), ``timeout``,
            ``refused`` (the tool raised :class:`ToolRefusal`), ``exception`` (any other error),
            ``unconfirmed`` (a confirm-required write without a customer yes),
            ``unknown_outcome`` (a write was interrupted and cannot be safely repeated),
            ``unavailable`` (no such tool now, or its system could not be reached; nothing
            was done) or ``bad_result`` (a connected system answered with something that is
            not a valid result).
        message: a human-readable explanation, safe to show to an agent or log.
    """

    def __init__(self, tool: str, kind: ToolErrorKind, message: str) -> None:
        self.tool = tool
        self.kind: ToolErrorKind = kind
        self.message = message
        super().__init__(f"Tool {tool!r} failed ({kind}): {message}")

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "kind": self.kind, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolError:
        return cls(data["tool"], data["kind"], data["message"])


class PlaybookError(ResolvekitError):
    """Base for failures of a playbook's durable execution."""


class ReplayDivergence(PlaybookError):
    """On replay, the playbook asked for a different step than the journal recorded.

    This happens when playbook code changed under a running conversation. The engine never
    silently re-executes: the conversation is handed to a human with this error attached.

    Attributes:
        step: index of the diverging journal step.
        expected: the step the journal holds (kind, key, args).
        got: the step the playbook asked for.
    """

    def __init__(self, step: int, expected: str, got: str) -> None:
        self.step = step
        self.expected = expected
        self.got = got
        super().__init__(
            f"Replay diverged at step {step}: the journal holds {expected}, "
            f"but the playbook asked for {got}"
        )


class ToolChanged(ReplayDivergence):
    """A connected tool's schema changed while a playbook that called it was suspended: the
    journal recorded a call to another shape of the tool, so it is not replayed silently.

    Attributes:
        tool: the tool's name.
    """

    def __init__(self, step: int, tool: str, recorded: str, current: str | None) -> None:
        self.tool = tool
        super().__init__(
            step,
            f"call {tool!r} with schema {recorded}",
            f"call {tool!r} with schema {current or '(tool gone)'}",
        )


class CorrectionAfterWrite(PlaybookError):
    """A slot correction would change a step at or before a write that already ran."""

    def __init__(self, slot: str, step: int, tool: str) -> None:
        self.slot = slot
        self.step = step
        self.tool = tool
        super().__init__(
            f"Cannot apply the correction to {slot!r}: write {tool!r} already ran at step {step}"
        )


class UnconfirmedWrite(PlaybookError):
    """A confirm-required write was attempted without a recorded customer yes."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        super().__init__(
            f"Tool {tool!r} requires the customer's explicit confirmation: "
            f"call `await ctx.confirm(...)` and get a yes before calling it"
        )


class ApprovalError(ResolvekitError):
    """Base for a decision on an approval that was refused; the stored state is unchanged.

    Attributes:
        approval_id: the approval the decision was for.
    """

    def __init__(self, approval_id: str, message: str) -> None:
        self.approval_id = approval_id
        super().__init__(message)


class ApprovalNotFound(ApprovalError):
    """No pending or decided approval has this id."""

    def __init__(self, approval_id: str) -> None:
        super().__init__(approval_id, f"No approval with id {approval_id!r}"[:200])


class ApprovalAlreadyDecided(ApprovalError):
    """The approval was decided already; the second decision is not applied.

    Attributes:
        decision: the first decision (``approved``/``declined``).
        approver: who made it.
    """

    def __init__(self, approval_id: str, decision: str, approver: str) -> None:
        self.decision = decision
        self.approver = approver
        super().__init__(
            approval_id,
            f"Approval {approval_id} was already {decision} by {approver!r}; nothing was done",
        )


class ApprovalRoleNotAllowed(ApprovalError):
    """The approver's role may not decide this approval (its tier needs another role).

    Attributes:
        role: the role given.
        allowed: the roles that may decide it.
    """

    def __init__(self, approval_id: str, role: str | None, allowed: list[str]) -> None:
        self.role = role
        self.allowed = allowed
        super().__init__(
            approval_id,
            f"Role {role!r} may not decide approval {approval_id} (allowed: "
            f"{', '.join(allowed)}); nothing was done",
        )


class ApprovalStale(ApprovalError):
    """The conversation moved on since the approval was requested (the customer withdrew the
    request, it was handed to a human, closed...): the approval can no longer be decided."""

    def __init__(self, approval_id: str, why: str) -> None:
        super().__init__(
            approval_id, f"Approval {approval_id} can no longer be decided: {why}; nothing was done"
        )


class ModelError(ResolvekitError):
    """Base for failures of the reasoning model."""


class ModelHTTPError(ModelError):
    """The model server answered with an HTTP error status."""

    def __init__(self, status: int, body: Any, model: str = "") -> None:
        self.status = status
        self.body = body
        self.model = model
        super().__init__(f"Model {model or 'request'} failed with HTTP {status}: {body!r}"[:500])


class ModelTimeout(ModelError):
    """The model did not answer within the request timeout (after retries)."""


class ModelConnectionError(ModelError):
    """The model server could not be reached (after retries)."""


class UnexpectedModelBehavior(ModelError):
    """The model's answer could not be turned into a valid decision."""

    def __init__(self, message: str, body: Any = None) -> None:
        self.body = body
        super().__init__(message)


class ModelRequestsBlocked(ModelError):
    """A real model request was attempted while ``ALLOW_MODEL_REQUESTS`` is false."""


class ModelFilesError(ModelError):
    """A file of a local model (weights, tokenizer, config) is missing or damaged.

    Attributes:
        path: the file.
    """

    def __init__(self, path: Any, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"Model file {self.path} {problem}")


class StoreError(ResolvekitError):
    """Base for session store failures."""


class CorruptStore(StoreError):
    """A stored record could not be decoded. The raw record is kept, never overwritten."""


class ConcurrentUpdate(StoreError):
    """Another writer saved the conversation after it was loaded (optimistic concurrency), the
    customer already has another open conversation, or another process held the customer's
    turn for longer than the store's ``lock_timeout``. Nothing was written."""


class StoreUnavailable(StoreError):
    """The store cannot be used right now: the database is locked or busy, the disk is full or
    read-only, an I/O error, the server cannot be reached. Nothing was written half-way: retry
    later."""


class KnowledgeError(ResolvekitError):
    """The knowledge index could not be built, loaded or queried."""
