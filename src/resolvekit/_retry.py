"""Transport retries, in one place (tenacity).

Every retry resolvekit does on a transport failure -- a model request, a retryable tool -- goes
through :func:`retry_async`, so the policy is readable in one screen:

- at most ``attempts`` calls in total (``attempts=1`` means no retry);
- only exceptions for which ``retry_on(exc)`` is true are retried; anything else propagates at once;
- between attempts, wait what the server asked for (``retry_after(exc)``, e.g. an HTTP
  ``Retry-After`` header) when it said so, otherwise ``initial * 2**(n-1)`` seconds plus up to
  ``jitter`` times that again at random (so that many clients do not retry in lock step);
- every wait is capped at ``max_wait`` seconds;
- when the attempts are used up, the last exception is re-raised unchanged, so callers translate
  it into their own typed error.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["backoff_delay", "parse_retry_after", "retry_async"]

T = TypeVar("T")

logger = logging.getLogger("resolvekit.retry")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """An HTTP ``Retry-After`` header in seconds: delta-seconds or an HTTP date (relative to
    ``now``, default the current time); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    max_wait: float,
    jitter: float,
    server_hint: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Args:
        attempt: how many attempts have failed so far.
        initial: the wait after the first failure, before jitter.
        max_wait: upper bound of any wait.
        jitter: random extra wait as a fraction of the exponential wait (0 = none).
        server_hint: what the server asked for (``Retry-After``); wins over the backoff.
        rng: a source of uniform numbers in [0, 1) (tests pass a fixed one).
    """
    if server_hint is not None:
        return min(max(server_hint, 0.0), max_wait)
    base = initial * 2.0 ** (attempt - 1)
    return min(base + base * jitter * rng(), max_wait)


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    retry_on: Callable[[BaseException], bool],
    initial: float = 0.5,
    max_wait: float = 20.0,
    jitter: float = 0.5,
    retry_after: Callable[[BaseException], float | None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    what: str = "request",
) -> T:
    """Call ``fn()`` until it succeeds, retrying transient failures with jittered backoff.

    Args:
        fn: a zero-argument async callable; called once per attempt.
        attempts: total number of calls allowed (>= 1).
        retry_on: true for exceptions worth another attempt (429, 5xx, timeouts...).
        initial: first backoff wait in seconds.
        max_wait: cap of every wait, including server-requested ones.
        jitter: random extra wait as a fraction of the backoff.
        retry_after: extracts a server-requested wait from an exception (None if absent).
        sleep: the async sleep to use (tests may record waits instead of sleeping).
        what: a label for log messages.

    Returns:
        What ``fn()`` returned on the first successful attempt.

    Raises:
        ValueError: ``attempts`` is smaller than 1.
        BaseException: the last exception, unchanged, once attempts run out or if it is not
            retryable.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    # Fast path: the first attempt runs without building a retrier (most calls succeed).
    try:
        return await fn()
    except Exception as exc:
        if attempts == 1 or not retry_on(exc):
            raise
        first_failure = exc

    import asyncio

    import tenacity

    def delay_after(attempt: int, exc: BaseException | None) -> float:
        hint = retry_after(exc) if (retry_after is not None and exc is not None) else None
        return backoff_delay(
            attempt, initial=initial, max_wait=max_wait, jitter=jitter, server_hint=hint
        )

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return delay_after(state.attempt_number + 1, exc)

    def log_retry(attempt: int, exc: BaseException | None, delay: float) -> None:
        logger.warning(
            "%s failed (attempt %d/%d): %r; retrying in %.2fs", what, attempt, attempts, exc, delay
        )

    def log_state(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log_retry(state.attempt_number + 1, exc, delay)

    sleeper = sleep or asyncio.sleep
    first_delay = delay_after(1, first_failure)
    log_retry(1, first_failure, first_delay)
    await sleeper(first_delay)
    options: dict[str, Any] = {}
    if sleep is not None:
        options["sleep"] = sleep
    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(attempts - 1),
        retry=tenacity.retry_if_exception(retry_on),
        wait=wait,
        before_sleep=log_state,
        reraise=True,
        **options,
    )
    result: T = await retrying(fn)
    return result
