"""The email and SMS webhooks: a conversation started in the web chat goes on by email, then by
SMS, with the same slots and open question; signatures, replays, bad bodies and redeliveries."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest

from resolvekit.serve.channels import Channels, clean_email, normalize_address
from resolvekit.serve.signing import SignatureError, sign, signed_headers, verify

from .conftest import AUTH, client_for, shop_agent

SECRET = "whsec-test"
WEB = "/v1/customers/c-42/messages"
EMAIL = "/v1/channels/email"
SMS = "/v1/channels/sms"
REPLY = """no longer needed

On Mon, 7 Dec 2026 at 10:02, Acme Support <help@acme.example>
wrote:
> Why do you want to cancel? (ordered by mistake, or order W7654321?)
"""


async def resolve(channel: str, address: str) -> str | None:
    """The shop's customer directory: Jane is c-42 in the web chat."""
    return {("email", "jane@example.com"): "c-42", ("sms", "+15550109999"): "c-42"}.get(
        (channel, address)
    )


def app(**channels: Any) -> Any:
    agent = shop_agent()
    options = {"secret": SECRET, "resolve_customer": resolve, **channels}
    return agent, agent.to_asgi(api_keys=["test-key"], channels=Channels(**options))


async def post_signed(
    client: httpx2.AsyncClient, path: str, payload: Any, *, now: float | None = None
) -> httpx2.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signed_headers(SECRET, body, now=now)}
    return await client.post(path, content=body, headers=headers)


def email(text: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "from": "Jane Doe <Jane@Example.com>",
        "to": "help@acme.example",
        "subject": "Re: Your order",
        "text": text,
        "message_id": message_id,
        **fields,
    }


async def test_a_web_conversation_goes_on_by_email_then_by_sms() -> None:
    agent, served = app()
    async with client_for(served) as client:  # no API key: the webhooks are signed instead
        started = await client.post(
            WEB, json={"text": "cancel order W1234567", "channel": "web"}, headers=AUTH
        )
        assert started.json()["pending"] == "slot"  # why cancel?

        by_email = await post_signed(client, EMAIL, email(REPLY, "<m1@mail.example>"))
        assert by_email.status_code == 200, by_email.text
        answer = by_email.json()
        assert (answer["outcome"], answer["pending"]) == ("awaiting_customer", "confirm")
        assert answer["reply"] == "Cancel order W1234567?"  # not W7654321 from the quote
        assert answer["conversation_id"] == started.json()["conversation_id"]
        assert answer["send"] == {
            "to": "Jane Doe <Jane@Example.com>",
            "from": "help@acme.example",
            "subject": "Re: Your order",
            "text": "Cancel order W1234567?",
            "in_reply_to": "<m1@mail.example>",
        }

        mid = (await client.get("/v1/customers/c-42/conversation", headers=AUTH)).json()
        assert mid["slots"] == {"order_id": "W1234567", "reason": "no longer needed"}
        assert mid["pending"]["question"] == "Cancel order W1234567?"  # what SMS answers

        sms = {
            "from": "+1 (555) 010-9999",
            "to": "+15550001111",
            "body": " yes ",
            "message_id": "s1",
        }
        by_sms = (await post_signed(client, SMS, sms)).json()
        assert (by_sms["outcome"], by_sms["reply"]) == ("resolved", "Order W1234567 cancelled")
        assert by_sms["send"] == {
            "to": "+1 (555) 010-9999",
            "from": "+15550001111",
            "body": "Order W1234567 cancelled",
        }
        assert by_sms["conversation_id"] == started.json()["conversation_id"]

        conversation = (await client.get("/v1/customers/c-42/conversation", headers=AUTH)).json()
    said = [(m["role"], m["channel"], m["text"]) for m in conversation["transcript"]]
    assert said[0] == ("customer", "web", "cancel order W1234567")
    assert said[2] == ("customer", "email", "no longer needed")  # the quote was not re-read
    assert said[4] == ("customer", "sms", "yes")
    assert agent.deps is not None and agent.deps.writes == [("cancel", "W1234567")]


async def test_a_redelivered_message_gets_the_same_reply_and_nothing_runs_again() -> None:
    agent, served = app()
    async with client_for(served) as client:
        first = await post_signed(
            client, EMAIL, email("cancel order W1234567, no longer needed", "m1")
        )
        yes = email("Yes, please.\n\n-- \nJane Doe\n+44 20 7946 0958", "m2")
        done = await post_signed(client, EMAIL, yes)
        again = await post_signed(client, EMAIL, yes, now=time.time() + 5)  # signed afresh
    assert first.json()["pending"] == "confirm"
    assert (done.json()["outcome"], done.json()["duplicate"]) == ("resolved", False)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["reply"] == done.json()["reply"]
    assert again.json()["send"] == done.json()["send"]
    assert agent.deps is not None and agent.deps.writes == [("cancel", "W1234567")]


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("none", "missing_signature"),
        ("wrong secret", "bad_signature"),
        ("body changed", "bad_signature"),
        ("an hour old", "stale_timestamp"),
        ("an hour ahead", "stale_timestamp"),
        ("not a number", "missing_signature"),
    ],
)
async def test_unsigned_tampered_and_replayed_requests_are_refused(tamper: str, code: str) -> None:
    _, served = app()
    body = json.dumps(email("cancel order W1234567, no longer needed", "m1")).encode()
    now = time.time()
    headers = signed_headers(SECRET, body, now=now)
    if tamper == "none":
        headers = {}
    elif tamper == "wrong secret":
        headers = signed_headers("another secret", body, now=now)
    elif tamper == "body changed":
        body = body.replace(b"W1234567", b"W7654321")
    elif tamper in ("an hour old", "an hour ahead"):
        stamp = int(now - 3600 if tamper == "an hour old" else now + 3600)
        headers = {
            "X-Resolvekit-Timestamp": str(stamp),
            "X-Resolvekit-Signature": sign(SECRET, stamp, body),
        }
    else:
        headers = {
            "X-Resolvekit-Timestamp": "soon",
            "X-Resolvekit-Signature": sign(SECRET, "soon", body),
        }
    async with client_for(served) as client:
        refused = await client.post(EMAIL, content=body, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == code
        nothing = await client.get("/v1/customers/c-42/conversation", headers=AUTH)
    assert nothing.status_code == 404  # no turn ran


async def test_bad_bodies_get_typed_errors_and_run_nothing() -> None:
    _, served = app()
    async with client_for(served) as client:
        broken = await post_signed(client, EMAIL, b'{"from": "jane@example.com", "text": ')
        assert (broken.status_code, broken.json()["error"]["code"]) == (400, "invalid_json")
        missing = await post_signed(client, SMS, {"from": "+15550109999", "body": "hi"})
        assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid_request")
        assert "message_id" in missing.json()["error"]["message"]
        extra = await post_signed(
            client, SMS, {"from": "x", "body": "hi", "message_id": "1", "x": 1}
        )
        assert extra.status_code == 422
        empty = await post_signed(client, EMAIL, email("> only a quote", "m9", subject="Re: hi"))
        assert (empty.status_code, empty.json()["error"]["code"]) == (422, "message_empty")
        nothing = await client.get("/v1/customers/c-42/conversation", headers=AUTH)
    assert nothing.status_code == 404


async def test_an_unknown_sender_is_a_customer_of_their_own() -> None:
    _, served = app(resolve_customer=lambda channel, address: None)
    async with client_for(served) as client:
        await post_signed(client, EMAIL, email("cancel order W1234567", "m1"))
        own = await client.get("/v1/customers/email:jane@example.com/conversation", headers=AUTH)
        web = await client.get("/v1/customers/c-42/conversation", headers=AUTH)
    assert own.status_code == 200 and own.json()["transcript"][0]["channel"] == "email"
    assert web.status_code == 404


async def test_the_webhooks_are_only_served_when_configured() -> None:
    async with client_for(shop_agent().to_asgi(api_keys=["test-key"])) as client:
        missing = await client.post(EMAIL, json=email("hi", "m1"))
    assert missing.status_code == 404
    _, sms_only = app(enabled=("sms",))
    async with client_for(sms_only) as client:
        assert (await post_signed(client, EMAIL, email("hi", "m1"))).status_code == 404


def test_verify_checks_the_signature_before_the_age() -> None:
    body = b'{"a": 1}'
    verify(signed_headers(SECRET, body, now=1000), body, SECRET, now=1100)
    with pytest.raises(SignatureError) as stale:
        verify(signed_headers(SECRET, body, now=1000), body, SECRET, now=1400)
    assert (stale.value.problem, stale.value.status) == ("stale", 401)
    with pytest.raises(SignatureError) as forged:  # an old forgery is "bad", not "stale"
        verify(signed_headers("guess", body, now=1000), body, SECRET, now=9000)
    assert forged.value.problem == "bad"


@pytest.mark.parametrize(
    ("text", "subject", "said"),
    [
        (REPLY, "Re: Your order", "no longer needed"),
        ("yes\n\nOn Mon, Dec 7, 2026 at 10:02 AM Acme wrote:\n> Cancel?", "", "yes"),
        ("Yes\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nCancel?", "RE: x", "Yes"),
        ("yes\n\n________________________________\nFrom: Acme\nSent: Monday", "", "yes"),
        ("yes please\n\nFrom: Acme <help@acme.example>\nSent: Monday", "", "yes please"),
        ("yes\n-- \nJane Doe\nACME Corp | +44 20 7946 0958", "", "yes"),
        ("yes\n\nSent from my iPhone", "", "yes"),
        ("> quoted first\nmy answer\n> more quote", "", "my answer"),
        ("order W1234567 please", "Cancel my order", "Cancel my order\norder W1234567 please"),
        ("cancel my order W1234567", "Cancel my order", "cancel my order W1234567"),
        ("", "Where is order W1234567?", "Where is order W1234567?"),
        ("", "Re: Where is order W1234567?", ""),
        ("Line one\nline two", "Fwd: Invoice", "Line one\nline two"),
    ],
)
def test_email_bodies_lose_quotes_and_signatures(text: str, subject: str, said: str) -> None:
    assert clean_email(text, subject) == said


def test_addresses_are_normalised_before_the_resolver_sees_them() -> None:
    assert normalize_address("email", "Jane Doe <Jane@Example.COM>") == "jane@example.com"
    assert normalize_address("email", " jane@example.com ") == "jane@example.com"
    assert normalize_address("sms", "+44 (20) 7946-0958") == "+442079460958"
