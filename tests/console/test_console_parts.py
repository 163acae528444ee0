"""The console's parts without the web: suggestions from a playbook's code, the frustration
signal, the service's refusals and the CLI's key handling."""

from __future__ import annotations

from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.console import Console, ConsoleRefusal, frustration
from resolvekit.console.suggest import playbook_tools, suggest
from resolvekit.messages import Message
from resolvekit.sessions import Conversation, PlaybookRun, Step
from tests.console.support import Outbox, hand_off, shop_agent
from tests.engine.shop import Backend


def test_playbook_tools_are_read_from_its_code_and_helpers_in_source_order() -> None:
    agent: rk.Agent[None] = rk.Agent(model="test", store="memory://")

    @agent.tool(effect="read")
    def lookup(order_id: str) -> str:
        """Look up."""
        return order_id

    @agent.tool(effect="write", confirm=True)
    def refund(order_id: str, amount: float) -> str:
        """Refund."""
        return order_id

    @agent.tool(effect="read")
    def unused(x: str) -> str:
        """Never called by the playbook."""
        return x

    async def helper(ctx: rk.Context[None], order_id: str) -> None:
        await ctx.call("notify_later", order_id=order_id)

    @agent.tool(effect="write")
    def notify_later(order_id: str) -> str:
        """Notify."""
        return order_id

    async def playbook(ctx: rk.Context[None], intent: rk.Intent) -> rk.PlaybookOutcome:
        await ctx.call(lookup, order_id="W1")
        await ctx.call(refund, order_id="W1", amount=1.0)
        await helper(ctx, "W1")
        return ctx.resolve("ok")

    assert playbook_tools(playbook, agent.tools) == ["lookup", "refund", "notify_later"]


def test_suggestions_fill_arguments_and_mark_the_next_step() -> None:
    backend = Backend()
    agent = shop_agent(backend)
    conv = Conversation.new("c", "chat")
    run = PlaybookRun(id="r", intent="CancelOrder", slots={"order_id": "W1234567"})
    run.journal.append(Step(index=0, kind="call", key="get_order", args={"order_id": "W1234567"}))
    conv.runs.append(run)
    conv.facts["reason"] = "ordered by mistake"
    found = suggest(conv, agent.playbooks, agent.tools)
    assert [(s.tool, s.done, s.next, s.missing) for s in found] == [
        ("get_order", True, False, []),
        ("cancel_order", False, True, []),
    ]
    assert found[1].args == {"order_id": "W1234567", "reason": "ordered by mistake"}
    assert found[1].effect == "write" and found[1].confirm
    assert suggest(Conversation.new("c", "chat"), agent.playbooks, agent.tools) == []


def _conversation(*lines: tuple[str, str]) -> Conversation:
    conv = Conversation.new("c", "chat")
    conv.transcript = [Message(role=role, text=text) for role, text in lines]  # type: ignore[arg-type]
    return conv


def test_frustration_counts_what_the_engine_recorded() -> None:
    calm = _conversation(("customer", "cancel my order please"), ("agent", "Which order?"))
    assert (frustration(calm).level, frustration(calm).points) == ("low", 0)
    upset = _conversation(
        ("customer", "cancel my order"),
        ("agent", "Which order?"),
        ("customer", "This is RIDICULOUS"),
        ("agent", "Which order?"),
        ("customer", "cancel my order!"),
    )
    upset.counters["clarifications"] = 2
    found = frustration(upset)
    assert found.points == 4 and found.level == "high"
    assert found.reasons == [
        "1 message(s) with negative words: ridiculous",
        "the customer repeated themselves 1 time(s)",
        "the agent asked the same question again 1 time(s)",
        "2 clarification(s) or failed tool call(s)",
    ]
    declined = _conversation(("customer", "no"))
    run = PlaybookRun(id="r", intent="X", status="refused")
    run.journal.append(Step(index=0, kind="confirm", key="Cancel?", result=False))
    declined.runs.append(run)
    assert frustration(declined).points == 2  # a refusal and a "no"


async def test_the_service_refuses_what_it_cannot_do_and_changes_nothing() -> None:
    backend = Backend()
    agent = shop_agent(backend)
    outbox = Outbox()
    console = Console(agent, reply_target=outbox)
    with pytest.raises(ConsoleRefusal) as missing:
        await console.view("nope")
    assert missing.value.code == "not_found"
    await agent.handle("c-open", "I want to cancel order W1234567")
    open_id = (await agent.conversation("c-open")).id  # type: ignore[union-attr]
    for attempt in (
        console.reply(open_id, "hello", human="alice"),
        console.hand_back(open_id, human="alice"),
        console.run_tool(open_id, "get_order", {"order_id": "W1"}, human="a", request="r"),
    ):
        with pytest.raises(ConsoleRefusal) as refused:
            await attempt
        assert refused.value.code == "not_handed_off"
    assert outbox.sent == []
    cid = await hand_off(agent, "c-2")
    with pytest.raises(ConsoleRefusal, match="limit is 4000"):
        await console.reply(cid, "x" * 4001, human="alice")
    broken = Console(agent, reply_target=lambda reply: 1 / 0)
    problem = await broken.reply(cid, "are you there?", human="bob")
    assert problem is not None and "ZeroDivisionError" in problem
    conv = await agent.store.get(cid)
    assert conv is not None and conv.transcript[-1].text == "are you there?"  # kept


def test_the_cli_refuses_a_bad_reply_target() -> None:
    from resolvekit.cli import main

    assert main(["console", "examples.order_support:agent", "--reply-target", "nocolon"]) == 1


def test_the_cli_refuses_a_bad_role() -> None:
    from resolvekit.cli import main

    assert main(["console", "examples.order_support:agent", "--role", "lena"]) == 1


def test_resolvekit_console_serves_the_login_page(tmp_path: Path) -> None:
    """The command really serves: started as a process on a free port, it answers /login and
    refuses the inbox without a session."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "resolvekit.cli", "console", "examples.order_support:agent",
         "--port", str(port), "--api-key", "a-long-console-key"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90  # a loaded machine
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
                    assert "Console key" in page.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "resolvekit console did not start"
                time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/")
        with urllib.request.urlopen(request, timeout=5) as inbox:
            assert inbox.url.endswith("/login")  # redirected: no session
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()  # type: ignore[union-attr]
