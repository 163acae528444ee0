"""Fixtures for the knowledge tests: a counting embedder and a small help-centre corpus."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from knowledge_samples import FAQ_CSV, FAQ_JSON, REFUNDS_MD, SHIPPING_HTML

from resolvekit.understanding.embedders import HashingEmbedder


class CountingEmbedder:
    """HashingEmbedder that counts how many texts it embedded (to test incremental indexing)."""

    def __init__(self, dim: int = 256) -> None:
        self.inner = HashingEmbedder(dim)
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def texts(self) -> int:
        return sum(len(call) for call in self.calls)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


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
