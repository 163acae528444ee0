"""Fixtures of the helpdesk delivery tests: the vendor-shaped servers, a simulated clock, a
recorded sleep and a handoff packet carrying personal data (to see it redacted)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resolvekit.handoffs import ActionRecord, Handoff

from .servers import Helpdesk, Served


class Clock:
    """Simulated wall time: ``advance()`` moves it; the sender and the receiver both read it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def sleep(waits: list[float]):  # type: ignore[no-untyped-def]
    async def record(seconds: float) -> None:
        waits.append(seconds)

    return record


@pytest.fixture
def helpdesk(clock: Clock) -> Helpdesk:
    return Helpdesk(clock=clock)


@pytest.fixture
def served(helpdesk: Helpdesk) -> Iterator[Served]:
    server = Served(helpdesk)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_handoff(n: int = 1, *, priority: str = "high", channel: str = "chat") -> Handoff:
    return Handoff(
        conversation_id=f"conv-{n}",
        customer_id="jane@example.com",
        channel=channel,
        reason="order already shipped",
        priority=priority,  # type: ignore[arg-type]
        intent="cancel_order",
        slots={"order_id": "W1234567"},
        actions=[
            ActionRecord(
                tool="get_order", args={"order_id": "W1234567"}, status="done", effect="read"
            )
        ],
        transcript=[
            {"role": "customer", "text": "cancel W1234567, card 4111 1111 1111 1111", "at": 1.0}
        ],
        summary="Customer wants to cancel order W1234567.",
        suggested_next_step="Offer a return instead.",
        resume_token=f"token-{n}",
    )


@pytest.fixture
def handoff() -> Handoff:
    return make_handoff()
