"""How a helpdesk answer is read: delivered, worth another attempt, or refused for good."""

from __future__ import annotations

from typing import Any

from .._retry import parse_retry_after

__all__ = ["Permanent", "Transient", "check", "retry_after_seconds"]

_RETRYABLE = frozenset({408, 409, 425, 429})
"""4xx answers worth another attempt: timeout, a request with the same idempotency key still in
progress (Zendesk answers 409), too early, too many requests."""


class Transient(Exception):
    """The attempt failed but another may succeed (5xx, 429, a timeout, a refused connection)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """The receiver refused the packet for good (a 4xx other than the retryable ones)."""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (never negative); None if absent or unreadable."""
    seconds = parse_retry_after(value, now=now)
    return None if seconds is None else max(seconds, 0.0)


def check(status: int, headers: Any, text: str, what: str) -> None:
    """Raise :class:`Transient` or :class:`Permanent` for a non-2xx answer."""
    if 200 <= status < 300:
        return
    detail = f"{what}: HTTP {status}: {text[:300]}"
    if status >= 500 or status in _RETRYABLE:
        raise Transient(detail, retry_after=retry_after_seconds(headers.get("retry-after")))
    raise Permanent(detail)


async def send(client: Any, method: str, url: str, what: str, **kwargs: Any) -> Any:
    """One HTTP request; transport failures become :class:`Transient`, answers are checked.

    Returns:
        The response (2xx).
    """
    import httpx2

    try:
        response = await client.request(method, url, **kwargs)
    except httpx2.TransportError as exc:  # refused, reset, timed out: it may work later
        raise Transient(f"{what}: {type(exc).__name__}: {exc}") from exc
    check(response.status_code, response.headers, response.text, what)
    return response
