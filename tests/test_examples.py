"""The runnable examples work offline (on the deterministic test model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("model", ["test", pytest.param("local", marks=pytest.mark.slow)])
async def test_order_support_demo_resolves_and_hands_over(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _load("order_support")
    shop = example.Shop()
    with example.agent.override(model=model):
        results = await example.demo(shop)
    outcomes = [r.outcome for r in results]
    assert outcomes.count("resolved") == 3  # status, cancellation, address change
    if model == "local":  # the hashing embedder of "test" is too weak to be sure of this one
        assert outcomes[-1] == "escalated"  # a shipped order needs a human
    assert shop.orders["W1000001"]["status"] == "cancelled"
    assert shop.orders["W2000001"]["address"] == "221B Baker Street, London NW1 6XE"
    assert shop.orders["W1000002"]["status"] == "shipped"
    assert "W1000001: cancelled" in capsys.readouterr().out


async def test_connected_support_demo_cancels_through_an_mcp_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mcp")
    monkeypatch.setenv("ORDERS_FILE", str(tmp_path / "orders.json"))
    example = _load("connected_support")
    results = await example.demo("test")
    assert [r.outcome for r in results] == ["awaiting_customer", "resolved"]
    import json

    orders = json.loads((tmp_path / "orders.json").read_text())
    assert orders["orders"]["W1000001"]["status"] == "cancelled"
    assert "orders.cancel_order" in capsys.readouterr().out


async def test_console_demo_seeds_handoffs_the_inbox_lists() -> None:
    example = _load("console_demo")
    from resolvekit.console import Console

    agent = example.order_support.agent
    shop = example.order_support.Shop()
    with agent.override(model="test"):
        results = await example.seed(agent, shop)
    assert [r.outcome for r in results] == ["escalated", "escalated"]
    items = await Console(agent).inbox()
    assert sorted(i.customer_id for i in items) == ["c-1", "c-2"]
    assert {i.frustration.level for i in items if i.customer_id == "c-1"} == {"medium"}


async def test_refund_approvals_demo_waits_for_the_team_lead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _load("refund_approvals")
    decided = await example.demo(tmp_path, "test")
    assert [d.approval.approver for d in decided] == ["ana"]
    assert decided[0].result.outcome == "resolved" and decided[0].notified
    out = capsys.readouterr().out
    assert "needs approval by a team_lead" in out
    assert "refunds made: ['CH1001', 'CH2002']" in out


async def test_helpdesk_webhook_demo_delivers_once_after_the_outage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _load("helpdesk_webhook")
    receiver = await example.demo(tmp_path)
    [packet] = receiver.packets.values()
    assert packet["reason"] == "wants a manager" and packet["customer_id"] == "jane@example.com"
    out = capsys.readouterr().out
    assert "waiting: 1" in out and "delivered 1; the receiver has 1" in out
