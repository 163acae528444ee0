"""ZendeskTarget and FreshdeskTarget against local servers shaped like the vendors' APIs, which
validate every request body against a JSON Schema written from the vendor's published docs and
check the auth header; faults injected: 500s, a lost acknowledgement, a refusal."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from resolvekit import UserError
from resolvekit.helpdesk import DeliveryPolicy, FreshdeskTarget, Requester, ZendeskTarget

from .conftest import Clock, make_handoff
from .servers import FRESHDESK_KEY, Helpdesk, Served, schema


def zendesk(served: Served, tmp_path: Path, clock: Clock, sleep, **kw) -> ZendeskTarget:  # type: ignore[no-untyped-def]
    return ZendeskTarget(
        base_url=served.url,
        email="agent@acme.test",
        api_token=kw.pop("api_token", "zd-token"),
        outbox=tmp_path / "outbox",
        clock=clock,
        sleep=sleep,
        policy=kw.pop("policy", DeliveryPolicy(timeout=5.0)),
        **kw,
    )


def freshdesk(served: Served, tmp_path: Path, clock: Clock, sleep, **kw) -> FreshdeskTarget:  # type: ignore[no-untyped-def]
    return FreshdeskTarget(
        base_url=served.url,
        api_key=FRESHDESK_KEY,
        outbox=tmp_path / "outbox",
        clock=clock,
        sleep=sleep,
        policy=kw.pop("policy", DeliveryPolicy(timeout=5.0)),
        **kw,
    )


async def test_zendesk_ticket_with_the_packet_as_an_internal_note(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    await zendesk(served, tmp_path, clock, sleep, tags=["Tier 2"]).deliver(make_handoff())
    assert helpdesk.rejected == []
    [ticket] = helpdesk.tickets.values()
    assert ticket["comment"]["public"] is False
    note = ticket["comment"]["body"]
    assert "Customer wants to cancel order W1234567." in note and "resume token: token-1" in note
    assert "4111 1111 1111 1111" not in note  # redacted before it left
    assert ticket["priority"] == "high" and ticket["external_id"] == "conv-1"
    assert ticket["requester"] == {"name": "jane@example.com", "email": "jane@example.com"}
    assert set(ticket["tags"]) == {"resolvekit", "channel_chat", "tier_2", "intent_cancel_order"}


async def test_zendesk_retries_and_dedupes_on_the_idempotency_key(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    helpdesk.faults = [500, "slow"]
    helpdesk.slow_seconds = 3.0
    target = zendesk(served, tmp_path, clock, sleep, policy=DeliveryPolicy(timeout=1.0))
    await target.deliver(make_handoff())
    assert helpdesk.posts == 3 and len(helpdesk.tickets) == 1
    assert target.outbox.pending() == []


async def test_zendesk_bad_credentials_go_to_the_dead_letter_file(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    target = zendesk(served, tmp_path, clock, sleep, api_token="wrong")
    await target.deliver(make_handoff())
    [letter] = target.outbox.dead_letters()
    assert "HTTP 401" in letter.reason and helpdesk.tickets == {}


async def test_freshdesk_ticket_then_a_private_note(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    def requester(handoff):  # type: ignore[no-untyped-def]
        return Requester(name="Jane Doe")

    target = freshdesk(served, tmp_path, clock, sleep, requester=requester)
    await target.deliver(make_handoff(priority="urgent", channel="voice"))
    assert helpdesk.rejected == []
    [(ticket_id, ticket)] = helpdesk.tickets.items()
    assert ticket["priority"] == 4 and ticket["status"] == 2 and ticket["source"] == 3
    assert ticket["unique_external_id"] == "jane@example.com" and ticket["name"] == "Jane Doe"
    assert "W1234567" not in ticket["description"]  # the public part stays neutral
    [note] = helpdesk.notes[ticket_id]
    assert note["private"] is True and "resume token: token-1" in note["body"]
    assert target.outbox.pending() == []


@pytest.mark.parametrize("where", ["ticket", "note"])
async def test_freshdesk_lost_acknowledgement_makes_no_second_ticket_or_note(
    where: str, served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    helpdesk.faults = ["slow"] if where == "ticket" else [None, "slow"]
    helpdesk.slow_seconds = 3.0
    target = freshdesk(served, tmp_path, clock, sleep, policy=DeliveryPolicy(timeout=1.0))
    await target.deliver(make_handoff())
    assert len(helpdesk.tickets) == 1
    assert [len(n) for n in helpdesk.notes.values()] == [1]
    assert target.outbox.pending() == []


async def test_freshdesk_down_then_up_delivers_once(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    target = freshdesk(served, tmp_path, clock, sleep)
    served.stop()
    await target.deliver(make_handoff())
    clock.advance(3600)
    served.start()
    assert len((await target.flush()).delivered) == 1
    assert len(helpdesk.tickets) == 1 and [len(n) for n in helpdesk.notes.values()] == [1]


def test_the_schemas_bite() -> None:
    """The vendor schemas refuse what the vendors refuse (so a passing test means something)."""
    ok = {"ticket": {"comment": {"body": "x", "public": False}, "priority": "normal"}}
    jsonschema.validate(ok, schema("zendesk_create_ticket"))
    for bad in (
        {"ticket": {"comment": {"body": "x"}, "priority": "medium"}},
        {"ticket": {"subject": "no comment"}},
        {"ticket": {"comment": {"body": "x"}, "tags": ["two words"]}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema("zendesk_create_ticket"))
    base = {"subject": "s", "description": "d", "status": 2, "priority": 1, "email": "a@b.c"}
    jsonschema.validate(base, schema("freshdesk_create_ticket"))
    for bad in (
        {k: v for k, v in base.items() if k != "email"},  # no requester
        {**base, "priority": "high"},
        {**base, "status": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema("freshdesk_create_ticket"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"private": True}, schema("freshdesk_create_note"))


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="exactly one"):
        ZendeskTarget(email="a@b.c", api_token="t", outbox=tmp_path)
    with pytest.raises(UserError, match="not an account name"):
        ZendeskTarget("acme.evil.com/x", email="a@b.c", api_token="t", outbox=tmp_path)
    with pytest.raises(UserError, match="required"):
        FreshdeskTarget("acme", api_key="", outbox=tmp_path)
    assert FreshdeskTarget("acme", api_key="k", outbox=tmp_path).endpoint == (
        "https://acme.freshdesk.com"
    )


async def test_an_unreadable_answer_is_kept_then_dead_lettered(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, clock: Clock, sleep
) -> None:
    helpdesk.faults = ["no_id", "no_id"]
    policy = DeliveryPolicy(attempts=1, max_attempts=2)
    target = freshdesk(served, tmp_path, clock, sleep, policy=policy)
    await target.deliver(make_handoff())
    [entry] = target.outbox.pending()
    assert "unexpected answer" in (entry.last_error or "")
    clock.advance(3600)
    assert len((await target.flush()).dead) == 1
    [letter] = target.outbox.dead_letters()
    assert letter.reason.startswith("gave up after 2 attempts: unexpected answer")
