"""Store fixtures: each built-in store in turn; PostgreSQL tests get a table of their own on the
session's throwaway server (``postgres_url`` in ``tests/conftest.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore


def new_table() -> str:
    """A table name no other test uses."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[rk.Store]:
    """Each built-in store in turn (the PostgreSQL one on a table of its own)."""
    built: rk.Store
    if request.param == "memory":
        built = MemoryStore()
    elif request.param == "sqlite":
        built = SQLiteStore(tmp_path / "s.db")
    else:
        built = PostgresStore(request.getfixturevalue("postgres_url"), table=new_table())
    yield built
    await built.close()
