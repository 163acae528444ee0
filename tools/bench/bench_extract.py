"""Throughput of the deterministic slot extractors and dialogue signals, plus worst cases.

Run: ``.venv/bin/python tools/bench/bench_extract.py`` (from the repository root).

Prints messages per second for a realistic mix of customer messages (τ²-bench-retail-like
requests written here, no data set needed) for ``extract_slots`` over a typical intent's slots and
for each signal, against a baseline measured in the same run: a plain ``str.lower().split()`` of
the same messages. It then times adversarial 10,000-character inputs, which must stay in the
same order of magnitude as ordinary text of that length (linear-time regexes).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date

from resolvekit.models import SlotSpec
from resolvekit.understanding.extract import (
    classify_yes_no,
    detect_correction,
    detect_human_request,
    detect_small_talk,
    extract_slots,
    sentiment,
)

MESSAGES = [
    "Hi, I'm Yusuf Rossi in zip code 19122 and I want to exchange order #W2378156",
    "cancel order W1234567 because I no longer need it",
    "yes please go ahead",
    "no, the other order",
    "I want to talk to a human",
    "can you reschedule it to next friday?",
    "it was $12.50 and I was charged twice!!!",
    "my email is jane.doe@example.com and phone +1 (555) 123-4567",
    "thanks, bye",
    "return 2 of the blue shirts, they arrived damaged",
    "THIS IS THE WORST SERVICE EVER",
    "the second one",
    "hmm let me think",
    "actually it's W7654321",
    "I ordered it 2 weeks ago but it still hasn't arrived",
]

SLOTS = [
    SlotSpec(
        name="order_id", kind="id", pattern=r"#?W\d{7}", json_schema={"pattern": r"^#W\d{7}$"}
    ),
    SlotSpec(name="first_name", kind="text"),
    SlotSpec(name="last_name", kind="text"),
    SlotSpec(name="zip", kind="text"),
    SlotSpec(
        name="action",
        kind="choice",
        choices=["cancel", "return", "exchange"],
        synonyms={"exchange": ["swap"]},
    ),
    SlotSpec(name="quantity", kind="integer"),
    SlotSpec(name="date", kind="date"),
    SlotSpec(name="amount", kind="money"),
    SlotSpec(name="email", kind="email"),
    SlotSpec(name="phone", kind="phone"),
    SlotSpec(name="reason", kind="text"),
]

TODAY = date(2026, 3, 4)


def rate(fn: Callable[[str], object], messages: list[str], seconds: float = 1.0) -> float:
    """Messages per second (median of 3 runs of about ``seconds / 3`` each)."""
    rates = []
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for message in messages:
                fn(message)
            count += len(messages)
        rates.append(count / elapsed)
    return statistics.median(rates)


def main() -> None:
    baseline = rate(lambda m: m.lower().split(), MESSAGES)
    print(f"baseline str.lower().split(): {baseline:,.0f} msg/s")
    cases: list[tuple[str, Callable[[str], object]]] = [
        ("extract_slots (11 slots)", lambda m: extract_slots(m, SLOTS, today=TODAY)),
        ("classify_yes_no", classify_yes_no),
        ("detect_human_request", detect_human_request),
        ("detect_small_talk", detect_small_talk),
        ("sentiment", sentiment),
        ("detect_correction", detect_correction),
    ]
    for name, fn in cases:
        r = rate(fn, MESSAGES)
        print(f"{name:28s} {r:>10,.0f} msg/s   ({baseline / r:,.0f}x slower than baseline)")

    print("\nworst cases, 10,000 characters, extract_slots + all signals (ms):")
    ordinary = ("cancel order W1234567 because it broke. " * 250)[:10_000]
    adversarial = {
        "ordinary text": ordinary,
        "one long word": "a" * 10_000,
        "one long number": "1" * 10_000,
        "slashes": "1/" * 5_000,
        "dashes": "-" * 10_000,
        "at signs": "a@" * 5_000,
        "dollar signs": "$" * 9_999 + "5",
        "number words": "twenty one thousand " * 500,
        "typos": "cancle " * 1_428,
        "ids": "W1234567 " * 1_111,
        "yes": "yes " * 2_500,
    }
    timings = {}
    for name, text in adversarial.items():
        start = time.perf_counter()
        extract_slots(text, SLOTS, today=TODAY)
        for _, fn in cases[1:]:
            fn(text)
        timings[name] = (time.perf_counter() - start) * 1000
    for name, ms in timings.items():
        ratio = ms / timings["ordinary text"]
        print(f"  {name:18s} {ms:8.1f} ms   ({ratio:.1f}x ordinary text)")


if __name__ == "__main__":
    main()
