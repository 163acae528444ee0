"""examples/http_service.py runs offline: JSON, a stream, a retry, the conversation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "http_service.py"


async def test_the_http_example(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example loads examples/order_support.py's agent, whose memory store and shop live as
    # long as the module: another test (the console demo) may have talked to customer c-1 in it.
    monkeypatch.delitem(sys.modules, "examples.order_support", raising=False)
    spec = importlib.util.spec_from_file_location("example_http_service", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    seen = await module.demo("test")
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "json" and seen[0][1]["options"] == ["yes", "no"]
    assert kinds[1:-2] == ["tool_started", "tool_finished", "delta", "done"]
    assert seen[1][1]["tool"] == "cancel_order"
    assert dict(seen)["done"]["outcome"] == "resolved"
    assert dict(seen)["retry"]["duplicate"] is True
    assert len(dict(seen)["conversation"]["transcript"]) == 4
