"""The console in headless Chromium against a real uvicorn server on a free 127.0.0.1 port: log
in, open the inbox and the escalated conversation, run a suggested write with its confirmation,
reply, hand back to the bot and see the playbook continue. Screenshots go to a temporary folder,
or to ``docs/images/console-*.png`` through ``tools/screenshots.py``."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from resolvekit.console import create_app
from tests.console.support import KEY, Outbox, hand_off, shop_agent
from tests.engine.shop import Backend

T = TypeVar("T")


def shot(page: Any, name: str, folder: Path) -> None:
    """A full-page screenshot: into ``RESOLVEKIT_SCREENSHOTS`` when set (``tools/screenshots.py``
    sets it to ``docs/images``), else into the test's temporary ``folder``, so that a test run
    never rewrites the pictures in the docs."""
    target = Path(os.environ.get("RESOLVEKIT_SCREENSHOTS") or folder)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / name), full_page=True)


TIMEOUT = 60.0  # the machine is shared and loaded: generous


class LiveServer:
    """uvicorn serving an app on its own event loop in a thread; :meth:`run` runs a coroutine
    on that loop (the agent's store and locks live there)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            assert time.monotonic() < deadline, "the console server did not start"
            time.sleep(0.05)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(TIMEOUT)
        self.loop.close()


async def _make_urgent(agent: Any, conversation_id: str) -> None:
    conv = await agent.store.get(conversation_id)
    conv.handoff["priority"] = "urgent"
    await agent.store.save(conv)


@pytest.fixture
def live() -> Iterator[tuple[LiveServer, Backend, Outbox, Any]]:
    backend, outbox = Backend(), Outbox()
    agent = shop_agent(backend)
    with LiveServer(create_app(agent, api_key=KEY, reply_target=outbox)) as server:
        yield server, backend, outbox, agent
        server.run(agent.close())


def test_a_human_takes_over_runs_a_write_replies_and_hands_back(
    chromium: Any, live: tuple[LiveServer, Backend, Outbox, Any], tmp_path: Path
) -> None:
    server, backend, outbox, agent = live
    cid = server.run(hand_off(agent))
    others = [server.run(hand_off(agent, customer)) for customer in ("c-2", "c-3")]
    server.run(_make_urgent(agent, others[1]))
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT * 1000)
    try:
        page.goto(server.url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=name]", "Alice")
        page.fill("input[name=key]", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("#inbox")
        order = page.locator("tr[data-conversation]").evaluate_all(
            "rows => rows.map(row => row.dataset.conversation)"
        )
        assert order == [others[1], cid, others[0]]  # urgent first, then the longest wait
        row = page.locator(f"tr[data-conversation='{cid}']")
        assert "customer asked for a human" in row.inner_text()
        shot(page, "console-inbox.png", tmp_path)

        row.locator("a").click()
        page.wait_for_selector("#transcript")
        assert "I want to cancel order W1234567" in page.inner_text("#transcript")
        assert page.inner_text("#frustration-level") == "medium"
        assert "Refunds reach your card" in page.inner_text("#knowledge")
        shot(page, "console-conversation.png", tmp_path)

        # The suggested write: the reason is picked, the run waits for the confirm click.
        form = page.locator("form.suggestion[data-tool='cancel_order']")
        form.locator("select[name='arg.reason']").select_option("no longer needed")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#confirm")
        assert backend.writes == []
        shot(page, "console-confirm.png", tmp_path)
        page.click("#confirm-run")
        page.wait_for_selector("#flash")
        assert "cancel_order done" in page.inner_text("#flash")
        assert backend.writes == [("cancel", "W1234567")]
        assert "Alice" in page.inner_text("#actions")  # journaled under the human's name

        page.fill("#reply-text", "I've cancelled W1234567 for you; the refund takes 5 days.")
        page.click("#send-reply")
        page.wait_for_selector("#flash")
        assert "I've cancelled W1234567" in page.inner_text("#transcript")
        assert [r.human for r in outbox.sent] == ["Alice"]
        shot(page, "console-reply.png", tmp_path)

        page.click("#hand-back")
        page.wait_for_selector("#flash")
        assert "Handed back to the bot" in page.inner_text("#flash")
        assert "earlier request" in outbox.sent[-1].text

        # The customer answers the bot; the playbook continues where it stopped and finds the
        # order the human cancelled (no second write).
        assert server.run(agent.handle("c-1", "yes")).reply == "Why do you want to cancel?"
        done = server.run(agent.handle("c-1", "no longer needed"))
        assert done.outcome == "resolved" and done.reply == "Order W1234567 is cancelled."
        assert backend.writes == [("cancel", "W1234567")]
        page.reload()
        page.wait_for_selector("#transcript")
        assert "Order W1234567 is cancelled." in page.inner_text("#transcript")
        assert page.inner_text("#status") == "open"
        shot(page, "console-handed-back.png", tmp_path)
        page.goto(server.url + "/")
        page.wait_for_selector("#inbox")
        assert page.locator(f"tr[data-conversation='{cid}']").count() == 0
    finally:
        page.close()


def test_a_team_lead_approves_a_refund_in_the_approvals_pane(chromium: Any, tmp_path: Path) -> None:
    from tests.approvals.refunds import Bank, build

    bank = Bank()
    agent = build(bank)
    app = create_app(agent, api_key=KEY, roles={"Lena": "team_lead"})
    with LiveServer(app) as server:
        server.run(agent.handle("c-9", "refund CH2002"))
        page = chromium.new_page(viewport={"width": 1280, "height": 700})
        page.set_default_timeout(TIMEOUT * 1000)
        try:
            page.goto(server.url + "/login")
            page.fill("input[name=name]", "Lena")
            page.fill("input[name=key]", KEY)
            page.click("button[type=submit]")
            row = page.locator("tr[data-approval]")
            assert "refund 120 on CH2002" in row.inner_text()
            shot(page, "console-approvals.png", tmp_path)
            row.locator("input[name=note]").fill("goodwill")
            row.locator("button[value=approve]").click()
            page.wait_for_selector("#flash")
            assert "approved by Lena" in page.inner_text("#flash")
            assert bank.refunds == [("CH2002", 120.0)]
            page.wait_for_selector("#approvals-empty")
        finally:
            page.close()
            server.run(agent.close())
