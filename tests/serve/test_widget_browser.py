"""The chat widget (``serve/static/widget.js``) in a real headless Chromium, against the retail
agent served by uvicorn: a customer cancels an order with the confirmation button and sees the
handoff; keyboard-only use; a resend after a lost response does not double the message.

Set ``RESOLVEKIT_SCREENSHOTS=<folder>`` to save the screenshots of docs/widget.md there
(``tools/screenshots.py`` does it for ``docs/images``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from tests.examples.retail_data import require_data

from .widget_server import RunningServer, serve_agent, serve_retail

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TIMEOUT_MS = 60_000
"""How long the browser waits for a reply (generous: the machine is shared and loaded)."""

CUSTOMER = ["I want to cancel an order", "I'm Yusuf Rossi, zip 19122", "#W6247578"]
"""A customer who cancels a pending order of the τ²-bench retail database."""

ORDER = "#W6247578"

ORDER_SUPPORT = Path(__file__).resolve().parents[2] / "examples" / "order_support.py"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    """A server of its own per test: each test changes the database."""
    require_data()
    with serve_retail() as running:
        yield running


@pytest.fixture
def page_for(chromium: Any) -> Iterator[Any]:
    """Opens a URL in a fresh browser context (its own storage, so its own anonymous
    customer); fails the test if the page raised a JavaScript error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(url: str) -> Any:
        context = chromium.new_context(viewport={"width": 1000, "height": 720})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture
def page(page_for: Any, server: RunningServer) -> Any:
    """The demo page in front of the retail agent."""
    return page_for(f"{server.url}/demo")


def customer_id(page: Any) -> str:
    return str(page.evaluate("window.resolvekit.widget.customerId"))


def replies(page: Any) -> Any:
    """The agent's finished replies."""
    return page.locator(".rk-agent[aria-busy=false]")


def say(page: Any, text: str) -> str:
    """Types ``text``, sends it with Enter and returns the agent's reply once it is complete."""
    done = replies(page).count()
    box = page.get_by_role("textbox", name="Type your message")
    box.fill(text)
    box.press("Enter")
    reply = replies(page).nth(done)
    reply.wait_for()
    return str(reply.locator(".rk-text").inner_text())


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("RESOLVEKIT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_cancel_an_order_with_the_confirmation_button_then_a_handoff(
    page: Any, server: RunningServer
) -> None:
    for text in CUSTOMER:
        say(page, text)
    question = say(page, "no longer needed")
    assert "Please confirm: cancel order #W6247578" in question
    yes = page.get_by_role("button", name="Yes", exact=False).last
    assert yes.is_enabled()
    assert server.db.orders[ORDER].status == "pending"
    screenshot(page, "widget-confirm.png")

    done = replies(page).count()
    yes.click()
    answer = replies(page).nth(done)
    answer.wait_for()
    assert "is cancelled" in answer.inner_text()
    assert server.db.orders[ORDER].status == "cancelled"
    assert not yes.is_enabled(), "an answered question's buttons are disabled"

    banner = page.get_by_text("You're now talking to a human")
    assert not banner.is_visible()
    say(page, "I want to talk to a human")
    banner.wait_for(state="visible")
    assert banner.get_attribute("role") == "status"
    screenshot(page, "widget-handoff.png")
    assert server.run(server.agent.conversation(customer_id(page))).status == "handed_off"


def test_the_button_answers_its_own_question(page: Any, server: RunningServer) -> None:
    """A confirmation button sends ``reply_to`` with the question's id."""
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data or "{}")) if request.method == "POST" else None
        ),
    )
    for text in [*CUSTOMER[:2], "#W4776164", "ordered by mistake"]:
        say(page, text)
    page.get_by_role("button", name="No", exact=False).last.click()
    replies(page).nth(4).wait_for()
    assert sent[-1]["text"] == "no"
    assert sent[-1]["reply_to"]
    assert sent[-2].get("reply_to") is None
    assert server.db.orders["#W4776164"].status == "pending"


def test_keyboard_only(page: Any, server: RunningServer) -> None:
    """Tab reaches the message box, Enter sends, Tab then Enter presses a button, Escape closes
    the panel and the launcher opens it again."""
    box = page.get_by_role("textbox", name="Type your message")
    for _ in range(10):
        if box.evaluate("node => node.getRootNode().activeElement === node"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reached the message box")
    for text in [*CUSTOMER, "no longer needed"]:
        done = replies(page).count()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        replies(page).nth(done).wait_for()
    # Shift+Tab walks back from the box to the Yes/No buttons of the question.
    focused = ""
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate(
            "document.querySelector('resolvekit-chat').shadowRoot.activeElement?.textContent"
        )
        if focused == "Yes":
            break
    assert focused == "Yes"
    done = replies(page).count()
    page.keyboard.press("Enter")
    assert "is cancelled" in replies(page).nth(done).inner_text()
    assert server.db.orders[ORDER].status == "cancelled"

    page.keyboard.press("Escape")
    assert not box.is_visible()
    launcher = page.get_by_role("button", name="Open chat: Retail support")
    assert launcher.evaluate("node => node.getRootNode().activeElement === node")
    page.keyboard.press("Enter")
    assert box.is_visible()


def test_a_resend_after_a_lost_response_does_not_double_the_message(
    page: Any, server: RunningServer
) -> None:
    """The first attempt reaches the server, which handles the message; its response is lost.
    The widget resends with the same ``message_id``; the server gives back the stored result."""
    attempts: list[str] = []

    def lose_first_response(route: Any) -> None:
        attempts.append(json.loads(route.request.post_data)["message_id"])
        if len(attempts) == 1:
            route.fetch()  # the turn runs on the server
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/v1/customers/*/messages**", lose_first_response)
    reply = say(page, CUSTOMER[0])
    assert "verify your identity" in reply
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    lines = server.transcript(customer_id(page))
    assert [text for role, text in lines if role == "customer"] == [CUSTOMER[0]]
    assert page.locator(".rk-customer").count() == 1
    assert replies(page).count() == 1
    assert page.get_by_role("status").filter(has_text="Reconnecting").count() == 0


def test_the_host_page_css_does_not_leak_in(page: Any) -> None:
    page.add_style_tag(content="button, textarea { all: unset !important; color: red !important }")
    send = page.get_by_role("button", name="Send")
    assert send.evaluate("node => getComputedStyle(node).color") == "rgb(255, 255, 255)"


def test_roles_and_labels(page: Any) -> None:
    log = page.get_by_role("log", name="Conversation")
    assert log.get_attribute("aria-live") == "polite"
    say(page, CUSTOMER[0])
    unnamed = page.evaluate(
        """() => [...document.querySelector('resolvekit-chat').shadowRoot
                  .querySelectorAll('button, textarea')]
                  .filter(n => !(n.getAttribute('aria-label') || n.textContent.trim()
                                 || (n.labels && n.labels.length)))
                  .map(n => n.outerHTML)"""
    )
    assert unnamed == []


CANNED = (
    ": a comment line is ignored\r\n\r\n"
    'event: tool_started\r\ndata: {"tool": "get_order_details", "args": {}}\r\n\r\n'
    'event: delta\ndata: {"text": "Refunds take 5 to 7 business days."}\n\n'
    'event: delta\ndata: {"text": "Why do you want to cancel?"}\n\n'
    "event: done\ndata: "
    + json.dumps(
        {
            "reply": "Refunds take 5 to 7 business days.\nWhy do you want to cancel?",
            "outcome": "awaiting_customer",
            "pending": "slot",
            "question_id": "q-7",
            "options": ["no longer needed", "ordered by mistake"],
            "citations": [
                {"doc_id": "d1", "title": "Refunds", "source": "https://shop.example/refunds"},
                {"doc_id": "d2", "title": "policy.md", "source": "/srv/policy.md"},
            ],
            "handoff": None,
        }
    )
    + "\n\n"
)


def test_a_stream_with_citations_and_quick_replies(page: Any) -> None:
    """A canned event stream (CRLF and LF lines, a comment): the reply is the deltas joined by
    newlines, citations with a URL are links, options are quick replies sending ``reply_to``."""
    sent: list[dict[str, Any]] = []

    def canned(route: Any) -> None:
        sent.append(json.loads(route.request.post_data))
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=CANNED)

    page.route("**/v1/customers/*/messages/stream", canned)
    reply = say(page, "how long do refunds take? and cancel my order")
    assert reply.startswith("Refunds take 5 to 7 business days.\nWhy do you want to cancel?")
    link = page.get_by_role("link", name="Refunds")
    assert link.get_attribute("href") == "https://shop.example/refunds"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.get_by_role("link", name="policy.md").count() == 0, "a file path is not a link"
    assert "policy.md" in replies(page).first.inner_text()
    group = page.get_by_role("group", name="Quick replies")
    group.get_by_role("button", name="ordered by mistake").click()
    page.locator(".rk-customer").nth(1).wait_for()
    assert sent[-1]["text"] == "ordered by mistake"
    assert sent[-1]["reply_to"] == "q-7"
    assert sent[-1]["message_id"] != sent[0]["message_id"]


def test_an_error_the_service_refuses_is_shown_not_retried(page: Any) -> None:
    calls: list[str] = []

    def refuse(route: Any) -> None:
        calls.append(route.request.url)
        body = {"error": {"code": "message_too_long", "message": "The message is too long"}}
        route.fulfill(
            status=422, headers={"Content-Type": "application/json"}, body=json.dumps(body)
        )

    page.route("**/v1/customers/*/messages/stream", refuse)
    box = page.get_by_role("textbox", name="Type your message")
    box.fill("hello")
    box.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "The message is too long" in alert.inner_text()
    assert alert.get_by_role("button", name="Retry").count() == 0
    assert len(calls) == 1


def test_embedded_on_another_site_with_a_customer_token_and_quick_replies(chromium: Any) -> None:
    """The widget on a page of another origin (CORS) for a signed-in customer (a customer token
    and id, as docs/widget.md says), in front of ``examples/order_support.py``: the reason
    slot's choices are quick replies, and the cancellation happens after the Yes button."""
    from resolvekit.serve import customer_token, token_authorize

    spec = importlib.util.spec_from_file_location("widget_order_support", ORDER_SUPPORT)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = example  # its dataclasses look their module up
    spec.loader.exec_module(example)
    shop = example.Shop()
    # Another origin (a page Playwright serves); reaching 127.0.0.1 from it needs Chromium's
    # local network access permission, granted below as a visitor would.
    shop_origin = "http://localhost:9"
    secret = "s3cret-for-tests"
    options = {
        "api_keys": ["server-key"],
        "authorize": token_authorize(secret),
        "cors_origins": [shop_origin],
    }
    with (
        example.agent.override(model="test", deps=shop),
        serve_agent(example.agent, shop, **options) as server,
    ):
        host_page = (
            "<!doctype html><title>Shop</title><h1>Shop</h1>"
            f'<script src="{server.url}/widget.js" data-token="{customer_token(secret, "c-1")}"'
            ' data-customer-id="c-1" data-title="Shop help" data-open="true"></script>'
        )
        context = chromium.new_context(permissions=["local-network-access"])
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.route(
            f"{shop_origin}/",
            lambda route: route.fulfill(content_type="text/html", body=host_page),
        )
        try:
            page.goto(f"{shop_origin}/")
            say(page, "I want to cancel order W1000001")
            group = page.get_by_role("group", name="Quick replies")
            group.get_by_role("button", name="ordered by mistake").click()
            replies(page).nth(1).wait_for()
            assert shop.orders["W1000001"]["status"] == "pending"
            page.get_by_role("button", name="Yes").click()
            assert "is cancelled" in replies(page).nth(2).inner_text()
            assert shop.orders["W1000001"]["status"] == "cancelled"
            assert shop.orders["W1000001"]["customer"] == "c-1"
        finally:
            context.close()


def test_a_cited_answer_links_its_source(page_for: Any) -> None:
    """An agent answering from a knowledge base: the citation under the reply is a link to the
    article's URL."""
    from resolvekit.knowledge import KnowledgeBase
    from resolvekit.understanding.embedders import HashingEmbedder

    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(
        {
            "id": "refunds",
            "title": "Refunds",
            "source": "https://shop.example/help/refunds",
            "text": "# Refunds\n\nRefunds reach your card within 5 to 7 business days.",
        }
    )
    agent = rk.Agent("Help", model="test", store="memory://", knowledge=kb, handoff=[])
    with serve_agent(agent, None) as server:
        page = page_for(f"{server.url}/demo")
        reply = say(page, "How long do refunds take to reach my card?")
        assert reply.startswith("Refunds reach your card within 5 to 7 business days.")
        link = page.get_by_role("log").get_by_role("link", name="Refunds")
        assert link.get_attribute("href") == "https://shop.example/help/refunds"
        assert link.get_attribute("target") == "_blank"


def test_a_reload_picks_up_the_conversation(page: Any, server: RunningServer) -> None:
    """After a reload the widget shows the open conversation kept by the service, with the
    open question's buttons, which still work."""
    for text in [*CUSTOMER, "no longer needed"]:
        say(page, text)
    page.reload()
    history = page.locator(".rk-history")
    history.last.wait_for()
    assert history.first.locator(".rk-text").inner_text() == CUSTOMER[0]
    assert history.first.text_content() == f"You: {CUSTOMER[0]}", "who said it, for screen readers"
    assert "Please confirm: cancel order #W6247578" in history.last.inner_text()
    done = replies(page).count()
    page.get_by_role("button", name="Yes").click()
    assert "is cancelled" in replies(page).nth(done).inner_text()
    assert server.db.orders[ORDER].status == "cancelled"


BREAK_FIRST_STREAM = """
(() => {
  const realFetch = window.fetch;
  window.__sent = [];
  window.fetch = async (url, init) => {
    const response = await realFetch(url, init);
    if (!String(url).endsWith("/messages/stream")) return response;
    window.__sent.push(JSON.parse(init.body).message_id);
    if (window.__sent.length > 1) return response;
    // The first stream breaks after its first event, as a dropped connection would.
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const body = new ReadableStream({
      async pull(controller) {
        while (!text.includes("\\n\\n")) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += decoder.decode(chunk.value, { stream: true });
        }
        controller.enqueue(new TextEncoder().encode(text.slice(0, text.indexOf("\\n\\n") + 2)));
        controller.error(new TypeError("network error"));
        reader.cancel();
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
})();
"""


def test_a_stream_broken_midway_is_resent_once(page_for: Any, server: RunningServer) -> None:
    """The connection drops after the first event of the stream: the widget drops what it
    showed, resends with the same ``message_id`` and shows the reply once."""
    page = page_for("about:blank")
    page.add_init_script(BREAK_FIRST_STREAM)
    page.goto(f"{server.url}/demo")
    say(page, CUSTOMER[0])
    reply = say(page, CUSTOMER[1])
    assert reply.startswith("Which order would you like to cancel?")
    sent = page.evaluate("window.__sent")
    assert len(sent) == 3 and sent[0] == sent[1] != sent[2]
    lines = server.transcript(customer_id(page))
    assert [text for role, text in lines if role == "customer"] == CUSTOMER[:2]
    assert page.locator(".rk-customer").count() == 2
    assert replies(page).count() == 2
    assert page.locator(".rk-activity").count() == 0


def test_offline_then_online_the_message_goes_through(page: Any, server: RunningServer) -> None:
    """Sent while the browser is offline: the widget says it is reconnecting and sends the
    message when the network is back."""
    page.context.set_offline(True)
    box = page.get_by_role("textbox", name="Type your message")
    box.fill(CUSTOMER[0])
    box.press("Enter")
    page.get_by_role("status").filter(has_text="Reconnecting").wait_for()
    assert server.transcript(customer_id(page)) == []
    page.context.set_offline(False)
    assert "verify your identity" in replies(page).first.inner_text()
    lines = server.transcript(customer_id(page))
    assert [text for role, text in lines if role == "customer"] == [CUSTOMER[0]]
    assert page.get_by_role("status").filter(has_text="Reconnecting").count() == 0


def test_plain_json_turns(page_for: Any, server: RunningServer) -> None:
    """``data-stream="false"``: one JSON answer per message, rendered the same way."""
    paths: list[str] = []
    plain = '<script src="/widget.js" data-stream="false" data-open="true"></script>'
    page = page_for("about:blank")
    page.on("request", lambda request: paths.append(request.url.split(server.url)[-1]))
    page.route(
        f"{server.url}/plain",
        lambda route: route.fulfill(content_type="text/html", body=plain),
    )
    page.goto(f"{server.url}/plain")
    for text in [*CUSTOMER, "no longer needed"]:
        say(page, text)
    page.get_by_role("button", name="Yes").click()
    assert "is cancelled" in replies(page).nth(4).inner_text()
    assert server.db.orders[ORDER].status == "cancelled"
    posted = [path for path in paths if "/messages" in path]
    assert len(posted) == 5 and all(path.endswith("/messages") for path in posted)


# -- a human agent's replies, live ----------------------------------------------------------

HUMAN_TIMEOUT_MS = 20_000
"""How long a human agent's reply may take to show (the feed reads the store every second; the
machine is shared and loaded)."""


def hand_off(page: Any, server: RunningServer) -> str:
    """The customer asks for a person; the id of the conversation a human now has."""
    say(page, "I want to talk to a human")
    page.get_by_text("You're now talking to a human").wait_for(state="visible")
    conversation = server.run(server.agent.conversation(customer_id(page)))
    assert conversation is not None and conversation.status == "handed_off"
    return conversation.id


def human_lines(page: Any) -> Any:
    return page.locator(".rk-human")


def test_a_human_agents_reply_shows_live_and_the_hand_back_clears_the_banner(
    page: Any, server: RunningServer
) -> None:
    """A human agent answers from the console (the same store): the widget shows the reply as
    theirs within seconds, once; the customer's own lines are not shown twice; handing the
    conversation back clears the banner and says so."""
    from resolvekit.console import Console

    console = Console(server.agent)
    conversation_id = hand_off(page, server)
    server.run(
        console.reply(conversation_id, "Hi, I'm Alex. I'm looking at your order now.", human="Alex")
    )
    first = human_lines(page).first
    first.wait_for(timeout=HUMAN_TIMEOUT_MS)
    assert first.locator(".rk-from").inner_text() == "Alex (support)"
    assert first.locator(".rk-text").inner_text() == "Hi, I'm Alex. I'm looking at your order now."
    assert first.text_content() == "Alex (support): Hi, I'm Alex. I'm looking at your order now."
    log = page.get_by_role("log", name="Conversation")
    assert log.get_attribute("aria-live") == "polite"
    assert log.locator(".rk-human").count() == 1, "in the live log a screen reader announces"
    screenshot(page, "widget-human-reply.png")

    say(page, "Thank you, I'll wait")
    server.run(console.reply(conversation_id, "It is sorted: you'll get an email.", human="Alex"))
    human_lines(page).nth(1).wait_for(timeout=HUMAN_TIMEOUT_MS)
    page.wait_for_timeout(1500)  # a few more polls: nothing comes twice
    assert human_lines(page).count() == 2
    assert page.locator(".rk-customer").count() == 2
    assert page.locator(".rk-agent:not(.rk-human)").count() == 2

    banner = page.get_by_text("You're now talking to a human")
    server.run(console.hand_back(conversation_id, human="Alex"))
    banner.wait_for(state="hidden", timeout=HUMAN_TIMEOUT_MS)
    assert page.get_by_role("status").filter(has_text="You're back with the assistant").count() == 1
    lines = server.transcript(customer_id(page))
    shown = page.locator(".rk-msg .rk-text").all_inner_texts()
    assert shown == [text for role, text in lines if role != "tool"]


def test_after_a_reload_and_dropped_polls_the_reply_shows_once(
    page: Any, server: RunningServer
) -> None:
    """Reloaded while a human has the conversation, the widget polls again from the cursor
    the conversation gave it; the first polls are cut off: it resumes, nothing twice."""
    from resolvekit.console import Console

    console = Console(server.agent)
    conversation_id = hand_off(page, server)
    polls: list[str] = []

    def drop_some(route: Any) -> None:
        polls.append(route.request.url)
        if len(polls) <= 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/v1/customers/*/messages?*", drop_some)
    page.reload()
    page.get_by_text("You're now talking to a human").wait_for(state="visible")
    assert page.locator(".rk-history").count() == 2
    server.run(console.reply(conversation_id, "Alex here: still on it.", human="Alex"))
    human_lines(page).first.wait_for(timeout=HUMAN_TIMEOUT_MS)
    page.wait_for_timeout(1500)
    assert human_lines(page).count() == 1
    assert len(polls) >= 3 and all("after=" in url for url in polls)
    assert page.locator(".rk-msg").count() == 3
    assert page.get_by_role("status").filter(has_text="Reconnecting").count() == 0


def test_handed_back_mid_request_the_question_comes_with_its_buttons(
    page: Any, server: RunningServer
) -> None:
    """A customer asks for a person in the middle of a cancellation; the human hands the
    conversation back: the bot's offer to go on shows with Yes / No, and Yes goes on."""
    from resolvekit.console import Console

    for text in CUSTOMER:
        say(page, text)
    conversation_id = hand_off(page, server)
    conversation, _ = server.run(Console(server.agent).hand_back(conversation_id, human="Alex"))
    assert conversation.pending is not None and conversation.pending.kind == "resume"
    page.get_by_text("You're now talking to a human").wait_for(
        state="hidden", timeout=HUMAN_TIMEOUT_MS
    )
    offer = replies(page).last
    assert offer.locator(".rk-text").inner_text() == conversation.pending.question
    done = replies(page).count()
    page.get_by_role("group", name=conversation.pending.question).get_by_role(
        "button", name="Yes"
    ).click()
    answer = replies(page).nth(done).locator(".rk-text").inner_text()
    assert answer.startswith("What is the reason for cancelling the order"), "it went on"


STREAMED = "Hello! I can help with orders, refunds and anything about your account today."


def test_model_tokens_show_while_the_model_writes_and_a_retract_removes_them(
    page_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent on OpenAIModel against the fake OpenAI server, which streams: the reply's words
    show in the bubble while the model is still answering; a stream cut off mid-way is
    retracted, and only the retried reply stays on screen."""
    import threading
    import time

    import resolvekit.models as models
    from resolvekit.models.openai import OpenAIModel, OpenAISettings
    from tests.models._openai_server import (
        FakeOpenAIServer,
        Scripted,
        sse_bytes,
        stream_chunks,
        tool_call,
    )

    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    resume = threading.Event()
    body = tool_call("reply", {"text": STREAMED})
    paused_at = len(sse_bytes(stream_chunks(body)[:14]))  # a few words in
    cut = tool_call("reply", {"text": "Your refund of 500 dollars is approved."})
    retry_text = "Which order is it about?"
    retry, resume_retry = tool_call("reply", {"text": retry_text}), threading.Event()
    with FakeOpenAIServer() as fake:
        fake.push(
            Scripted(body=body, pause_at=paused_at, pause=60, resume=resume),
            Scripted(body=cut, cut=len(sse_bytes(stream_chunks(cut))) // 2),
            Scripted(body=retry, pause_at=1, pause=60, resume=resume_retry),
        )
        settings = OpenAISettings(retry_initial=0.001, retry_max_wait=0.01, timeout=60)
        model = OpenAIModel("gpt-4.1-mini", base_url=fake.url, api_key="k", settings=settings)
        agent: rk.Agent[None] = rk.Agent(name="Acme", model=model, redaction=None, handoff=[])

        class Greet(rk.Intent):
            """Customer says hello."""

        @agent.playbook(Greet)
        async def greet(ctx: rk.Context[None], intent: Greet) -> None:
            ctx.say("Hi")

        with serve_agent(agent, None) as running:
            page = page_for(f"{running.url}/demo")
            box = page.get_by_role("textbox", name="Type your message")
            box.fill("hi")
            box.press("Enter")
            writing = page.locator(".rk-agent[aria-busy=true] .rk-text")
            writing.filter(has_text="Hello! I").wait_for()
            shown = writing.inner_text()
            assert STREAMED.startswith(shown) and shown != STREAMED  # words of it, not all
            resume.set()
            assert replies(page).last.locator(".rk-text").inner_text() == STREAMED
            box.fill("refund please")
            box.press("Enter")
            deadline = time.monotonic() + 60
            while len(fake.requests) < 3:  # the cut stream was retried; the retry waits
                assert time.monotonic() < deadline
                time.sleep(0.05)
            # The cut stream's words were shown, then retracted before the retry began.
            page.wait_for_function(
                "() => !document.querySelector('resolvekit-chat').shadowRoot"
                ".textContent.includes('refund of')"
            )
            resume_retry.set()
            replies(page).nth(1).wait_for()
            assert replies(page).last.locator(".rk-text").inner_text() == retry_text
