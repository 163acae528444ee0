"""Snapshots, expected-state merging, diffs and fact matching.

About internals: these tests also check private helpers directly (``resolvekit._text``,
``resolvekit.evals._state``).
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import random
from typing import Any

import pytest
from pydantic import BaseModel

from resolvekit._text import normalize
from resolvekit.evals._state import diff_states, merge_state, says, to_data
from resolvekit.evals.scoring import missing_facts


class Colour(enum.Enum):
    RED = "red"


class Item(BaseModel):
    name: str


@dataclasses.dataclass
class Backend:
    items: list[Item]
    seen: set[str]
    colour: Colour


def test_to_data_converts_dataclasses_models_sets_and_enums() -> None:
    data = to_data(Backend(items=[Item(name="lamp")], seen={"b", "a"}, colour=Colour.RED))
    assert data == {"items": [{"name": "lamp"}], "seen": ["a", "b"], "colour": "red"}


def test_merge_state_patches_mappings_and_replaces_the_rest() -> None:
    base = {"orders": {"W1": {"status": "pending", "item": "lamp"}}, "refunds": [1]}
    merged = merge_state(base, {"orders": {"W1": {"status": "cancelled"}}, "refunds": []})
    assert merged == {"orders": {"W1": {"status": "cancelled", "item": "lamp"}}, "refunds": []}
    assert base["orders"]["W1"]["status"] == "pending"  # the base is not modified


def test_diff_states_names_each_path_and_kind() -> None:
    expected = {
        "orders": {"W1": {"status": "cancelled"}, "W2": {"status": "pending"}},
        "log": [1, 2],
    }
    actual = {"orders": {"W1": {"status": "pending"}, "W3": {}}, "log": [1, 3]}
    entries = {
        (d.path, d.kind, str(d.expected), str(d.actual)) for d in diff_states(expected, actual)
    }
    assert entries == {
        ("orders.W1.status", "changed", "cancelled", "pending"),
        ("orders.W2", "missing", "{'status': 'pending'}", "None"),
        ("orders.W3", "unexpected", "None", "{}"),
        ("log[1]", "changed", "2", "3"),
    }
    assert diff_states(expected, expected) == []


def test_lists_of_different_length_differ_as_a_whole() -> None:
    (entry,) = diff_states({"refunds": []}, {"refunds": [{"amount": 5}]})
    assert (entry.path, entry.expected, entry.actual) == ("refunds", [], [{"amount": 5}])


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Refund of $1,250.00 -- issued!", "refund of 1250 issued"),
        ("Order W0012 has SHIPPED.", "order w0012 has shipped"),
        ("0.50 and 007 and 3.10", "0.5 and 7 and 3.1"),
        ("tracking_number: 1Z999", "tracking number 1z999"),
    ],
)
def test_normalize(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_says_matches_whole_words_after_normalisation() -> None:
    assert says("I've refunded $25.00 for order W1004.", "$25")
    assert says("I've refunded $25.00 for order W1004.", "25.00")
    assert says("Your order has ALREADY shipped!", "already shipped")
    assert not says("I've refunded $250 for order W1004.", "25")
    assert not says("It shipped", "already shipped")


def _walked_diff(expected: Any, actual: Any, path: str = "") -> list[tuple[str, str, Any, Any]]:
    """diff_states as it was before it skipped shared parts: every key walked."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        entries = []
        for key in expected:
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                entries.append((sub, "missing", expected[key], None))
            else:
                entries.extend(_walked_diff(expected[key], actual[key], sub))
        for key in actual:
            if key not in expected:
                sub = f"{path}.{key}" if path else str(key)
                entries.append((sub, "unexpected", None, actual[key]))
        return entries
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        entries = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            entries.extend(_walked_diff(want, got, f"{path}[{index}]"))
        return entries
    return [] if expected == actual else [(path, "changed", expected, actual)]


def _state(rng: random.Random, depth: int = 0) -> Any:
    if depth > 3 or rng.random() < 0.25:
        return rng.choice([None, True, 0, 1, 1.5, "a", "b", ""])
    if rng.random() < 0.6:
        return {rng.choice("uvwxyz"): _state(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_state(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def _mutated(rng: random.Random, value: Any) -> Any:
    """``value`` with a few parts changed, added or removed; the rest shared, not copied."""
    if isinstance(value, dict):
        out = dict(value)  # unchanged parts are the same objects: the snapshot fast path
        for key in list(out):
            roll = rng.random()
            if roll < 0.15:
                del out[key]
            elif roll < 0.45:
                out[key] = _mutated(rng, out[key])
        if rng.random() < 0.2:
            out[rng.choice("uvwxyz")] = _state(rng, 2)
        return out
    if isinstance(value, list) and value and rng.random() < 0.7:
        return [_mutated(rng, item) if rng.random() < 0.4 else item for item in value]
    return _state(rng, 3) if rng.random() < 0.5 else value


def test_diff_states_skipping_shared_parts_finds_what_a_full_walk_finds() -> None:
    rng = random.Random(7)
    for _ in range(400):
        expected = _state(rng)
        for actual in (_mutated(rng, expected), copy.deepcopy(expected), _state(rng)):
            found = [(d.path, d.kind, d.expected, d.actual) for d in diff_states(expected, actual)]
            assert found == _walked_diff(expected, actual)


def test_missing_facts_is_every_fact_the_agent_did_not_say() -> None:
    texts = ["Refund of $1,250.00 issued.", "Your order W0012 has SHIPPED", "", "0.50 and 007"]
    facts = ["1250", "$1,250", "order w0012", "shipped!", "125", "0.5", "7", "", "...", "0.500"]
    facts += ["issued your", "SHIPPED 0.50", "refund", "W001", "and 007"]
    said = "\n".join(texts)
    assert missing_facts(facts, texts) == [f for f in facts if not says(said, f)]
    assert missing_facts(facts, []) == [f for f in facts if not says("", f)]
