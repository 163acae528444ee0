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


async def test_traced_support_prints_each_turns_span_tree(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    lines = await _load("traced_support").demo()
    names = [line.strip().split("  ")[0] for line in lines]
    assert names == [
        "resolvekit.turn", "chat local", "resolvekit.playbook CancelOrder",
        "execute_tool order_status",
        "resolvekit.turn", "chat local", "resolvekit.playbook CancelOrder",
        "execute_tool cancel_order",
        "resolvekit.turn", "chat local", "resolvekit.playbook CancelOrder",
        "execute_tool order_status", "resolvekit.handoff",
    ]  # fmt: skip
    printed = capsys.readouterr().out
    assert "outcome=escalated" in printed and "reason=order already shipped" in printed
