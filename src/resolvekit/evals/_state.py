"""Backend state helpers: snapshots as plain data, merging expectations, diffs, text matching."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .._text import normalize

__all__ = ["DiffEntry", "diff_states", "merge_state", "says", "to_data"]


def to_data(value: Any) -> Any:
    """A JSON-compatible copy of ``value``: dataclasses, pydantic models, sets and enums included.

    Mapping keys become strings; sets become sorted lists; anything else unknown becomes its
    ``repr`` so that two snapshots can always be compared.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, BaseModel):
        return to_data(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [to_data(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    if isinstance(value, enum.Enum):
        return to_data(value.value)
    return repr(value)


def merge_state(base: Any, patch: Any) -> Any:
    """``patch`` laid over ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge_state(base[key], value) if key in base else to_data(value)
        return merged
    return to_data(patch)


class DiffEntry(BaseModel):
    """One place where the end state differs from what was expected."""

    model_config = ConfigDict(frozen=True)

    path: str
    """Dotted path (``orders.W1234567.status``; list items as ``items[2]``); ``""`` is the root."""
    expected: Any
    actual: Any
    kind: Literal["changed", "missing", "unexpected"]
    """``changed``, ``missing`` (expected but absent) or ``unexpected`` (present, not expected)."""


def diff_states(expected: Any, actual: Any, path: str = "") -> list[DiffEntry]:
    """Every difference between two plain-data states, deepest paths first found first.

    Parts that are the same object are equal and skipped without being walked, so two states
    sharing their unchanged parts compare in time proportional to what differs.
    """
    if expected is actual:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        if expected == actual:  # compared in C, shared parts by identity: no walk needed
            return []
        entries: list[DiffEntry] = []
        for key, want in expected.items():
            if key not in actual:
                sub = f"{path}.{key}" if path else str(key)
                entries.append(DiffEntry(path=sub, expected=want, actual=None, kind="missing"))
                continue
            got = actual[key]
            if got is not want:
                entries.extend(diff_states(want, got, f"{path}.{key}" if path else str(key)))
        if actual.keys() <= expected.keys():
            return entries
        for key in actual:
            if key not in expected:
                sub = f"{path}.{key}" if path else str(key)
                entries.append(
                    DiffEntry(path=sub, expected=None, actual=actual[key], kind="unexpected")
                )
        return entries
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        entries = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            entries.extend(diff_states(want, got, f"{path}[{index}]"))
        return entries
    if expected == actual:
        return []
    return [DiffEntry(path=path, expected=expected, actual=actual, kind="changed")]


def says(haystack: str, fact: str) -> bool:
    """True when ``fact`` appears in ``haystack`` as whole words, after
    :func:`~resolvekit._text.normalize`."""
    wanted = normalize(fact)
    if not wanted:
        return True
    return f" {wanted} " in f" {normalize(haystack)} "
