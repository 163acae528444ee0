"""Who may call: API keys, your own ``authorize`` callable, and rate limits (``limits``)."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import math
import time
from typing import TYPE_CHECKING, Any

from .body import customer_id_of
from .errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

    from .config import ServeConfig

__all__ = ["Gate"]


class Gate:
    """Checks a request's key, its right to a customer, and the rate limits."""

    def __init__(self, config: ServeConfig) -> None:
        from limits import parse_many
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.storage import storage_from_string

        self.config = config
        self._keys = [key.encode() for key in config.api_keys if key]
        url = config.rate_limit_storage
        storage: Any = storage_from_string(url if url.startswith("async+") else f"async+{url}")
        self._limiter = MovingWindowRateLimiter(storage)
        self._customer = parse_many(config.customer_rate) if config.customer_rate else []
        self._key = parse_many(config.key_rate) if config.key_rate else []

    async def caller(self, request: Request, customer_id: str | None) -> str:
        """Authenticate the request and check it may act for ``customer_id`` (None: an operator
        action) and is within its rate; returns the caller's rate-limit identity.

        A valid API key may act for any customer; a request without one is ``authorize``'s
        to decide; with neither configured the service is open (rate-limited per address).

        Raises:
            ApiError: 401 (no or wrong key, and no ``authorize``), 403 (``authorize`` said no),
                429 (over the rate).
        """
        identity = self._key_of(request)
        if identity is None:
            authorize = self.config.authorize
            if authorize is None:
                raise ApiError(401, "unauthorized", "a valid API key is required (Bearer)")
            allowed = authorize(request, customer_id)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if not allowed:
                who = f"customer {customer_id!r}" if customer_id else "this operation"
                raise ApiError(403, "forbidden", f"this caller may not act for {who}")
            identity = f"caller:{customer_id}"  # one budget per customer spoken for
        await self._hit(self._key, identity, "key_rate_limited")
        return identity

    async def customer(self, request: Request) -> str:
        """The ``{customer_id}`` of the request's path, once :meth:`caller` let the request act
        for them.

        Raises:
            ApiError: 422 (a bad id), and as :meth:`caller`.
        """
        customer_id = customer_id_of(request)
        await self.caller(request, customer_id)
        return customer_id

    def _key_of(self, request: Request) -> str | None:
        """The rate-limit identity of a valid API key in the request; None without one (and
        ``"open"`` when the service has neither keys nor ``authorize``)."""
        if not self._keys:
            if self.config.authorize is not None:
                return None
            return "ip:" + (request.client.host if request.client else "unknown")  # open
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        # compared with every key, so the time taken says nothing about which one matched
        matched = [hmac.compare_digest(given, key) for key in self._keys]
        if scheme.lower() != "bearer" or not any(matched):
            return None
        return "key:" + hashlib.sha256(given).hexdigest()[:16]

    async def message(self, customer_id: str) -> None:
        """Count one message of ``customer_id`` (429 over the customer's rate)."""
        await self._hit(self._customer, "customer:" + customer_id, "customer_rate_limited")

    async def _hit(self, items: list[Any], identity: str, code: str) -> None:
        for item in items:
            if not await self._limiter.hit(item, identity):
                stats = await self._limiter.get_window_stats(item, identity)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise ApiError(
                    429, code, f"rate limit {item} exceeded; retry in {wait}s", retry_after=wait
                )
