"""Signed webhook requests: HMAC-SHA256 over the timestamp and the body, checked in constant
time, stale timestamps refused so a captured request cannot be replayed later.

The sender computes::

    signature = "sha256=" + hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body))

and sends ``X-Resolvekit-Timestamp: <unix seconds>`` and ``X-Resolvekit-Signature: <signature>``
with the body exactly as signed (:func:`signed_headers` does it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Literal

from .errors import ApiError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureError",
    "sign",
    "signed_headers",
    "verify",
]

TIMESTAMP_HEADER = "X-Resolvekit-Timestamp"
SIGNATURE_HEADER = "X-Resolvekit-Signature"

SignatureProblem = Literal["missing", "bad", "stale"]


class SignatureError(ApiError):
    """A webhook request whose signature is missing, wrong, or too old (401).

    Attributes:
        problem: ``missing`` (no headers, or a timestamp that is not a number), ``bad`` (the
            signature does not match the body) or ``stale`` (the timestamp is further than
            the allowed age from now: a replay, or a badly wrong clock).
    """

    def __init__(self, problem: SignatureProblem, message: str) -> None:
        self.problem: SignatureProblem = problem
        codes = {"missing": "missing_signature", "bad": "bad_signature", "stale": "stale_timestamp"}
        super().__init__(401, codes[problem], message)


def _secret(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Resolvekit-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(_secret(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str | bytes, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers a sender adds to ``body`` (signed at ``now``, default the clock)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | bytes,
    *,
    max_age: float = 300.0,
    now: float | None = None,
) -> None:
    """Check a request's signature; return quietly when it is good.

    Args:
        headers: the request's headers (looked up case-insensitively when they are Starlette's).
        body: the raw body, byte for byte as received.
        secret: the shared secret.
        max_age: seconds a timestamp may be away from ``now``, either way.
        now: the time to check against (default the clock).

    Raises:
        SignatureError: the signature is missing, does not match, or is stale.
    """
    stamp = headers.get(TIMESTAMP_HEADER) or headers.get(TIMESTAMP_HEADER.lower())
    given = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    if not stamp or not given:
        raise SignatureError(
            "missing", f"the request needs {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers"
        )
    if not (stamp.isascii() and stamp.isdigit()):
        raise SignatureError("missing", f"{TIMESTAMP_HEADER} must be unix seconds")
    # The match is checked before the age, and in constant time, so neither the answer nor
    # its timing tells a forger how close a guess came.
    if not hmac.compare_digest(sign(secret, stamp, body).encode(), given.strip().encode()):
        raise SignatureError("bad", "the signature does not match the body")
    age = (time.time() if now is None else now) - int(stamp)
    if abs(age) > max_age:
        raise SignatureError(
            "stale", f"the timestamp is {abs(age):.0f}s away from now (at most {max_age:.0f}s)"
        )
