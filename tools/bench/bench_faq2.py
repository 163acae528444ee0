"""A second FAQ benchmark the ranking was never tuned on: intent-data sets turned into FAQs.

The library's ranking (``DEFAULT_FUSION``, the threshold) was chosen on StackFAQ only. This
benchmark checks it on FAQ sets built *mechanically* from public intent data, with no choice
made by looking at the results:

- ``banking77`` (default): each of the 77 BANKING77 categories is one FAQ entry. The question is
  the category name in words (``card_arrival`` -> "Card arrival"), the answer a fixed template
  naming it ("This article is about card arrival. It explains card arrival and what to do
  next; contact support if you still need help with card arrival."). The queries are the 3,080
  real customer messages of ``test.csv``; each must retrieve its category's entry.
- ``clinc150``: the 150 CLINC150 intents the same way; queries are the 4,500 in-scope ``test``
  utterances.
- ``--answers examples``: each answer also holds the intent's first three *training* utterances
  ("Customers ask: ... | ... | ..."), so the body says more than the question, as real FAQ
  answers do (the queries are test utterances: none of them is in an answer). Both kinds of
  answer run by default.

With ``--set all`` (the default) StackFAQ runs last the same way (split by thread as in
``bench_knowledge.py``), to show what ``calibrate()`` chooses on the set the defaults came from.

Entries are short and generic, and share a boilerplate answer: the situation in which issue 15
saw the default ranking trail plain dense cosine over question + answer (a short generic FAQ the
top hit for many unrelated queries). Queries are split 50/50 *within each entry* with a fixed
seed: the tune half is the labelled questions a user would give ``KnowledgeBase.calibrate()``,
and every figure is reported on the held-out half (and on all queries for untuned rows).

Rows: BM25 (body = question + answer, and question alone), plain dense cosine (body, question,
best of two; raw and centred), the library default fused score, the same through
``KnowledgeBase.search`` end to end, and ``KnowledgeBase.search`` after ``calibrate()`` on the
tune half. Run from the repository root::

    .venv/bin/python tools/bench/bench_faq2.py                 # banking77, ~1-2 minutes
    .venv/bin/python tools/bench/bench_faq2.py --set clinc150 --seed 1

Data is read at run time from ``$RESOLVEKIT_DATA`` or ``../shared/data`` (never copied).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data
import bench_knowledge as bk  # (also puts the repository's src/ first on the path)

from resolvekit.knowledge import DEFAULT_FUSION, Document, KnowledgeBase
from resolvekit.understanding.embedders import default_embedder

ANSWER = (
    "This article is about {topic}. It explains {topic} and what to do next; "
    "contact support if you still need help with {topic}."
)


EXAMPLES = 3
"""``examples`` answers: how many training utterances (the first in file order) one holds."""


def topic(label: str) -> str:
    """An intent label in words: ``card_arrival`` -> ``card arrival``."""
    return label.replace("_", " ").strip()


def load(name: str, answers: str) -> tuple[list[Document], list[tuple[str, int]]]:
    """FAQ documents (id ``faq-<n>``, in label order) and ``(query, entry index)`` pairs."""
    if name == "banking77":
        _data.require("banking77")
        texts, labels = _data.banking77("test")
        train = _data.banking77("train")
    else:
        _data.require("clinc150")
        splits = _data.clinc150()
        texts, labels = splits["test"]
        train = splits["train"]
    names = sorted(set(labels))
    number = {label: n for n, label in enumerate(names)}
    examples: dict[str, list[str]] = {label: [] for label in names}
    for text, label in zip(*train, strict=True):
        if label in examples and len(examples[label]) < EXAMPLES:
            examples[label].append(text.strip())
    documents = [
        Document(
            id=f"faq-{n}",
            format="faq",
            question=topic(label).capitalize(),
            title=topic(label).capitalize(),
            text=ANSWER.format(topic=topic(label))
            + (
                "\n\nCustomers ask: " + " | ".join(examples[label]) if answers == "examples" else ""
            ),
        )
        for n, label in enumerate(names)
    ]
    return documents, [(t, number[label]) for t, label in zip(texts, labels, strict=True)]


def split_within(
    gold: npt.NDArray[np.int64], seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Query rows of the tune and held-out halves: half of each entry's queries in each."""
    rng = np.random.default_rng(seed)
    tune: list[int] = []
    for entry in np.unique(gold):
        rows = rng.permutation(np.flatnonzero(gold == entry))
        tune.extend(rows[: len(rows) // 2].tolist())
    in_tune = np.zeros(len(gold), dtype=bool)
    in_tune[tune] = True
    return np.flatnonzero(in_tune), np.flatnonzero(~in_tune)


def top_hit_share(scores: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> str:
    """The entry that is the top hit most often: how often, and how often rightly."""
    top = scores.argmax(axis=1)
    counts = np.bincount(top, minlength=scores.shape[1])
    entry = int(counts.argmax())
    right = int(((top == entry) & (gold == entry)).sum())
    return f"faq-{entry} top for {counts[entry]} ({right} right)"


def run(name: str, answers: str, seed: int) -> dict[str, Any]:
    if name == "stackfaq":  # the set the defaults were chosen on, split by thread as there
        documents, queries = bk.load_stackfaq(
            _data.data_dir() / "stackfaq" / "stackExchange-FAQ.json"
        )
    else:
        documents, queries = load(name, answers)
    embedder = default_embedder()
    started = time.perf_counter()
    kb = KnowledgeBase(embedder=embedder)
    kb.add(documents)
    texts = [q for q, _ in queries]
    vectors = embedder.embed(texts)
    gold = np.array([g for _, g in queries], dtype=np.int64)
    print(
        f"\n== {name}, {answers} answers: {len(documents)} FAQ entries, {len(queries)} queries; "
        f"embedder {embedder.name}; build + query embedding {time.perf_counter() - started:.1f}s"
    )
    sig = bk.compute_signals(kb, texts, vectors, gold)
    if name == "stackfaq":
        tune, test = bk.split(gold, len(documents), seed)
    else:
        tune, test = split_within(gold, seed)
    docs = {name: sig.docs(values) for name, values in sig.chunk.items()}
    methods: dict[str, Any] = {
        **bk.single_signals(docs),
        f"fused, library default {bk._fusion_label(DEFAULT_FUSION)}": sig.fused(DEFAULT_FUSION),
    }
    print(
        f"\nHeld-out half (seed {seed}): {len(test)} queries; the other {len(tune)} are "
        f"the tune half. Last columns: all {len(gold)} queries, and the most frequent top hit"
    )
    print(f"{'method':<60} {'r@1':>6} {'r@5':>6} {'MRR@10':>7}   all: r@1 / MRR@10")
    results: dict[str, tuple[float, ...]] = {}
    for name, scores in methods.items():
        ranks = bk.gold_ranks(scores, gold)
        results[name] = bk.from_ranks(ranks[test])
        everything = bk.from_ranks(ranks)
        print(
            f"{name:<60} {bk._row(results[name])}   {everything[0]:.4f} / {everything[2]:.4f}"
            f"   {top_hit_share(scores, gold)}"
        )
    held = [texts[i] for i in test]
    default = bk._search_metrics(kb, held, vectors[test], gold[test])
    results["library default, KnowledgeBase.search"] = default
    print(f"{'library default, through KnowledgeBase.search':<60} {bk._row(default)}")
    kb.calibrate([(texts[i], f"faq-{gold[i]}") for i in tune])
    calibrated = bk._search_metrics(kb, held, vectors[test], gold[test])
    results["after calibrate() on the tune half"] = calibrated
    label = f"after calibrate() on the tune half {bk._fusion_label(kb.fusion)}"
    print(f"{label:<60} {bk._row(calibrated)}")
    print(f"calibration: {kb.calibration}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=("banking77", "clinc150", "all"), default="all")
    parser.add_argument(
        "--answers",
        choices=("template", "examples", "all"),
        default="all",
        help="examples: each answer also holds the intent's first 3 training utterances",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {load_average}")
    sets = ("banking77", "clinc150") if args.set == "all" else (args.set,)
    kinds = ("template", "examples") if args.answers == "all" else (args.answers,)
    summary = {(name, kind): run(name, kind, args.seed) for name in sets for kind in kinds}
    if args.set == "all":
        summary["stackfaq", "own"] = run("stackfaq", "own", args.seed)
    rows = (
        "dense (body: question + answer)",
        "library default, KnowledgeBase.search",
        "after calibrate() on the tune half",
    )
    print(f"\nSummary, held-out r@1 / MRR@10 (seed {args.seed}):")
    print(f"{'FAQ set':<22}" + "".join(f"{row[:38]:>40}" for row in rows))
    for (name, kind), results in summary.items():
        cells = "".join(f"{results[row][0]:>31.3f} / {results[row][2]:.3f}" for row in rows)
        print(f"{name + ', ' + kind:<22}{cells}")
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end {load_average}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
