"""A process that fits (or loads) an intent classifier from a shared cache folder (for the
concurrency test). Kept out of the test module so that ``spawn`` children import only this file.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

INTENTS = {
    "order_status": ["where is my order", "track my package", "has my order shipped yet",
                     "when will my parcel arrive", "order status please"],
    "cancel_order": ["cancel my order", "i want to cancel the order", "please cancel the purchase",
                     "stop my order before it ships", "cancel it now"],
    "reset_password": ["reset my password", "forgot my password", "can't log in, password wrong",
                       "change my password", "send a password reset link"],
    "refund": ["i want a refund", "give me my money back", "refund my purchase",
               "how do refunds work", "refund status"],
}  # fmt: skip
TEXTS = [t for examples in INTENTS.values() for t in examples]
LABELS = [label for label, examples in INTENTS.items() for _ in examples]
PROBES = ["where is my parcel", "cancel the order please", "zebra quantum violin"]


def fit_and_classify(directory: str, worker: int, rounds: int, barrier: Any, results: Any) -> None:
    """Fit the same data ``rounds`` times from ``directory`` (the first round at the same moment
    as the other workers); put ``(worker, [(labels, scores, threshold)...], None)`` on
    ``results``, or ``(worker, [], traceback)`` if anything raised."""
    outcomes: list[tuple[list[str], list[float], float]] = []
    try:
        os.environ["RESOLVEKIT_CACHE_DIR"] = directory
        from resolvekit.understanding.classifier import IntentClassifier
        from resolvekit.understanding.embedders import HashingEmbedder

        embedder = HashingEmbedder(64)
        barrier.wait(timeout=60)
        for _ in range(rounds):
            clf = IntentClassifier(embedder).fit(TEXTS, LABELS)
            _, scores = clf.scores(embedder.embed(PROBES))
            labels = [p.label for p in clf.predict(PROBES)]
            outcomes.append((labels, scores.tolist(), clf.threshold))
        results.put((worker, outcomes, None))
    except BaseException:
        results.put((worker, outcomes, traceback.format_exc()))
