"""A throwaway PostgreSQL server (from the ``pgserver`` package) for the PostgresStore tests.

One server per test session, in a temporary directory; each test gets its own table. The tests
that need it are skipped when ``pgserver`` or psycopg is not installed (``pip install -e
".[postgres,dev]"`` installs both).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore


def new_table() -> str:
    """A table name no other test uses."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("psycopg")
    server_module = pytest.importorskip("pgserver.postgres_server")
    server = server_module.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


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
