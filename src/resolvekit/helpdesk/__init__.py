"""Helpdesk delivery: handoff targets that never lose a packet.

- :class:`WebhookTarget` POSTs the redacted packet, HMAC-signed, with an idempotency key;
- :class:`ZendeskTarget` and :class:`FreshdeskTarget` open a ticket whose internal note is the
  packet, with the requester, priority and tags set.

All of them write the packet to a file-backed :class:`Outbox` before the first attempt, retry
transient failures (``Retry-After`` honoured), keep what still fails for a later sweep
(:meth:`OutboxTarget.flush`, or ``resolvekit deliver --retry``) and move what is refused for good
to a dead-letter file with the reason. See docs/helpdesk.md.
"""

from __future__ import annotations

from .base import DeliveryPolicy, FlushReport, OutboxTarget, handoff_key
from .outbox import DeadLetter, Outbox, OutboxEntry
from .tickets import FreshdeskTarget, Requester, ZendeskTarget, render_note
from .webhook import SIGNATURE_HEADER, WebhookTarget, sign, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "DeadLetter",
    "DeliveryPolicy",
    "FlushReport",
    "FreshdeskTarget",
    "Outbox",
    "OutboxEntry",
    "OutboxTarget",
    "Requester",
    "WebhookTarget",
    "ZendeskTarget",
    "handoff_key",
    "render_note",
    "sign",
    "verify_signature",
]
