"""Customer tokens: how a browser (the web chat) speaks for one customer without an API key.

Your backend, which knows who is logged in, mints a short-lived token for that customer and
hands it to the page; the service checks it with :func:`token_authorize`::

    from resolvekit.serve.tokens import customer_token, token_authorize

    app = agent.to_asgi(api_keys=[SERVER_KEY], authorize=token_authorize(SECRET))
    token = customer_token(SECRET, "c-42", ttl=3600)      # in your login handler
    # the page sends: Authorization: Bearer <token>

A token is ``<customer id>.<expiry>.<signature>`` (HMAC-SHA256 of the first two with your
secret, base64url): it names one customer, cannot be changed without the secret, and expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from ..exceptions import UserError

if TYPE_CHECKING:
    from starlette.requests import Request

    from .config import Authorize

__all__ = ["customer_token", "token_authorize", "token_customer"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def customer_token(secret: str, customer_id: str, *, ttl: float = 3600) -> str:
    """A token letting its bearer speak as ``customer_id`` for ``ttl`` seconds.

    Raises:
        UserError: an empty secret or customer id.
    """
    if len(secret) < 16:
        raise UserError("the token secret must have at least 16 characters")
    if not customer_id:
        raise UserError("customer_id must be a non-empty string")
    payload = f"{_b64(customer_id.encode())}.{int(time.time() + ttl)}"
    return f"{payload}.{_sign(secret, payload)}"


def token_customer(secret: str, token: str) -> str | None:
    """The customer a valid, unexpired token names; None for any other token."""
    encoded, _, rest = token.partition(".")
    expiry, _, signature = rest.partition(".")
    if not (encoded and expiry.isdigit() and signature):
        return None
    if not hmac.compare_digest(signature, _sign(secret, f"{encoded}.{expiry}")):
        return None
    if int(expiry) < time.time():
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def token_authorize(secret: str) -> Authorize:
    """An ``authorize`` that lets a request speak as the customer its Bearer token names
    (:func:`customer_token`), and refuses operator actions."""
    if len(secret) < 16:
        raise UserError("the token secret must have at least 16 characters")

    def authorize(request: Request, customer_id: str | None) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or customer_id is None:
            return False
        return token_customer(secret, token.strip()) == customer_id

    return authorize
