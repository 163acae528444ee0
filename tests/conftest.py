"""Test configuration: real model requests are blocked; tests use test doubles."""

from __future__ import annotations

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
