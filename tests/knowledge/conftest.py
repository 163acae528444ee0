"""Fixtures for the knowledge tests: a counting embedder and a small help-centre corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from .samples import FAQ_CSV, FAQ_JSON, REFUNDS_MD, SHIPPING_HTML, CountingEmbedder


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A help-centre folder with one file per supported format."""
    folder = tmp_path / "help"
    (folder / "billing").mkdir(parents=True)
    (folder / "billing" / "refunds.md").write_text(REFUNDS_MD)
    (folder / "shipping.html").write_text(SHIPPING_HTML)
    (folder / "faq.json").write_text(FAQ_JSON)
    (folder / "subscriptions.csv").write_text(FAQ_CSV)
    (folder / "store-hours.txt").write_text(
        "Our stores open at 9am and close at 6pm.\n\nOn Sundays we close at 4pm."
    )
    (folder / ".hidden.md").write_text("# Secret\n\nnot indexed")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    return folder
