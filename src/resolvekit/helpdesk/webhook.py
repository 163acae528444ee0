"""A signed, retried, idempotent webhook: POST the redacted packet as JSON to your URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any, Unpack

from ..exceptions import UserError
from . import _http
from .base import OutboxTarget, TargetOptions
from .outbox import Outbox, OutboxEntry

__all__ = ["SIGNATURE_HEADER", "WebhookTarget", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Resolvekit-Signature"
"""``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body, keyed by the shared secret>``."""
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The :data:`SIGNATURE_HEADER` value for ``body`` sent at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """For receivers: true if ``header`` signs exactly ``body`` with ``secret`` and its
    timestamp is within ``tolerance`` seconds of ``now`` (replays of old requests fail).

    Compare in constant time; verify the raw body bytes, before parsing the JSON.
    """
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp)
    return hmac.compare_digest(
        expected.encode(), f"t={timestamp},v1={parts.get('v1', '')}".encode()
    )


class WebhookTarget(OutboxTarget):
    """POST each handoff packet (redacted, JSON) to ``url``, signed and idempotent.

    Headers: :data:`SIGNATURE_HEADER` (HMAC-SHA256 over ``"<timestamp>." + body``; check it with
    :func:`verify_signature`) and ``Idempotency-Key`` (the same on every attempt for one
    handoff: dedupe on it). Any 2xx is an acknowledgement; 408, 409, 425, 429 and 5xx are
    retried (``Retry-After`` honoured), then the packet waits in the outbox for a later sweep;
    other 4xx send it to the dead-letter file with the reason.

    Args:
        url: where to POST.
        secret: the shared signing secret (at least 16 characters).
        outbox: the directory of the outbox and the dead-letter file (or an :class:`Outbox`).
        headers: extra headers for every request (not signed).
        options: ``policy``, ``redactor``, ``clock``, ``sleep`` (:class:`TargetOptions`).
    """

    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        outbox: Path | str | Outbox,
        headers: dict[str, str] | None = None,
        **options: Unpack[TargetOptions],
    ) -> None:
        if len(secret) < 16:
            raise UserError("WebhookTarget: the signing secret must have at least 16 characters")
        super().__init__(endpoint=url, outbox=outbox, **options)
        self._secret = secret
        self._headers = dict(headers or {})

    def __repr__(self) -> str:  # never show the secret
        return f"WebhookTarget({self.endpoint!r})"

    async def _send(self, entry: OutboxEntry, client: Any) -> None:
        body = json.dumps(entry.packet, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: entry.key,
            SIGNATURE_HEADER: sign(self._secret, body, int(self.clock())),
        }
        await _http.send(client, "POST", self.endpoint, "webhook", content=body, headers=headers)
