"""The terminal chat: a person talks to an agent and asks /why."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.chat import chat, load_agent
from resolvekit.cli import main

from ..engine.shop import Backend, build_agent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "order_support.py"


def _reader(lines: list[str]) -> Iterator[str]:
    yield from lines


async def test_chat_shows_replies_and_explains_the_last_turn() -> None:
    backend = Backend()
    model = rk.ScriptedModel(
        [
            rk.StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"}),
            rk.FillSlots(slots={"reason": "ordered by mistake"}),
            rk.Confirm(answer="yes"),
        ]
    )
    agent = build_agent(backend, model)
    lines = iter(["cancel W1234567", "/why", "/channel voice", "by mistake", "", "never read"])
    out: list[str] = []
    results = await chat(agent, customer_id="c", read=lambda _: next(lines), write=out.append)
    assert [r.reply for r in results] == ["Why do you want to cancel?", "Cancel order W1234567?"]
    why = out[2]
    assert "model -> start_intent" in why and "slots: order_id='W1234567'" in why
    assert out[3] == "(now on voice)"
    conversation = await agent.conversation("c")
    assert conversation is not None
    assert [m.channel for m in conversation.transcript if m.role == "customer"] == ["chat", "voice"]


async def test_chat_explains_tool_calls_and_escalations() -> None:
    model = rk.ScriptedModel(
        [
            rk.StartIntent(
                intent="CancelOrder", slots={"order_id": "W5555555", "reason": "ordered by mistake"}
            )
        ]
    )
    agent = build_agent(Backend(), model)
    lines = iter(["cancel W5555555", "/why"])
    out: list[str] = []

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    await chat(agent, customer_id="c", read=read, write=out.append)
    assert out[2] == "(handed over: order already shipped)"
    assert 'tool get_order({"order_id": "W5555555"}) -> done' in out[3]
    assert "escalation: order already shipped" in out[3]


def test_load_agent_from_a_file_and_errors() -> None:
    agent = load_agent(f"{EXAMPLE}:agent")
    assert isinstance(agent, rk.Agent) and agent.name == "Shop support"
    with pytest.raises(rk.UserError, match="is not an Agent"):
        load_agent(f"{EXAMPLE}:Shop")
    with pytest.raises(rk.UserError, match="Cannot import"):
        load_agent("no.such.module:agent")
    with pytest.raises(rk.UserError, match="has no 'nothing'"):
        load_agent(f"{EXAMPLE}:nothing")


def test_load_agent_from_a_factory_and_from_a_file_inside_a_package() -> None:
    # examples/helpdesk/agent.py imports its siblings relatively and exposes build_agent().
    built = load_agent("examples/helpdesk/agent.py:build_agent")
    assert isinstance(built, rk.Agent)
    assert isinstance(load_agent("examples.helpdesk.agent:build_agent"), rk.Agent)


def test_cli_chat_runs_on_the_test_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = iter(["hello", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    # A customer of its own: the example module (and its agent's store) is shared with the
    # other tests of the session that import it.
    assert main(["chat", f"{EXAMPLE}:agent", "--model", "test", "--customer", "c-cli"]) == 0
    assert "agent> Hello! How can I help you today?" in capsys.readouterr().out


def test_piped_chat_on_the_readme_example_shows_both_sides_and_real_data() -> None:
    """The README's `resolvekit chat examples/order_support.py:agent`, with piped input: the
    example agent carries its own backend (no deps to pass), and the customer's lines appear."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "resolvekit.cli",
            "chat",
            f"{EXAMPLE}:agent",
            "--model",
            "test",
            "--customer",
            "c-1",
        ],
        input="where is my order W1000001?\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "you (chat)> where is my order W1000001?" in out
    assert "agent> Order W1000001 (desk lamp) is pending." in out
