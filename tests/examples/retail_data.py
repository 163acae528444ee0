"""Shared set-up for the retail example tests: the τ²-bench data, or a clear skip."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from examples.retail.db import DataMissing, RetailDB, data_dir, load_db


@cache
def _data() -> str | None:
    try:
        return str(data_dir())
    except DataMissing as exc:
        return str(exc)


def require_data() -> None:
    """Skip the calling module when the τ²-bench retail data is not there."""
    try:
        data_dir()
    except DataMissing as exc:
        pytest.skip(f"τ²-bench retail data missing: {exc}", allow_module_level=True)


def fresh_db() -> RetailDB:
    """A new copy of the database (cheap: the parsed original is cached)."""
    return load_db()


@cache
def tasks() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((data_dir() / "tasks_train.json").read_text())
    return data
