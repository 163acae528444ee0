"""Snapshots, expected-state merging, diffs and fact matching.

About internals: these tests also check private helpers directly (``resolvekit._text``,
``resolvekit.evals._state``).
"""

from __future__ import annotations

import dataclasses
import enum

import pytest
from pydantic import BaseModel

from resolvekit._text import normalize
from resolvekit.evals._state import diff_states, merge_state, says, to_data


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
