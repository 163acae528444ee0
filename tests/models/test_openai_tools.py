"""The turn's functions: derived from the request, validated, mapped to one decision.

About internals: these tests also check private helpers directly
(``resolvekit.models._openai_tools``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from resolvekit.exceptions import UserError
from resolvekit.messages import CallTool, FillSlots, Reply, StartIntent
from resolvekit.models import (
    DecisionKind,
    IntentSpec,
    ModelRequest,
    Pending,
    SlotSpec,
    ToolSpec,
)
from resolvekit.models._openai_tools import InvalidCall, build_toolset, span_probability

COLOR = SlotSpec(name="color", choices=["red", "blue"], ask="Which colour?")
QTY = SlotSpec(name="quantity", json_schema={"type": "integer", "minimum": 1})
EXCHANGE = IntentSpec(
    name="ExchangeItem", description="Swap an item.", examples=["swap it"], slots=[COLOR, QTY]
)


def request(**kw: object) -> ModelRequest:
    kw.setdefault("intents", [EXCHANGE])
    return ModelRequest(**kw)  # type: ignore[arg-type]


def test_intent_function_has_the_slots_as_optional_parameters() -> None:
    toolset = build_toolset(request(allowed=frozenset({"start_intent"})))
    function = toolset.functions["start_exchange_item"]
    params = function.parameters
    assert set(params["properties"]) == {"color", "quantity", "confidence"}
    assert params["properties"]["color"] == {
        "type": "string",
        "enum": ["red", "blue"],
        "description": "Which colour?",
    }
    assert params["properties"]["quantity"] == {"type": "integer", "minimum": 1}
    assert "required" not in params
    assert params["additionalProperties"] is False
    assert "Swap an item." in function.description
    assert "'swap it'" in function.description
    parsed = toolset.parse("start_exchange_item", '{"color": "red", "quantity": null}')
    assert parsed.decision == StartIntent(intent="ExchangeItem", slots={"color": "red"})
    assert parsed.confidence is None


def test_schema_violations_and_unknown_functions() -> None:
    toolset = build_toolset(request(allowed=frozenset({"start_intent", "reply"})))
    with pytest.raises(InvalidCall, match=r"quantity.*less than the minimum"):
        toolset.parse("start_exchange_item", '{"quantity": 0}')
    with pytest.raises(InvalidCall, match="'green' is not one of"):
        toolset.parse("start_exchange_item", '{"color": "green"}')
    with pytest.raises(InvalidCall, match="Additional properties"):
        toolset.parse("start_exchange_item", '{"size": "L"}')
    with pytest.raises(InvalidCall, match="'text' is a required property"):
        toolset.parse("reply", "{}")
    with pytest.raises(InvalidCall, match="must be a JSON object"):
        toolset.parse("reply", "[1]")
    with pytest.raises(InvalidCall, match="Call exactly one of: start_exchange_item, reply"):
        toolset.parse("start_refund", "{}")
    with pytest.raises(InvalidCall, match="confidence must be a number"):
        toolset.parse("reply", '{"text": "x", "confidence": "high"}')


def test_fill_slots_offers_the_pending_slot_and_the_active_intents_slots() -> None:
    extra = SlotSpec(name="note", json_schema={"type": "string"})
    toolset = build_toolset(
        request(
            allowed=frozenset({"fill_slots"}),
            active_intent="ExchangeItem",
            pending=Pending(kind="ask", question="Any note?", slot=extra),
        )
    )
    function = toolset.functions["fill_slots"]
    assert set(function.parameters["properties"]) == {"color", "quantity", "note", "confidence"}
    assert "'Any note?'" in function.description
    assert toolset.parse("fill_slots", '{"quantity": 2}').decision == FillSlots(
        slots={"quantity": 2}
    )
    with pytest.raises(InvalidCall, match="at least one value"):
        toolset.parse("fill_slots", '{"confidence": 0.9}')


def test_agent_tools_keep_their_names_unless_they_clash() -> None:
    tools = [
        ToolSpec(
            name="reply",
            parameters={"type": "object", "properties": {"confidence": {"type": "string"}}},
        ),
        ToolSpec(name="lookup order!", effect="write"),
    ]
    toolset = build_toolset(request(allowed=frozenset({"reply", "call_tool"}), tools=tools))
    assert list(toolset.functions) == ["reply", "reply_2", "lookup_order_"]
    assert toolset.tool_function("reply") == "reply_2"
    assert "Changes data" in toolset.functions["lookup_order_"].description
    # The tool has its own "confidence" parameter: it is passed through, not self-assessment.
    parsed = toolset.parse("reply_2", '{"confidence": "low"}')
    assert parsed.decision == CallTool(tool="reply", args={"confidence": "low"})
    assert parsed.confidence is None
    assert toolset.parse("reply", '{"text": "hi", "confidence": 0.5}').decision == Reply(text="hi")


def test_invalid_developer_schemas_are_user_errors() -> None:
    bad_slot = IntentSpec(name="X", slots=[SlotSpec(name="s", json_schema={"type": "nope"})])
    with pytest.raises(UserError, match="slot 's'"):
        build_toolset(request(allowed=frozenset({"start_intent"}), intents=[bad_slot]))
    bad_tool = ToolSpec(name="t", parameters={"type": 5})
    with pytest.raises(UserError, match="tool 't'"):
        build_toolset(request(allowed=frozenset({"call_tool"}), tools=[bad_tool]))


def test_nothing_outside_allowed_is_offered() -> None:
    toolset = build_toolset(
        request(
            allowed=frozenset({"confirm"}),
            tools=[ToolSpec(name="t")],
            pending=Pending(kind="confirm", question="Proceed?"),
        )
    )
    assert list(toolset.functions) == ["confirm"]
    assert toolset.functions["confirm"].description == "The customer's answer to 'Proceed?'."


def test_span_probability_sums_the_covering_tokens() -> None:
    tokens = [("ab", -0.1), ("cd", -0.2), ("ef", -0.4)]
    assert span_probability(tokens, 1, 3) == pytest.approx(math.exp(-0.3))  # "bc"
    assert span_probability(tokens, 2, 4) == pytest.approx(math.exp(-0.2))  # "cd"
    assert span_probability(tokens, 10, 12) is None


# --- the whole toolset, byte for byte -----------------------------------------------------------

SNAPSHOT = Path(__file__).parent / "snapshots" / "toolset.json"

_ALL_KINDS: frozenset[DecisionKind] = frozenset(
    {
        "start_intent",
        "fill_slots",
        "confirm",
        "answer_from_knowledge",
        "ask_clarification",
        "call_tool",
        "escalate",
        "reply",
    }
)


def _snapshot_requests() -> dict[str, ModelRequest]:
    """Requests that reach every branch of ``build_toolset``."""
    note = SlotSpec(name="note", description="Anything else.", json_schema={"type": "string"})
    size = SlotSpec(name="size", choices=["S", "M"], json_schema={"enum": ["S", "M", "L"]})
    refund = IntentSpec(
        name="refund request", examples=["money back", "refund it", "return", "a fourth"]
    )
    tools = [
        ToolSpec(
            name="get_order",
            description="Look up an order.",
            parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
        ),
        ToolSpec(name="cancel order!", parameters={}, effect="write", confirm=True),
        ToolSpec(
            name="reply",
            description="A tool that clashes with a built-in.",
            parameters={"properties": {"confidence": {"type": "string"}}},
        ),
    ]
    intents = [EXCHANGE, refund, IntentSpec(name="Sizes", slots=[size])]
    return {
        "everything, waiting for a slot": ModelRequest(
            allowed=_ALL_KINDS,
            intents=intents,
            tools=tools,
            active_intent="ExchangeItem",
            pending=Pending(kind="ask", question="Any note?", slot=note),
        ),
        "everything, nothing pending": ModelRequest(
            allowed=_ALL_KINDS, intents=intents, tools=tools, active_intent="ExchangeItem"
        ),
        "confirmation pending, no active intent": ModelRequest(
            allowed=_ALL_KINDS,
            intents=intents,
            pending=Pending(kind="confirm", question="Cancel W1?"),
        ),
    }


def _snapshot() -> str:
    snapshot: dict[str, Any] = {}
    for label, req in _snapshot_requests().items():
        toolset = build_toolset(req)
        snapshot[label] = {
            "openai": toolset.to_openai(),
            "functions": {
                name: [f.kind, f.target, f.self_assessed] for name, f in toolset.functions.items()
            },
            "tool_names": toolset.tool_names,
        }
    return json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n"


def test_toolset_matches_the_snapshot_byte_for_byte() -> None:
    """Every function offered, in order, with every key in order: a refactoring of
    ``build_toolset`` must not change one byte of what the model is sent."""
    assert _snapshot() == SNAPSHOT.read_text(encoding="utf-8")
