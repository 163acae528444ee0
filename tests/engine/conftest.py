"""Every engine test runs twice: with playbooks parked in memory between turns (the default)
and with every turn replayed from the journal (what another worker or a restart does)."""

from __future__ import annotations

import pytest

import resolvekit.agent


@pytest.fixture(autouse=True, params=["parked", "replayed"])
def _playbooks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "replayed":
        monkeypatch.setattr(resolvekit.agent, "PARKED_PLAYBOOKS", 0)
    return str(request.param)
