"""Ticket targets: a handoff becomes a Zendesk or Freshdesk ticket whose internal note is the
packet, with the requester, priority and tags set."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack, cast

from ..exceptions import UserError
from ..handoffs import Handoff
from . import _http
from .base import OutboxTarget, TargetOptions
from .outbox import Outbox, OutboxEntry

__all__ = ["FreshdeskTarget", "Requester", "TicketOptions", "ZendeskTarget", "render_note"]


@dataclass(kw_only=True)
class Requester:
    """Who the ticket is for."""

    name: str
    email: str | None = None


def default_requester(handoff: Handoff) -> Requester:
    """The customer id as the name, and as the email when it is one."""
    customer = handoff.customer_id
    return Requester(name=customer, email=customer if "@" in customer else None)


def render_note(handoff: Handoff) -> str:
    """The packet as plain text for an agent: summary, next step, details, transcript."""
    lines = [
        handoff.summary,
        "",
        f"Reason: {handoff.reason}",
        f"Suggested next step: {handoff.suggested_next_step}",
    ]
    if handoff.pending_action:
        lines.append(f"Waiting on: {handoff.pending_action}")
    if handoff.error:
        lines.append(f"Error: {handoff.error}")
    if handoff.intent:
        lines.append(f"Intent: {handoff.intent} {json.dumps(handoff.slots, ensure_ascii=False)}")
    if handoff.actions:
        lines += ["", "Actions:"]
        lines += [
            f"- {a.tool}({json.dumps(a.args, ensure_ascii=False)}): {a.status}"
            for a in handoff.actions
        ]
    if handoff.transcript:
        lines += ["", "Transcript:"]
        lines += [f"{m.get('role')}: {m.get('text')}" for m in handoff.transcript]
    lines += [
        "",
        f"Conversation {handoff.conversation_id} on {handoff.channel}; "
        f"resume token: {handoff.resume_token}",
    ]
    return "\n".join(lines)


def _subject(handoff: Handoff) -> str:
    what = handoff.intent.replace("_", " ") if handoff.intent else "customer request"
    return f"[resolvekit] {what}: {handoff.reason}"[:250]


def _tag(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:32]


def _tags(handoff: Handoff, extra: list[str]) -> list[str]:
    tags = ["resolvekit", f"channel_{_tag(handoff.channel)}", *map(_tag, extra)]
    if handoff.intent:
        tags.append(_tag(f"intent_{handoff.intent}"))
    return list(dict.fromkeys(t for t in tags if t))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TicketOptions(TargetOptions, total=False):
    """Keyword options of the ticket targets."""

    requester: Callable[[Handoff], Requester]
    """Who the ticket is for (default: the customer id as name, and as email when it is one)."""
    tags: list[str]
    """Extra tags, besides ``resolvekit``, ``channel_<channel>`` and ``intent_<intent>``."""


class _TicketTarget(OutboxTarget):
    def __init__(
        self, endpoint: str, *, outbox: Path | str | Outbox, **options: Unpack[TicketOptions]
    ) -> None:
        self.requester = options.pop("requester", default_requester)
        self.tags = list(options.pop("tags", []))
        # What is left is a TargetOptions (mypy does not narrow a TypedDict on pop).
        super().__init__(endpoint=endpoint, outbox=outbox, **cast(TargetOptions, options))


def _base(kind: str, host: str | None, base_url: str | None, suffix: str) -> str:
    if (host is None) == (base_url is None):
        raise UserError(f"{kind}: pass exactly one of the account name and base_url")
    if base_url is not None:
        return base_url
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", host or ""):
        raise UserError(f"{kind}: not an account name: {host!r}")
    return f"https://{host}.{suffix}"


class ZendeskTarget(_TicketTarget):
    """Create a Zendesk ticket per handoff: ``POST /api/v2/tickets.json`` with the packet as
    the first comment, private (``public: false``, an internal note), the requester, priority,
    tags and ``external_id`` (the conversation id). Zendesk dedupes on the ``Idempotency-Key``
    header, which is the same on every attempt, so a retry never opens a second ticket.

    Args:
        subdomain: ``acme`` for ``https://acme.zendesk.com`` (or pass ``base_url``).
        email: the agent the API token belongs to.
        api_token: a Zendesk API token (sent as ``{email}/token:{api_token}``, basic auth).
        outbox: the outbox directory (see :class:`WebhookTarget`).
        options: ``requester``, ``tags`` (:class:`TicketOptions`), ``policy``, ``redactor``,
            ``clock``, ``sleep`` (:class:`~resolvekit.helpdesk.TargetOptions`).
    """

    kind = "zendesk"

    def __init__(
        self,
        subdomain: str | None = None,
        *,
        email: str,
        api_token: str,
        outbox: Path | str | Outbox,
        base_url: str | None = None,
        **options: Unpack[TicketOptions],
    ) -> None:
        if not email or not api_token:
            raise UserError("ZendeskTarget: email and api_token are required")
        super().__init__(
            _base("ZendeskTarget", subdomain, base_url, "zendesk.com"),
            outbox=outbox,
            **options,
        )
        self._auth = _basic(f"{email}/token", api_token)

    def ticket(self, handoff: Handoff) -> dict[str, Any]:
        """The request body for one handoff."""
        who = self.requester(handoff)
        requester: dict[str, Any] = {"name": who.name}
        if who.email:
            requester["email"] = who.email
        return {
            "ticket": {
                "subject": _subject(handoff),
                "comment": {"body": render_note(handoff), "public": False},
                "requester": requester,
                "priority": handoff.priority,
                "tags": _tags(handoff, self.tags),
                "external_id": handoff.conversation_id,
            }
        }

    async def _send(self, entry: OutboxEntry, client: Any) -> None:
        body = self.ticket(Handoff.model_validate(entry.packet))
        headers = {"Authorization": self._auth, "Idempotency-Key": entry.key}
        url = f"{self.endpoint}/api/v2/tickets.json"
        await _http.send(client, "POST", url, "zendesk ticket", json=body, headers=headers)


_FRESHDESK_PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
_FRESHDESK_SOURCE = {"email": 1, "portal": 2, "phone": 3, "voice": 3, "chat": 7}
_FRESHDESK_OPEN = 2


class FreshdeskTarget(_TicketTarget):
    """Create a Freshdesk ticket per handoff (``POST /api/v2/tickets``), then add the packet as
    a private note (``POST /api/v2/tickets/{id}/notes``, ``private: true``).

    Freshdesk has no idempotency header, so the delivery is made idempotent here: the ticket
    carries a tag equal to the idempotency key, the ticket id is saved in the outbox as soon as
    it is known, and a retry looks the ticket up by that tag (and the note among the ticket's
    conversations by the key it ends with) before creating either again. Freshdesk's search
    index can lag a few seconds behind, so a crash in exactly that window may still open a
    second ticket; the note says which handoff it carries.

    Args:
        domain: ``acme`` for ``https://acme.freshdesk.com`` (or pass ``base_url``).
        api_key: a Freshdesk API key (sent as basic auth ``{api_key}:X``).
        outbox: the outbox directory (see :class:`WebhookTarget`).
        options: as for :class:`ZendeskTarget`; a requester without an email is sent as
            ``unique_external_id`` (the customer id).
    """

    kind = "freshdesk"

    def __init__(
        self,
        domain: str | None = None,
        *,
        api_key: str,
        outbox: Path | str | Outbox,
        base_url: str | None = None,
        **options: Unpack[TicketOptions],
    ) -> None:
        if not api_key:
            raise UserError("FreshdeskTarget: api_key is required")
        super().__init__(
            _base("FreshdeskTarget", domain, base_url, "freshdesk.com"),
            outbox=outbox,
            **options,
        )
        self._auth = _basic(api_key, "X")

    def ticket(self, handoff: Handoff, key: str) -> dict[str, Any]:
        """The ticket request body (the public description stays neutral: the packet goes in
        the private note)."""
        who = self.requester(handoff)
        body: dict[str, Any] = {
            "subject": _subject(handoff),
            "description": html.escape(
                f"Conversation handed over by the {handoff.channel} assistant; "
                "see the private note for the details."
            ),
            "name": who.name,
            "priority": _FRESHDESK_PRIORITY[handoff.priority],
            "status": _FRESHDESK_OPEN,
            "source": _FRESHDESK_SOURCE.get(handoff.channel, 2),
            "tags": [*_tags(handoff, self.tags), key],
        }
        if who.email:
            body["email"] = who.email
        else:
            body["unique_external_id"] = handoff.customer_id
        return body

    @staticmethod
    def note(handoff: Handoff, key: str) -> dict[str, Any]:
        """The private note request body: the packet, ending with the idempotency key."""
        text = render_note(handoff) + f"\nresolvekit delivery: {key}"
        return {"body": "<pre>" + html.escape(text) + "</pre>", "private": True}

    async def _send(self, entry: OutboxEntry, client: Any) -> None:
        handoff = Handoff.model_validate(entry.packet)
        # Marked (and saved) before the first request: after a crash the retry knows a ticket
        # may exist although no answer was seen.
        retried = bool(entry.progress)
        if not retried:
            entry.progress["started"] = True
            await self._save_progress(entry)
        ticket_id = entry.progress.get("ticket_id")
        if ticket_id is None and retried:
            ticket_id = await self._find_ticket(client, entry.key)
        if ticket_id is None:
            body = self.ticket(handoff, entry.key)
            response = await self._call(client, "POST", "/tickets", "ticket", json=body)
            ticket_id = response.json()["id"]
        if entry.progress.get("ticket_id") != ticket_id:
            entry.progress["ticket_id"] = ticket_id
            await self._save_progress(entry)
        if retried and await self._has_note(client, ticket_id, entry.key):
            return
        note = self.note(handoff, entry.key)
        await self._call(client, "POST", f"/tickets/{ticket_id}/notes", "note", json=note)

    async def _call(self, client: Any, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """One request to ``/api/v2{path}`` with the API key."""
        headers = {"Authorization": self._auth}
        url = f"{self.endpoint}/api/v2{path}"
        return await _http.send(client, method, url, f"freshdesk {what}", headers=headers, **kwargs)

    async def _find_ticket(self, client: Any, key: str) -> Any:
        query = {"query": f"\"tag:'{key}'\""}
        response = await self._call(client, "GET", "/search/tickets", "search", params=query)
        results = response.json().get("results") or []
        return results[0]["id"] if results else None

    async def _has_note(self, client: Any, ticket_id: Any, key: str) -> bool:
        response = await self._call(
            client, "GET", f"/tickets/{ticket_id}/conversations", "conversations"
        )
        marker = f"resolvekit delivery: {key}"
        return any(marker in str(c.get("body", "")) for c in response.json())
