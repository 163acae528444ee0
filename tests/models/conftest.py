"""Fixtures of the OpenAI-compatible model's tests: the fake Chat Completions server, and
model requests allowed with no OpenAI settings from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _openai_server import FakeOpenAIServer

from resolvekit import models


@pytest.fixture
def allow_openai_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model requests allowed (they are refused in tests by default), and no OpenAI key, base
    URL or default model read from the environment: only what a test gives is used."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RESOLVEKIT_MODEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI Chat Completions server on 127.0.0.1, for one test."""
    with FakeOpenAIServer() as running:
        yield running
