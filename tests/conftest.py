"""Test configuration: real model requests are blocked; tests use test doubles."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import resolvekit.models


@pytest.fixture(autouse=True)
def _block_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolvekit.models, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the embedding cache of fast tests out of the user's home (slow tests share one)."""
    if "RESOLVEKIT_CACHE_DIR" not in __import__("os").environ:
        monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (the ``pgserver`` package) for the whole session; each test
    uses a table of its own. Skipped when ``pgserver`` or psycopg is not installed (the
    ``postgres`` and ``dev`` extras install both)."""
    pytest.importorskip("psycopg")
    server_module = pytest.importorskip("pgserver.postgres_server")
    # Not under pytest's basetemp: as root, pgserver runs the server as another user and opens
    # the folders above its data for it, and a concurrent pytest session resets
    # /tmp/pytest-of-root to 0700, which would lock that server out of its own data.
    pgdata = Path(tempfile.mkdtemp(prefix="resolvekit-pgdata-"))
    server = server_module.get_server(pgdata, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
