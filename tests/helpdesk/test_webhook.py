"""WebhookTarget against a real local receiver: signed, idempotent, retried, kept in a durable
outbox while the receiver is down, dead-lettered when refused for good, never lost and never
delivered twice to a receiver that dedupes on the idempotency key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resolvekit import UserError
from resolvekit.handoffs import Handoff
from resolvekit.helpdesk import (
    SIGNATURE_HEADER,
    DeliveryPolicy,
    Outbox,
    WebhookTarget,
    handoff_key,
    sign,
    verify_signature,
)

from .conftest import Clock, make_handoff
from .servers import SECRET, Helpdesk, Served

FAST = DeliveryPolicy(attempts=3, timeout=5.0)


def target(served: Served, tmp_path: Path, clock: Clock, sleep, **kw) -> WebhookTarget:  # type: ignore[no-untyped-def]
    return WebhookTarget(
        served.url + "/hook",
        SECRET,
        outbox=tmp_path / "outbox",
        clock=clock,
        sleep=sleep,
        policy=kw.pop("policy", FAST),
        **kw,
    )


async def test_delivers_the_redacted_packet_signed_with_a_stable_key(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, handoff: Handoff
) -> None:
    hook = target(served, tmp_path, clock, sleep)
    await hook.deliver(handoff)
    assert helpdesk.rejected == []
    [packet] = helpdesk.webhooks
    assert packet["conversation_id"] == "conv-1" and packet["resume_token"] == "token-1"
    text = json.dumps(packet)
    assert (
        "4111 1111 1111 1111" not in text
        and "jane@example.com" not in packet["transcript"][0]["text"]
    )
    assert [*helpdesk.keys] == [handoff_key(handoff, hook.name)]
    assert hook.outbox.pending() == [] and hook.outbox.dead_letters() == []


def test_signature_checks() -> None:
    body = b'{"a":1}'
    header = sign(SECRET, body, 1000)
    assert verify_signature(SECRET, body, header, now=1000)
    assert not verify_signature(SECRET, body + b" ", header, now=1000)  # tampered body
    assert not verify_signature("another-secret-0123456", body, header, now=1000)
    assert not verify_signature(SECRET, body, header, now=1000 + 301)  # a replay, too old
    assert not verify_signature(SECRET, body, None) and not verify_signature(SECRET, body, "v1=x")
    assert SIGNATURE_HEADER == "X-Resolvekit-Signature"


async def test_server_errors_are_retried_and_retry_after_is_honoured(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, waits, handoff
) -> None:
    helpdesk.faults = [500, (429, 7)]
    await target(served, tmp_path, clock, sleep).deliver(handoff)
    assert len(helpdesk.webhooks) == 1 and helpdesk.posts == 3
    assert waits[1] == 7.0  # the server's Retry-After, not the backoff
    assert 0.5 <= waits[0] <= 0.75  # the first backoff, with jitter


async def test_a_long_retry_after_defers_to_a_later_sweep(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, waits, handoff
) -> None:
    helpdesk.faults = [(429, 3600)]
    hook = target(served, tmp_path, clock, sleep)
    await hook.deliver(handoff)
    assert helpdesk.webhooks == [] and waits == []  # the caller was not held for an hour
    [entry] = hook.outbox.pending()
    assert entry.next_at >= clock.now + 3600
    clock.advance(1800)
    assert (await hook.flush()).delivered == [] and helpdesk.posts == 1  # not due yet
    clock.advance(1801)
    assert (await hook.flush()).delivered == [entry.key]
    assert len(helpdesk.webhooks) == 1


async def test_a_receiver_down_for_an_hour_gets_the_packet_once_when_back(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, handoff
) -> None:
    hook = target(served, tmp_path, clock, sleep)
    served.stop()
    await hook.deliver(handoff)  # never raises: the packet waits
    assert len(hook.outbox.pending()) == 1
    for _ in range(12):  # the sweep runs every 5 minutes for an hour
        clock.advance(300)
        report = await hook.flush()
        assert report.delivered == [] and report.dead == []
    # A fresh process (new target object, same outbox directory) finishes the job.
    served.start()
    clock.advance(600)
    again = target(served, tmp_path, clock, sleep)
    assert (await again.flush()).delivered == [handoff_key(handoff, again.name)]
    assert len(helpdesk.webhooks) == 1 and helpdesk.posts == 1
    assert again.outbox.pending() == [] and again.outbox.dead_letters() == []
    assert (await again.flush()).delivered == []  # nothing left to send twice


async def test_a_permanent_refusal_goes_to_the_dead_letter_file_with_the_reason(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, handoff
) -> None:
    helpdesk.faults = [422]
    hook = target(served, tmp_path, clock, sleep)
    await hook.deliver(handoff)
    assert helpdesk.posts == 1  # a 422 is not retried
    [letter] = hook.outbox.dead_letters()
    assert "HTTP 422" in letter.reason and letter.entry.packet["conversation_id"] == "conv-1"
    assert hook.outbox.pending() == []
    # After the cause is fixed, the dead letters go back in and are delivered.
    assert hook.outbox.requeue() == 1
    assert len((await hook.flush()).delivered) == 1 and len(helpdesk.webhooks) == 1
    assert hook.outbox.dead_letters() == []


async def test_after_max_attempts_the_packet_is_dead_lettered(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, handoff
) -> None:
    helpdesk.faults = [500] * 10
    hook = target(served, tmp_path, clock, sleep, policy=DeliveryPolicy(attempts=2, max_attempts=4))
    await hook.deliver(handoff)
    assert hook.outbox.dead_letters() == []
    clock.advance(3600)
    assert len((await hook.flush()).dead) == 1
    [letter] = hook.outbox.dead_letters()
    assert letter.reason.startswith("gave up after 4 attempts") and helpdesk.posts == 4


async def test_a_lost_acknowledgement_is_not_a_second_delivery(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep, handoff
) -> None:
    helpdesk.faults = ["slow"]  # processed, but the answer comes after the client's timeout
    helpdesk.slow_seconds = 3.0
    hook = target(served, tmp_path, clock, sleep, policy=DeliveryPolicy(attempts=3, timeout=1.0))
    await hook.deliver(handoff)
    assert helpdesk.posts == 2 and len(helpdesk.webhooks) == 1
    assert hook.outbox.pending() == []


async def test_a_crash_between_send_and_ack_resends_once_with_the_same_key(
    served: Served,
    helpdesk: Helpdesk,
    tmp_path: Path,
    clock: Clock,
    sleep,
    handoff,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(self: Outbox, key: str) -> None:
        raise SystemExit("killed after the receiver answered, before the outbox was updated")

    monkeypatch.setattr(Outbox, "remove", crash)
    with pytest.raises(SystemExit):
        await target(served, tmp_path, clock, sleep).deliver(handoff)
    assert len(helpdesk.webhooks) == 1
    monkeypatch.undo()
    restarted = target(served, tmp_path, clock, sleep)
    assert len((await restarted.flush()).delivered) == 1
    assert helpdesk.posts == 2 and len(helpdesk.webhooks) == 1  # deduped by the receiver
    assert restarted.outbox.pending() == []


async def test_many_handoffs_each_delivered_once(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    hook = target(served, tmp_path, clock, sleep)
    helpdesk.faults = [500, 500, 500]  # the first delivery fails its 3 attempts and waits
    await hook.deliver(make_handoff(1))
    clock.advance(3600)
    await hook.deliver(make_handoff(2))  # the next delivery sweeps the first one too
    await hook.deliver(make_handoff(2))  # the same handoff again: one key, one delivery
    ids = sorted(p["conversation_id"] for p in helpdesk.webhooks)
    assert ids == ["conv-1", "conv-2"] and hook.outbox.pending() == []


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="at least 16"):
        WebhookTarget("https://x.test/hook", "short", outbox=tmp_path)
    with pytest.raises(UserError, match="not an http"):
        WebhookTarget("ftp://x.test", SECRET, outbox=tmp_path)
    with pytest.raises(UserError):
        DeliveryPolicy(attempts=0)
    assert SECRET not in repr(WebhookTarget("https://x.test/hook", SECRET, outbox=tmp_path))


def test_a_damaged_outbox_file_is_left_in_place(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    (tmp_path / "pending").mkdir()
    bad = tmp_path / "pending" / "rkdamaged.json"
    bad.write_text("{not json")
    assert outbox.pending() == []
    assert bad.exists()


async def test_a_turn_does_not_carry_the_backlog(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    """While the helpdesk is down, a delivery tries only its own packet; once it is back, a
    delivery re-sends at most ``inline_sweep`` waiting packets (the sweep does the rest)."""
    hook = target(served, tmp_path, clock, sleep, policy=DeliveryPolicy(inline_sweep=1))
    served.stop()
    await hook.deliver(make_handoff(1))
    clock.advance(3600)
    await hook.deliver(make_handoff(2))
    [first, _second] = hook.outbox.pending()
    assert (first.packet["conversation_id"], first.attempts) == ("conv-1", 3)  # not retried
    served.start()
    clock.advance(3600)
    await hook.deliver(make_handoff(3))
    assert [p["conversation_id"] for p in helpdesk.webhooks] == ["conv-3", "conv-1"]
    assert [e.packet["conversation_id"] for e in hook.outbox.pending()] == ["conv-2"]
    assert len((await hook.flush()).delivered) == 1 and hook.outbox.pending() == []
