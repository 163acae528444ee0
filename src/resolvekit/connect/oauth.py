"""OAuth 2.0 client credentials (RFC 6749, section 4.4) as an :class:`OpenAPIToolset` ``auth=``.

::

    crm = OpenAPIToolset(
        "https://crm.internal/openapi.json",
        auth=ClientCredentials(
            "https://login.internal/oauth/token",
            client_id="support-bot",
            client_secret=lambda: secrets["crm"],  # from the app, read when a token is fetched
            scope="orders:read orders:write",
        ),
    )

The application's id and secret are sent to the token endpoint with HTTP Basic
(``client_secret_basic``); the access token is kept until ``margin`` seconds before it expires
and shared by every call and conversation, and concurrent calls wait for one fetch. A token
endpoint that cannot be reached or refuses makes the call fail as ``unavailable`` before any
request leaves, so even a write is safe to try again; the secret never appears in an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ._schema import Unreachable

if TYPE_CHECKING:
    import httpx2

__all__ = ["ClientCredentials"]


class ClientCredentials:
    """Headers ``Authorization: Bearer <token>`` with a token from the client-credentials grant.

    Args:
        token_url: the authorisation server's token endpoint.
        client_id: the application's client id.
        client_secret: its secret, or a function returning it (read at each fetch, so a rotated
            secret is picked up).
        scope: the scopes to ask for (space-separated), if the server wants them.
        margin: seconds before the token's ``expires_in`` at which a new one is fetched.
        timeout: seconds for the token request.
        client: an ``httpx2.AsyncClient`` to use (default: one made on first use).

    Raises:
        UserError: ``token_url`` is not an http(s) URL, or ``client_id`` is empty.
    """

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: str | Callable[[], str],
        scope: str | None = None,
        margin: float = 30.0,
        timeout: float = 10.0,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise UserError(f"token_url must be an http(s) URL, not {token_url!r}")
        if not client_id:
            raise UserError("client_id must not be empty")
        self.token_url, self.client_id, self.scope = token_url, client_id, scope
        self._secret = client_secret
        self.margin, self.timeout = margin, timeout
        self._client = client
        self._token: str | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None
        self.fetches = 0
        """How many tokens were fetched (for tests and metrics)."""

    async def __call__(self, ctx: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    def forget(self) -> None:
        """Drop the kept token (after the service said it was revoked, say): the next call
        fetches a new one."""
        self._token, self._expires = None, 0.0

    async def token(self) -> str:
        """A valid access token, fetched when there is none or it is about to expire.

        Raises:
            Unreachable: the token endpoint failed, refused or answered without a token.
        """
        if self._token is not None and time.monotonic() < self._expires:
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token  # fetched by the call we waited for
            token, lifetime = await self._fetch()
            self._token = token
            self._expires = time.monotonic() + max(0.0, lifetime - self.margin)
            return token

    async def _fetch(self) -> tuple[str, float]:
        import httpx2

        secret = self._secret() if callable(self._secret) else self._secret
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        client = self._client or httpx2.AsyncClient(timeout=self.timeout)
        try:
            response = await client.post(
                self.token_url,
                data=form,
                auth=(self.client_id, secret),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx2.HTTPError as exc:
            raise Unreachable(f"token endpoint {self.token_url}: {type(exc).__name__}") from None
        finally:
            if self._client is None:
                await client.aclose()
        self.fetches += 1
        if response.status_code != 200:
            raise Unreachable(
                f"token endpoint {self.token_url} answered {response.status_code}: "
                f"{_error_of(response)}"
            )
        try:
            data = response.json()
            token = data["access_token"]
            lifetime = float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise Unreachable(
                f"token endpoint {self.token_url} answered without an access_token"
            ) from None
        if not isinstance(token, str) or not token:
            raise Unreachable(f"token endpoint {self.token_url} answered an empty access_token")
        return token, lifetime


def _error_of(response: Any) -> str:
    """The OAuth ``error`` code of a refusal (never the body: it might echo credentials)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return "no error code"
    return str(error)[:100] if error else "no error code"
