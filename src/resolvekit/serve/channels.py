"""Email and SMS webhooks: a conversation started in the web chat goes on by email or text.

``create_app(agent, channels=Channels(secret=..., resolve_customer=...))`` adds
``POST /v1/channels/email`` and ``POST /v1/channels/sms``. Each takes generic JSON (map your
provider's webhook to it), signed with HMAC-SHA256 (:mod:`resolvekit.serve.signing`), and
answers the turn's result with what to send back in ``send``. See ``docs/serving.md``,
"Channels".
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pydantic

from .body import parse_body, read_raw
from .config import Channel, Channels, CustomerResolver
from .signing import verify
from .turns import result_json

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .auth import Gate
    from .config import ServeConfig, ServedAgent
    from .turns import Turns

__all__ = [
    "Channel",
    "Channels",
    "CustomerResolver",
    "EmailIn",
    "SmsIn",
    "channel_routes",
    "clean_email",
    "default_customer",
    "normalize_address",
]


class _Inbound(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    sender: str = pydantic.Field(alias="from", min_length=1)
    """The customer's address or phone number."""
    to: str = ""
    """Your address or number it was sent to (the reply comes from it)."""
    message_id: str = pydantic.Field(min_length=1)
    """The provider's id of this message: a redelivery with the same id gets the stored reply
    and nothing runs again."""


class EmailIn(_Inbound):
    """``POST /v1/channels/email``: ``{"from", "to", "subject", "text", "message_id"}``."""

    subject: str = ""
    text: str = ""
    """The plain-text body, quoted reply and signature included (they are stripped)."""


class SmsIn(_Inbound):
    """``POST /v1/channels/sms``: ``{"from", "to", "body", "message_id"}``."""

    body: str


def channel_routes(
    agent: ServedAgent, turns: Turns, gate: Gate, config: ServeConfig, channels: Channels
) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
    """``(path, handler)`` of each enabled webhook; ``create_app`` mounts them. Signed
    requests need no API key; the customer's rate limit applies."""

    async def receive(request: Request, channel: Channel) -> Response:
        from starlette.responses import JSONResponse

        raw = await read_raw(request, config.max_body_bytes)
        verify(request.headers, raw, channels.secret, max_age=channels.max_age)
        inbound: EmailIn | SmsIn = (
            parse_body(raw, EmailIn) if channel == "email" else parse_body(raw, SmsIn)
        )
        address = normalize_address(channel, inbound.sender)
        customer_id = await _customer(channels.resolve_customer, channel, address)
        await gate.message(customer_id)
        text = (
            clean_email(inbound.text, inbound.subject)
            if isinstance(inbound, EmailIn)
            else inbound.body.strip()
        )
        task = turns.start(
            customer_id,
            text,
            channel=channel,
            message_id=f"{channel}:{inbound.message_id}",
            reply_to=None,
        )
        result = await asyncio.shield(task)  # a sender that hangs up does not stop the turn
        answer = result_json(agent, result)
        answer["send"] = _reply(inbound, answer["reply"])
        return JSONResponse(answer)

    def route(channel: Channel) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            return await receive(request, channel)

        return handler

    return [(f"/v1/channels/{c}", route(c)) for c in channels.enabled]


def _reply(inbound: EmailIn | SmsIn, reply: str | None) -> dict[str, Any] | None:
    """What to send back: to the sender, from the address they wrote to."""
    if not reply:
        return None
    if isinstance(inbound, SmsIn):
        return {"to": inbound.sender, "from": inbound.to, "body": reply}
    subject = inbound.subject.strip()
    return {
        "to": inbound.sender,
        "from": inbound.to,
        "subject": subject if _REPLY_SUBJECT.match(subject) else f"Re: {subject}".strip(),
        "text": reply,
        "in_reply_to": inbound.message_id,
    }


async def _customer(resolve: CustomerResolver | None, channel: str, address: str) -> str:
    found = resolve(channel, address) if resolve is not None else None
    if inspect.isawaitable(found):
        found = await found
    return found or default_customer(channel, address)


def default_customer(channel: str, address: str) -> str:
    """The customer id of a sender your resolver does not know: ``"{channel}:{address}"``."""
    return f"{channel}:{address}"


def normalize_address(channel: str, address: str) -> str:
    """An email address lower-cased without its display name (``"Jane <Jane@X.com>"`` is
    ``jane@x.com``); a phone number without spaces, dots, dashes or brackets
    (``"+44 (20) 7946-0958"`` is ``+442079460958``)."""
    if channel == "email":
        return email.utils.parseaddr(address)[1].strip().lower() or address.strip().lower()
    return re.sub(r"[\s().\-]", "", address)


# -- email bodies -----------------------------------------------------------------------------

_REPLY_SUBJECT = re.compile(r"^\s*(re|fw|fwd|aw|sv|wg|tr)\s*(\[\d+\])?\s*:", re.IGNORECASE)
_CUT = re.compile(
    r"""^\s*(
        -{2,}\s*(original\s+message|forwarded\s+message)\s*-{2,}.*  # Outlook, Gmail forwards
        | _{10,}                                                   # Outlook's rule
        | from:\s.*                                                # a quoted header block
        | sent\s+from\s+my\s.*                                     # mobile footers
        | get\s+outlook\s+for\s.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_WROTE = re.compile(r"^\s*(on\s.*|.*<[^>]+@[^>]+>)\s*wrote:\s*$", re.IGNORECASE)
_ON = re.compile(r"^\s*on\s.*\d", re.IGNORECASE)


def clean_email(text: str, subject: str = "") -> str:
    """What the customer wrote in an email: the body without the quoted earlier messages
    (``> ...`` lines, the "On ... wrote:" block and everything after it, Outlook's "Original
    Message" and ``From:`` blocks) and without the signature (after a ``-- `` line, "Sent from
    my ..."); the subject first when it is not a reply's ("Re: ...") and the body does not
    already say it.

    Example:
        >>> clean_email("no longer needed\\n\\nOn Mon, Dec 7 Acme wrote:\\n> Why?", "Re: order")
        'no longer needed'
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ") or _CUT.match(line) or _WROTE.match(line):
            break
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _ON.match(line) and following.strip().lower().endswith("wrote:"):
            break  # "On Mon, 7 Dec 2026 at 10:02, Acme Support <help@acme.example>" / "wrote:"
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    body = "\n".join(kept).strip()
    topic = subject.strip()
    if topic and not _REPLY_SUBJECT.match(topic) and topic.lower() not in body.lower():
        return f"{topic}\n{body}".strip()
    return body
