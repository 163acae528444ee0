"""The API's views of a conversation: the whole of it (``GET .../conversation``), its open
question, and one transcript line as the message feed gives it (``GET .../messages``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..messages import Message
    from ..sessions import Conversation
    from .config import ServedAgent

__all__ = ["VISIBLE_ROLES", "conversation_json", "line_json", "pending_json"]

VISIBLE_ROLES = frozenset({"customer", "agent", "human_agent"})
"""Transcript lines a customer's client shows (tool results and system notes are not)."""


def conversation_json(agent: ServedAgent, conversation: Conversation) -> dict[str, Any]:
    """The API's view of a conversation (before redaction)."""
    run = conversation.active_run
    return {
        "conversation_id": conversation.id,
        "customer_id": conversation.customer_id,
        "status": conversation.status,
        "channel": conversation.channel,
        "intent": run.intent if run else None,
        "slots": dict(run.slots) if run else {},
        "pending": pending_json(agent, conversation),
        "transcript": [
            {
                "role": m.role,
                "text": m.text,
                "channel": m.channel,
                "at": m.at,
                **({"author": m.author} if m.author else {}),
            }
            for m in conversation.transcript
            if m.role != "tool"
        ],
        "updated_at": conversation.updated_at,
    }


def pending_json(agent: ServedAgent, conversation: Conversation) -> dict[str, Any] | None:
    """The open question (with its quick replies), or None (before redaction)."""
    from ..engine.options import quick_replies

    pending = conversation.pending
    if pending is None:
        return None
    return {
        "kind": pending.kind,
        "question": pending.question,
        "question_id": pending.id,
        "options": quick_replies(agent, conversation, conversation.active_run),
    }


def line_json(agent: ServedAgent, line: Message) -> dict[str, Any]:
    """One transcript line for a client, its words redacted with the agent's policy (the ids
    are not: a client matches them)."""
    redactor = agent.redaction
    text = line.text if redactor is None else redactor.redact_text(line.text)
    out: dict[str, Any] = {"role": line.role, "text": text, "channel": line.channel, "at": line.at}
    if line.author:
        out["author"] = line.author if redactor is None else redactor.redact_text(line.author)
    if line.message_id:
        out["message_id"] = line.message_id
    return out
