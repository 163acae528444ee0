"""The JSON routes: a turn, quick replies, idempotent retries, reads, resume after a handoff."""

from __future__ import annotations

from typing import Any

import httpx2

from .conftest import AUTH, shop_agent

M = "/v1/customers/c1/messages"
CANCEL = "cancel order W1234567, no longer needed"


async def test_a_confirmed_write_over_http(make_client: Any) -> None:
    agent = shop_agent()
    async with make_client(agent) as client:
        first = (await client.post(M, json={"text": CANCEL, "message_id": "m1"})).json()
        assert first["outcome"] == "awaiting_customer"
        assert first["pending"] == "confirm"
        assert first["options"] == ["yes", "no"]
        assert first["reply"] == "Cancel order W1234567?"
        assert set(first) == {
            "reply", "outcome", "intent", "pending", "question_id", "options", "citations",
            "handoff", "duplicate", "confidence", "conversation_id",
        }  # fmt: skip
        answer = {"text": "yes", "message_id": "m2", "reply_to": first["question_id"]}
        done = await client.post(M, json=answer)
        assert done.status_code == 200
        assert done.json()["outcome"] == "resolved"
        again = (await client.post(M, json=answer)).json()
        assert again["duplicate"] is True
        assert again["reply"] == done.json()["reply"]
    assert agent.deps is not None
    assert agent.deps.writes == [("cancel", "W1234567")]  # once, not on the retry


async def test_slot_choices_are_offered(make_client: Any) -> None:
    async with make_client() as client:
        body = (await client.post(M, json={"text": "cancel order W1234567"})).json()
    assert body["pending"] == "slot"
    assert body["options"] == ["no longer needed", "ordered by mistake"]


async def test_the_conversation_read_back(make_client: Any) -> None:
    async with make_client() as client:
        missing = await client.get("/v1/customers/c1/conversation")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "no_conversation"
        await client.post(M, json={"text": CANCEL})
        conv = (await client.get("/v1/customers/c1/conversation")).json()
        assert conv["status"] == "open"
        assert conv["customer_id"] == "c1"
        assert [m["role"] for m in conv["transcript"]] == ["customer", "agent"]
        assert conv["slots"] == {"order_id": "W1234567", "reason": "no longer needed"}
        assert conv["pending"]["kind"] == "confirm"
        assert conv["pending"]["options"] == ["yes", "no"]
        trace = (await client.get("/v1/customers/c1/trace")).json()
        kinds = [event["kind"] for event in trace["turns"][-1]["trace"]]
        assert "tool" in kinds and "model" in kinds
        assert (await client.get("/v1/customers/c2/trace")).status_code == 404


async def test_replies_and_reads_are_redacted(make_client: Any) -> None:
    async with make_client() as client:
        await client.post(M, json={"text": "my card is 4111 1111 1111 1111, where is my order"})
        conv = (await client.get("/v1/customers/c1/conversation")).json()
    said = conv["transcript"][0]["text"]
    assert "4111 1111 1111 1111" not in said
    assert "****1111" in said


async def test_handoff_then_resume(make_client: Any) -> None:
    async with make_client() as client:
        body = (
            await client.post(M, json={"text": "cancel order W5555555, ordered by mistake"})
        ).json()
        assert body["outcome"] == "escalated"
        assert body["handoff"]["reason"]
        packet = await client.get("/v1/customers/c1/handoff")
        assert packet.status_code == 200
        assert "resume_token" not in packet.json()
        token = body["handoff"]["resume_token"]
        bad = await client.post("/v1/handoffs/resume", json={"token": "nope"})
        assert bad.status_code == 404 and bad.json()["error"]["code"] == "unknown_token"
        resumed = await client.post("/v1/handoffs/resume", json={"token": token, "note": "done"})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "open"
        assert (await client.get("/v1/customers/c1/handoff")).status_code == 404


async def test_health_and_readiness(make_client: Any) -> None:
    async with make_client() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_unauthenticated_health_but_not_api(make_client: Any) -> None:
    app = shop_agent().to_asgi(api_keys=["k"])
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).status_code == 200
            denied = await client.post(M, json={"text": "hi"})
            assert denied.status_code == 401
            assert denied.headers["www-authenticate"] == "Bearer"
            wrong = await client.post(M, json={"text": "hi"}, headers={"Authorization": "Bearer x"})
            assert wrong.status_code == 401
            assert wrong.json()["error"]["code"] == "unauthorized"
    assert AUTH  # the fixture's key is another one


async def test_deps_from_the_request_and_metadata(make_client: Any) -> None:
    from starlette.requests import Request

    from tests.engine.shop import Backend

    tenant = Backend(orders={"W7777777": {"id": "W7777777", "status": "shipped", "items": []}})
    seen: list[tuple[str, dict[str, Any]]] = []

    def deps(request: Request, customer_id: str, metadata: dict[str, Any]) -> Backend:
        seen.append((customer_id, metadata))
        return tenant if metadata.get("tenant") == "t7" else Backend()

    async with make_client(deps=deps) as client:
        body = {"text": "where is W7777777", "channel": "sms", "metadata": {"tenant": "t7"}}
        reply = (await client.post(M, json=body)).json()
        conv = (await client.get("/v1/customers/c1/conversation")).json()
    assert reply["reply"] == "Order W7777777 is shipped"
    assert seen == [("c1", {"tenant": "t7"})]
    assert conv["channel"] == "sms"
