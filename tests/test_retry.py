"""The one retry helper: attempts, what is retried, waits (backoff, jitter, Retry-After, cap).

About internals: these tests also check private helpers directly (``resolvekit._retry``).
"""

from __future__ import annotations

import pytest

from resolvekit._retry import backoff_delay, retry_async


class Transient(Exception):
    def __init__(self, hint: float | None = None) -> None:
        self.hint = hint


class Fatal(Exception):
    pass


def make_flaky(failures: list[BaseException], result: str = "ok"):
    calls = {"n": 0}

    async def fn() -> str:
        calls["n"] += 1
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


async def test_retries_transient_failures_then_returns() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fn, calls = make_flaky([Transient(), Transient()])
    result = await retry_async(
        fn,
        attempts=3,
        retry_on=lambda e: isinstance(e, Transient),
        initial=1.0,
        max_wait=100,
        jitter=0.0,
        sleep=sleep,
    )
    assert result == "ok"
    assert calls["n"] == 3
    assert waits == [1.0, 2.0]  # exponential: initial * 2**(n-1)


async def test_gives_up_after_attempts_and_reraises_last_error() -> None:
    async def sleep(seconds: float) -> None:
        return None

    last = Transient()
    fn, calls = make_flaky([Transient(), Transient(), last])
    with pytest.raises(Transient) as info:
        await retry_async(
            fn, attempts=3, retry_on=lambda e: isinstance(e, Transient), jitter=0, sleep=sleep
        )
    assert info.value is last
    assert calls["n"] == 3


async def test_non_retryable_error_propagates_immediately() -> None:
    fn, calls = make_flaky([Fatal()])
    with pytest.raises(Fatal):
        await retry_async(fn, attempts=5, retry_on=lambda e: isinstance(e, Transient))
    assert calls["n"] == 1


async def test_server_hint_wins_and_is_capped() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fn, _ = make_flaky([Transient(hint=0.25), Transient(hint=1000.0), Transient(hint=None)])
    await retry_async(
        fn,
        attempts=4,
        retry_on=lambda e: isinstance(e, Transient),
        initial=0.5,
        max_wait=3.0,
        jitter=0.0,
        retry_after=lambda e: e.hint if isinstance(e, Transient) else None,
        sleep=sleep,
    )
    assert waits == [0.25, 3.0, 2.0]


def test_backoff_jitter_and_cap() -> None:
    assert backoff_delay(1, initial=1, max_wait=60, jitter=0.5, rng=lambda: 0.0) == 1.0
    assert backoff_delay(1, initial=1, max_wait=60, jitter=0.5, rng=lambda: 1.0) == 1.5
    assert backoff_delay(4, initial=1, max_wait=60, jitter=0.0) == 8.0
    assert backoff_delay(10, initial=1, max_wait=5, jitter=0.5, rng=lambda: 0.9) == 5.0
    assert backoff_delay(2, initial=1, max_wait=5, jitter=0.5, server_hint=-3) == 0.0


async def test_attempts_must_be_positive() -> None:
    fn, _ = make_flaky([])
    with pytest.raises(ValueError, match="attempts"):
        await retry_async(fn, attempts=0, retry_on=lambda e: True)
