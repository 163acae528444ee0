"""The console's web app against an agent whose conversation was handed to a human (httpx on the
ASGI app): login, CSRF, escaping, running tools through the gates, replies, hand back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

import resolvekit as rk
from resolvekit.console import create_app
from resolvekit.sessions import FREE_RUN
from tests.console.support import KEY, Outbox, hand_off, shop_agent
from tests.engine.shop import Backend


class Setup:
    def __init__(self, store: str = "memory://") -> None:
        self.backend = Backend()
        self.agent = shop_agent(self.backend, store)
        self.outbox = Outbox()
        self.app = create_app(self.agent, api_key=KEY, reply_target=self.outbox)
        self.client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=self.app), base_url="http://console.test"
        )
        self.cid = ""

    async def login(self, name: str = "alice") -> None:
        response = await self.client.post("/login", data={"name": name, "key": KEY})
        assert response.status_code == 303, response.text

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return response.text

    async def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', await self.page(f"/c/{self.cid}"))
        assert found is not None
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any]) -> httpx2.Response:
        return await self.client.post(path, data={"csrf": await self.csrf(), **data})

    async def conversation(self) -> rk.sessions.Conversation:
        found = await self.agent.store.get(self.cid)
        assert found is not None
        return found


@pytest.fixture(params=["memory", "sqlite"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    """A logged-in console over an agent whose conversation with c-1 was handed off, on the
    memory store and on SQLite (locks and saves across the console and the agent)."""
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/console.db"
    s = Setup(store)
    s.cid = await hand_off(s.agent)
    await s.login()
    yield s
    await s.client.aclose()
    await s.agent.close()


async def test_pages_need_a_login_with_the_key() -> None:
    s = Setup()
    s.cid = await hand_off(s.agent)
    for path in ("/", f"/c/{s.cid}"):
        response = await s.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    wrong = await s.client.post("/login", data={"name": "mallory", "key": "not-the-key"})
    assert wrong.status_code == 401 and "Wrong name or key" in wrong.text
    forged = s.client.cookies
    forged.set("rk_console", "YWxpY2U.9999999999.0000")
    assert (await s.client.get("/")).status_code == 303
    await s.login()
    assert "Open handoffs (1)" in await s.page("/")


async def test_the_inbox_lists_open_handoffs_by_priority_then_wait(setup: Setup) -> None:
    later = await hand_off(setup.agent, "c-2")
    urgent = await hand_off(setup.agent, "c-3")
    conv = await setup.agent.store.get(urgent)
    assert conv is not None and conv.handoff is not None
    conv.handoff["priority"] = "urgent"
    await setup.agent.store.save(conv)
    html = await setup.page("/")
    order = re.findall(r"data-conversation='([0-9a-f]+)'", html)
    assert order == [urgent, setup.cid, later]
    assert "customer asked for a human" in html
    assert html.count("<span class='badge medium'>medium</span>") == 3  # frustration


async def test_the_conversation_page_shows_the_whole_context(setup: Setup) -> None:
    html = await setup.page(f"/c/{setup.cid}")
    assert "I want to cancel order W1234567" in html  # transcript
    assert "customer asked for a human" in html  # reason
    assert "Why do you want to cancel?" in html  # what the agent was waiting on
    assert "order_id" in html and "W1234567" in html  # slots
    assert "useless" in html  # why the frustration signal is what it is
    assert "Refunds reach your card within 5 business days." in html  # knowledge suggestion
    # Suggested next actions, from the playbook: get_order next, cancel_order missing a reason.
    forms = re.findall(r"<form[^>]*class='suggestion( next)?' data-tool='(\w+)'", html)
    assert forms == [(" next", "get_order"), ("", "cancel_order")]
    assert "value='W1234567'" in html


async def test_customer_text_is_shown_as_text_never_as_markup() -> None:
    s = Setup()
    await s.agent.handle("c-x", "<script>alert('pwned')</script> I want to cancel order W1234567")
    result = await s.agent.handle("c-x", "<img src=x onerror=alert(1)> get me a human please")
    assert result.outcome == "escalated"
    s.cid = result.conversation_id
    await s.login()
    html = await s.page(f"/c/{s.cid}")
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    inbox = await s.page("/")
    assert "&lt;img src=x" in inbox and "<img src=x" not in inbox
    await s.client.aclose()


async def test_a_read_runs_at_once_journaled_under_the_humans_name(setup: Setup) -> None:
    response = await setup.post(
        f"/c/{setup.cid}/run",
        {"tool": "get_order", "request": "r-1", "arg.order_id": "W1234567"},
    )
    assert response.status_code == 303
    html = await setup.page(response.headers["location"])
    assert "get_order done" in html  # the flash with the result
    conv = await setup.conversation()
    free = conv.run(FREE_RUN)
    assert free is not None
    [step] = [s for s in free.journal if s.kind == "call"]
    assert (step.key, step.status, step.args) == ("get_order", "done", {"order_id": "W1234567"})
    assert step.human == {"name": "alice", "request": "r-1"}
    assert step.idempotency_key == f"{conv.id}:{FREE_RUN}:{step.index}"
    assert conv.status == "handed_off"  # still with the human


async def test_a_write_waits_for_the_confirm_click_and_a_double_click_writes_once(
    setup: Setup,
) -> None:
    fields = {
        "tool": "cancel_order",
        "request": "r-2",
        "arg.order_id": "W1234567",
        "arg.reason": "no longer needed",
    }
    first = await setup.post(f"/c/{setup.cid}/run", fields)
    assert first.status_code == 200 and "Confirm and run" in first.text
    assert setup.backend.writes == []  # nothing ran before the click
    args = re.search(r"name='args' value='([^']+)'", first.text)
    assert args is not None
    confirm = {"tool": "cancel_order", "request": "r-2", "confirmed": "yes"}
    confirm["args"] = args.group(1).replace("&quot;", '"')
    for _ in range(2):  # a double click (or a retried POST) is the same request
        response = await setup.post(f"/c/{setup.cid}/run", confirm)
        assert response.status_code == 303
    assert setup.backend.writes == [("cancel", "W1234567")]
    conv = await setup.conversation()
    free = conv.run(FREE_RUN)
    assert free is not None
    confirm_step, call = free.journal
    assert confirm_step.kind == "confirm" and confirm_step.result is True
    assert confirm_step.evidence is not None and confirm_step.evidence["name"] == "alice"
    assert (call.key, call.status, call.human) == (
        "cancel_order",
        "done",
        {"name": "alice", "request": "r-2"},
    )
    html = await setup.page(f"/c/{setup.cid}")
    assert "run by alice" in html and "cancelled" in html


async def test_bad_arguments_are_refused_and_nothing_is_journaled(setup: Setup) -> None:
    response = await setup.post(
        f"/c/{setup.cid}/run",
        {"tool": "cancel_order", "request": "r-3", "arg.order_id": "W1234567", "arg.reason": "x"},
    )
    assert response.status_code == 400 and "Invalid arguments for cancel_order" in response.text
    unknown = await setup.post(f"/c/{setup.cid}/run", {"tool": "drop_tables", "request": "r-4"})
    assert unknown.status_code == 404
    assert (await setup.conversation()).run(FREE_RUN) is None
    assert setup.backend.writes == []


async def test_posts_without_the_token_or_from_another_site_are_refused(setup: Setup) -> None:
    fields = {"tool": "get_order", "request": "r-5", "arg.order_id": "W1234567"}
    no_token = await setup.client.post(f"/c/{setup.cid}/run", data=fields)
    assert no_token.status_code == 403
    token = await setup.csrf()
    cross = await setup.client.post(
        f"/c/{setup.cid}/reply",
        data={"csrf": token, "text": "hi"},
        headers={"origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    conv = await setup.conversation()
    assert conv.run(FREE_RUN) is None and setup.outbox.sent == []


async def test_a_reply_is_kept_in_the_transcript_and_sent_to_the_customer(setup: Setup) -> None:
    response = await setup.post(f"/c/{setup.cid}/reply", {"text": "Hi, Alice here. Checking."})
    assert response.status_code == 303
    [sent] = setup.outbox.sent
    assert (sent.customer_id, sent.text, sent.human, sent.channel) == (
        "c-1",
        "Hi, Alice here. Checking.",
        "alice",
        "chat",
    )
    conv = await setup.conversation()
    assert (conv.transcript[-1].role, conv.transcript[-1].text) == (
        "human_agent",
        "Hi, Alice here. Checking.",
    )
    empty = await setup.post(f"/c/{setup.cid}/reply", {"text": "   "})
    assert empty.status_code == 400 and len(setup.outbox.sent) == 1


async def test_hand_back_resumes_the_playbook_where_it_stopped(setup: Setup) -> None:
    response = await setup.post(f"/c/{setup.cid}/handback", {"note": "explained refunds"})
    assert response.status_code == 303
    html = await setup.page(response.headers["location"])
    assert "Handed back to the bot" in html and "reply-text" not in html  # no reply box now
    [question] = setup.outbox.sent
    assert question.human is None and "earlier request" in question.text
    assert "Open handoffs (0)" in await setup.page("/")
    # The customer's yes picks the cancellation up where it stopped (the reason question).
    assert (await setup.agent.handle("c-1", "yes")).reply == "Why do you want to cancel?"
    assert (await setup.agent.handle("c-1", "no longer needed")).pending == "confirm"
    assert (await setup.agent.handle("c-1", "yes")).outcome == "resolved"
    assert setup.backend.writes == [("cancel", "W1234567")]
    again = await setup.post(f"/c/{setup.cid}/run", {"tool": "get_order", "request": "r-9"})
    assert again.status_code in (400, 409)  # not with a human any more


async def test_the_humans_call_is_traced_with_their_name_and_logged_redacted(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    setup.backend.orders["W1234567"]["items"] = ["lamp for jane.doe@example.com"]
    with caplog.at_level("INFO", logger="resolvekit.console"):
        outcome = await setup.app.state.console.run_tool(
            setup.cid, "get_order", {"order_id": "W1234567"}, human="alice", request="r-t"
        )
    assert outcome.status == "done" and not outcome.duplicate
    [event] = [e for e in outcome.trace if e.kind == "tool"]
    assert event.data["human"] == "alice" and event.data["status"] == "done"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert '"human": "alice"' in logged and "jane.doe@example.com" not in logged
    again = await setup.app.state.console.run_tool(
        setup.cid, "get_order", {"order_id": "W1234567"}, human="alice", request="r-t"
    )
    assert again.duplicate and again.result == outcome.result


async def test_a_later_handoff_says_which_calls_a_human_ran(setup: Setup) -> None:
    await setup.post(
        f"/c/{setup.cid}/run", {"tool": "get_order", "request": "r-h", "arg.order_id": "W1234567"}
    )
    await setup.post(f"/c/{setup.cid}/handback", {})
    result = await setup.agent.handle("c-1", "no, get me a human again")
    assert result.handoff is not None
    by = {(a.tool, a.human) for a in result.handoff.actions}
    assert ("get_order", "alice") in by
