"""What :func:`resolvekit.serve.create_app` is configured with, and what it needs of an agent."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..intents import Intent
    from ..redaction import Redactor
    from ..results import TurnResult
    from ..sessions import Conversation, Store
    from ..specs import IntentSpec

__all__ = ["Authorize", "Channel", "Channels", "CustomerResolver", "ServeConfig", "ServedAgent"]

Authorize = Callable[["Request", "str | None"], "bool | Awaitable[bool]"]
"""Your own auth: ``authorize(request, customer_id)`` returns True when the caller may speak as
(and read) ``customer_id``; False answers 403. ``customer_id`` is None for operator actions
(resuming a handoff). Read your session cookie or token from ``request``."""


Channel = Literal["email", "sms"]

CustomerResolver = Callable[[str, str], "str | Awaitable[str | None] | None"]
"""``resolve_customer(channel, address)``: the customer id behind an email address or a phone
number (normalised by :func:`resolvekit.serve.channels.normalize_address`), sync or async; None
when you do not know them (then ``"{channel}:{address}"``)."""


@dataclasses.dataclass(kw_only=True)
class Channels:
    """The email and SMS webhooks (``ServeConfig.channels``; :mod:`resolvekit.serve.channels`)."""

    secret: str | bytes
    """The shared HMAC secret the sender signs each request with."""
    resolve_customer: CustomerResolver | None = None
    """Who writes: maps ``(channel, address)`` to your customer id, so a customer who started in
    the web chat as ``c-42`` goes on in the same conversation from their email or phone. None,
    or a None answer: the sender is a customer of their own, ``"email:jane@example.com"``."""
    max_age: float = 300.0
    """Seconds a request's timestamp may be away from the server's clock (older: 401)."""
    enabled: tuple[Channel, ...] = ("email", "sms")
    """Which routes to add."""


@dataclasses.dataclass(kw_only=True)
class ServeConfig:
    """How the HTTP service runs. Every field is also a keyword of
    :func:`~resolvekit.serve.create_app` and :meth:`Agent.to_asgi`."""

    api_keys: Sequence[str] = ()
    """Keys accepted as ``Authorization: Bearer <key>`` on every ``/v1`` route (401 without
    one). Empty: no key is asked for (then use ``authorize``, or serve on a trusted network)."""
    authorize: Authorize | None = None
    """Which customer a caller may speak as (see :data:`Authorize`); checked after the key."""
    cors_origins: Sequence[str] = ()
    """Browser origins allowed to call the API (``["https://shop.example"]``; ``["*"]`` any)."""
    max_body_bytes: int = 64 * 1024
    """Larger request bodies are refused with 413 before they are read whole."""
    customer_rate: str | None = "60/minute"
    """Messages one customer may send (a ``limits`` string: ``"10/second;60/minute"``); None:
    unlimited. Over it: 429 with ``Retry-After``."""
    key_rate: str | None = "3000/minute"
    """Requests one caller may make: per API key; per customer for callers ``authorize`` let
    in; per client address when the service is open. None: unlimited."""
    rate_limit_storage: str = "memory://"
    """Where the counters live (a ``limits`` storage URL: ``memory://`` is per process;
    ``redis://host:6379`` shares them between workers)."""
    static: bool = True
    """Serve the web chat widget: ``/widget.js`` and the demo page ``/demo``."""
    drain_timeout: float = 60.0
    """On shutdown, seconds to wait for turns still running (also those whose client left)."""
    feed_interval: float = 1.0
    """Seconds between two reads of the store while a long poll of ``GET .../messages``
    waits for something new."""
    recent_traces: int = 1000
    """Customers whose recent turns' redacted traces this process keeps for ``GET .../trace``."""
    channels: Channels | None = None
    """The signed email and SMS webhooks (``/v1/channels/email``, ``/v1/channels/sms``);
    None: not served. See :class:`Channels`."""
    deps: Callable[[Request, str, dict[str, Any]], Any] | None = None
    """Builds a message's ``deps`` (``ctx.deps`` of its tools) from the request, the customer id
    and the body's ``metadata``; None: the agent's own ``deps``."""


class ServedAgent(Protocol):
    """What the service uses of an :class:`~resolvekit.Agent` (which satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def redaction(self) -> Redactor | None: ...

    @property
    def store(self) -> Store: ...

    @property
    def intents(self) -> Mapping[str, type[Intent]]: ...

    def intent_spec(self, name: str) -> IntentSpec: ...

    async def handle(
        self,
        customer_id: str,
        text: str,
        *,
        channel: str = "chat",
        deps: Any = None,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> TurnResult: ...

    async def conversation(self, customer_id: str) -> Conversation | None: ...

    async def resume(
        self, token: str, *, note: str | None = None, continue_request: bool = True
    ) -> Conversation: ...

    async def warm_up(self) -> None: ...

    async def close(self) -> None: ...
