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
