"""resolvekit: agentic customer-service resolution.

Understand the intent, act on the systems that hold the truth through durable playbooks, confirm,
and escalate to a human with the whole context only when judgement is needed::

    import resolvekit as rk

    agent = rk.Agent(name="Acme support", model="local", store="sqlite:///support.db")

Names are imported lazily so ``import resolvekit`` stays fast; heavy optional dependencies
(sentence-transformers, torch, openai) load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # engine
    "Agent": "agent",
    "Phrases": "phrases",
    "TurnResult": "results",
    "TraceEvent": "results",
    "Outcome": "results",
    "Intent": "intents",
    "Slot": "intents",
    "Context": "playbooks",
    "PlaybookOutcome": "playbooks",
    "KnowledgeAnswer": "playbooks",
    "tool": "tools",
    "Tool": "tools",
    "RetryPolicy": "tools",
    "Toolset": "toolsets",
    "FunctionToolset": "toolsets",
    "ToolOverride": "toolsets",
    # approvals
    "Approval": "approvals",
    "ApprovalPolicy": "approvals",
    "ApprovalTier": "approvals",
    "ApprovalRequest": "approvals",
    "Notification": "approvals",
    "PendingApproval": "approvals",
    "Decided": "approvals",
    "ApprovalError": "exceptions",
    "ApprovalNotFound": "exceptions",
    "ApprovalAlreadyDecided": "exceptions",
    "ApprovalRoleNotAllowed": "exceptions",
    "ApprovalStale": "exceptions",
    # escalation
    "EscalationPolicy": "escalation",
    "Handoff": "handoffs",
    "HandoffTarget": "delivery",
    "CallbackTarget": "delivery",
    "JSONLQueue": "delivery",
    "WebhookTarget": "helpdesk",
    "ZendeskTarget": "helpdesk",
    "FreshdeskTarget": "helpdesk",
    # privacy
    "Redactor": "redaction",
    "RedactingFilter": "redaction",
    "DEFAULT_REDACTOR": "redaction",
    # decisions and messages
    "Message": "messages",
    "StartIntent": "messages",
    "FillSlots": "messages",
    "Confirm": "messages",
    "AnswerFromKnowledge": "messages",
    "AskClarification": "messages",
    "CallTool": "messages",
    "Escalate": "messages",
    "Reply": "messages",
    "Citation": "messages",
    "Usage": "messages",
    # models
    "Model": "models",
    "ModelRequest": "models",
    "ModelResponse": "models",
    "infer_model": "models",
    "FunctionModel": "models.function",
    "ScriptedModel": "models.scripted",
    # knowledge
    "KnowledgeBase": "knowledge",
    # sessions
    "Store": "sessions",
    "Conversation": "sessions",
    "MemoryStore": "sessions.memory",
    "SQLiteStore": "sessions.sqlite",
    "PostgresStore": "sessions.postgres",
    "EncryptedStore": "sessions.encrypted",
    # errors
    "ResolvekitError": "exceptions",
    "ToolSignal": "exceptions",
    "ToolErrorKind": "exceptions",
    "PlaybookError": "exceptions",
    "ModelRequestsBlocked": "exceptions",
    "ModelFilesError": "exceptions",
    "KnowledgeError": "exceptions",
    "UserError": "exceptions",
    "VerifyStepMissing": "exceptions",
    "WriteInCheck": "exceptions",
    "InvalidMessage": "exceptions",
    "InternalError": "exceptions",
    "ConsentPolicy": "consent",
    "Repairs": "repair",
    "ToolError": "exceptions",
    "ToolRefusal": "exceptions",
    "RetryableToolError": "exceptions",
    "ReplayDivergence": "exceptions",
    "ToolChanged": "exceptions",
    "CorrectionAfterWrite": "exceptions",
    "UnconfirmedWrite": "exceptions",
    "ModelError": "exceptions",
    "ModelHTTPError": "exceptions",
    "ModelConnectionError": "exceptions",
    "ModelTimeout": "exceptions",
    "UnexpectedModelBehavior": "exceptions",
    "CorruptStore": "exceptions",
    "ConcurrentUpdate": "exceptions",
    "StoreError": "exceptions",
    "StoreUnavailable": "exceptions",
}

__all__ = [
    "DEFAULT_REDACTOR",
    "Agent",
    "AnswerFromKnowledge",
    "Approval",
    "ApprovalAlreadyDecided",
    "ApprovalError",
    "ApprovalNotFound",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRoleNotAllowed",
    "ApprovalStale",
    "ApprovalTier",
    "AskClarification",
    "CallTool",
    "CallbackTarget",
    "Citation",
    "ConcurrentUpdate",
    "Confirm",
    "ConsentPolicy",
    "Context",
    "Conversation",
    "CorrectionAfterWrite",
    "CorruptStore",
    "Decided",
    "EncryptedStore",
    "Escalate",
    "EscalationPolicy",
    "FillSlots",
    "FreshdeskTarget",
    "FunctionModel",
    "FunctionToolset",
    "Handoff",
    "HandoffTarget",
    "Intent",
    "InternalError",
    "InvalidMessage",
    "JSONLQueue",
    "KnowledgeAnswer",
    "KnowledgeBase",
    "KnowledgeError",
    "MemoryStore",
    "Message",
    "Model",
    "ModelConnectionError",
    "ModelError",
    "ModelFilesError",
    "ModelHTTPError",
    "ModelRequest",
    "ModelRequestsBlocked",
    "ModelResponse",
    "ModelTimeout",
    "Notification",
    "Outcome",
    "PendingApproval",
    "Phrases",
    "PlaybookError",
    "PlaybookOutcome",
    "PostgresStore",
    "RedactingFilter",
    "Redactor",
    "Repairs",
    "ReplayDivergence",
    "Reply",
    "ResolvekitError",
    "RetryPolicy",
    "RetryableToolError",
    "SQLiteStore",
    "ScriptedModel",
    "Slot",
    "StartIntent",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Tool",
    "ToolChanged",
    "ToolError",
    "ToolErrorKind",
    "ToolOverride",
    "ToolRefusal",
    "ToolSignal",
    "Toolset",
    "TraceEvent",
    "TurnResult",
    "UnconfirmedWrite",
    "UnexpectedModelBehavior",
    "Usage",
    "UserError",
    "VerifyStepMissing",
    "WebhookTarget",
    "WriteInCheck",
    "ZendeskTarget",
    "infer_model",
    "tool",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), [*__all__, "__version__"])


if TYPE_CHECKING:
    from .agent import Agent
    from .approvals import (
        Approval,
        ApprovalPolicy,
        ApprovalRequest,
        ApprovalTier,
        Decided,
        Notification,
        PendingApproval,
    )
    from .consent import ConsentPolicy
    from .delivery import CallbackTarget, HandoffTarget, JSONLQueue
    from .escalation import EscalationPolicy
    from .exceptions import (
        ApprovalAlreadyDecided,
        ApprovalError,
        ApprovalNotFound,
        ApprovalRoleNotAllowed,
        ApprovalStale,
        ConcurrentUpdate,
        CorrectionAfterWrite,
        CorruptStore,
        InternalError,
        InvalidMessage,
        KnowledgeError,
        ModelConnectionError,
        ModelError,
        ModelFilesError,
        ModelHTTPError,
        ModelRequestsBlocked,
        ModelTimeout,
        PlaybookError,
        ReplayDivergence,
        ResolvekitError,
        RetryableToolError,
        StoreError,
        StoreUnavailable,
        ToolChanged,
        ToolError,
        ToolErrorKind,
        ToolRefusal,
        ToolSignal,
        UnconfirmedWrite,
        UnexpectedModelBehavior,
        UserError,
        VerifyStepMissing,
        WriteInCheck,
    )
    from .handoffs import Handoff
    from .helpdesk import FreshdeskTarget, WebhookTarget, ZendeskTarget
    from .intents import Intent, Slot
    from .knowledge import KnowledgeBase
    from .messages import (
        AnswerFromKnowledge,
        AskClarification,
        CallTool,
        Citation,
        Confirm,
        Escalate,
        FillSlots,
        Message,
        Reply,
        StartIntent,
        Usage,
    )
    from .models import Model, ModelRequest, ModelResponse, infer_model
    from .models.function import FunctionModel
    from .models.scripted import ScriptedModel
    from .phrases import Phrases
    from .playbooks import Context, KnowledgeAnswer, PlaybookOutcome
    from .redaction import DEFAULT_REDACTOR, RedactingFilter, Redactor
    from .repair import Repairs
    from .results import Outcome, TraceEvent, TurnResult
    from .sessions import Conversation, Store
    from .sessions.encrypted import EncryptedStore
    from .sessions.memory import MemoryStore
    from .sessions.postgres import PostgresStore
    from .sessions.sqlite import SQLiteStore
    from .tools import RetryPolicy, Tool, tool
    from .toolsets import FunctionToolset, ToolOverride, Toolset
