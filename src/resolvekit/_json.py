"""JSON in one place: plain JSON data for any value (what journals, slots and facts store), and
the one serialiser of the library's dataclasses (a cached pydantic ``TypeAdapter`` per class)
instead of hand-written ``to_json``/``from_json`` pairs."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic_core
from pydantic import TypeAdapter

__all__ = ["detached", "dump", "jsonable", "load", "same_json"]

T = TypeVar("T")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def dump(value: Any) -> Any:
    """A dataclass (or any type pydantic knows) as plain JSON data; fields that are None are
    left out, so rows stay small and older readers keep working."""
    return _adapter(type(value)).dump_python(value, mode="json", exclude_none=True)


def load(cls: type[T], data: Any) -> T:
    """``data`` validated into ``cls`` (nested dataclasses, defaults for missing fields).

    Raises:
        pydantic.ValidationError: the data does not fit ``cls``.
    """
    value: T = _adapter(cls).validate_python(data)
    return value


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dates, decimals and other objects become their ``str``."""
    return json.loads(json.dumps(value, default=str))


def detached(data: Any) -> Any:
    """Plain JSON data sharing no list or dict with ``data``: what a playbook gets from the
    journal, so changing it in place changes neither the journal nor a replay."""
    if isinstance(data, dict | list):
        return pydantic_core.from_json(pydantic_core.to_json(data, inf_nan_mode="constants"))
    return data


def same_json(recorded: Any, asked: Any) -> bool:
    """Two values are the same JSON data (the direct comparison is enough almost always; the
    canonical text settles the rest)."""
    return recorded == asked or _canon(recorded) == _canon(asked)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
