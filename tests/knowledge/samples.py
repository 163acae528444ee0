"""Sample help-centre content and a counting embedder shared by the knowledge tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from resolvekit.understanding.embedders import HashingEmbedder

REFUNDS_MD = """---
title: Refund policy
owner: billing-team
reviewed_at: 2024-01-10
review_by: 2030-01-10
product: payments
---
# Refund policy

Refunds go back to the original payment method.

## Timing

Card refunds take 5 to 10 business days to appear on your statement.

## Eligibility

Items can be returned within 30 days of delivery. Opened software cannot be refunded.
"""

SHIPPING_HTML = """<html><head><title>Shipping | Help</title><style>.x{color:red}</style></head>
<body><nav><a href="/">Home</a> <a href="/help">Help centre menu</a></nav>
<h1>Shipping</h1><p>We ship to 40 countries.</p>
<h2>Delivery times</h2><p>Standard delivery takes 3 to 5 days. Express delivery takes 1 day.</p>
<script>track("shipping")</script>
<footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>
"""

FAQ_JSON = """[
  {"id": "faq-password", "question": "How do I reset my password?",
   "answer": "Click 'Forgot password' on the sign-in page and follow the emailed link."},
  {"id": "faq-agent-override", "question": "How do I override a refund limit?",
   "answer": "Agents approve overrides in the back office under Refunds > Limits.",
   "audience": "agent"},
  {"question": "Do you ship to Canada?", "answer": ["Yes.", "Duties are paid on delivery."],
   "locale": "en-CA"}
]
"""

FAQ_CSV = """question,answer,product
How do I cancel my subscription?,Go to Settings > Plan and choose Cancel.,subscriptions
Can I pause my subscription?,"Yes, for up to three months from Settings > Plan.",subscriptions
"""


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


def planted_vectors(
    n: int, *, dim: int = 64, per_topic: int = 20, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Unit vectors with a planted structure, and queries near known rows.

    Rows come in topics of ``per_topic`` around random centres (cosine to the centre about 0.7,
    to a topic sibling about 0.5, to anything else about 0), all shifted by one common direction
    (as sentence embeddings are). Each query is a noisy copy of one row (cosine about 0.8).
    Returns ``(rows, queries, target row of each query)``.
    """
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(dim) / np.sqrt(dim)
    centres = rng.standard_normal((max(1, n // per_topic), dim)) / np.sqrt(dim)
    topic = np.arange(n) % len(centres)
    rows = 0.5 * common + centres[topic] + rng.standard_normal((n, dim)) / np.sqrt(dim)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    targets = rng.choice(n, size=min(n, 200), replace=False).astype(np.int64)
    queries = rows[targets] + 0.75 * rng.standard_normal((len(targets), dim)) / np.sqrt(dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return rows.astype(np.float32), queries.astype(np.float32), targets
