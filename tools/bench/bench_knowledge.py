"""Knowledge retrieval benchmarks: StackFAQ quality, answerability, and 100k-chunk scale.

**Quality** (StackFAQ: 125 help-desk threads, 1,249 user paraphrases, ``*`` placeholders dropped).
Every thread becomes one FAQ document (question + its answers) in a real ``KnowledgeBase`` with
the default all-MiniLM-L6-v2 embedder (disk-cached). Each paraphrase must retrieve its thread.
The FAQ ids are split 50/50 with a fixed seed: the lexical weight (on centred dense cosines, the
library's protocol) and the answerability threshold are chosen on the *tune* half's paraphrases
and reported on the *held-out* half (never tuned on). We print recall@1, recall@5 and MRR@10 for
BM25 alone, dense alone (body, question, best of two; raw and centred), plain RRF, the tuned
fusion, the library default and the previous three-weight protocol, then re-run the held-out
queries end to end through ``KnowledgeBase.search`` with the library's default fusion. Then
``--splits`` random splits (default 20) give the mean +- standard deviation of every protocol and
its paired difference with raw and centred dense, plus a nested check in which the protocol
itself is chosen on inner splits of the tune half.

**Answerability**: a third of the threads (seeded) are removed from the index, so their
paraphrases have no answer. The threshold is calibrated on tune queries (target precision 0.9 of
answered queries) and a table over thresholds reports, on held-out queries, the share declined,
the precision of answers let through, and the share of unanswerable queries declined.

**Scale**: a synthetic corpus of ``--chunks`` (default 100,000) chunks: Zipf-distributed
synthetic words (BM25) and random unit vectors (dense, 384 dims). Build time, index size on disk,
memory, and search latency p50/p99 excluding the query embedding (dense + BM25 + fusion + top-k),
with and without centring on the same arrays, with ratios against baselines measured in the same
run: a per-document Python loop BM25 (on a subset, scaled up) and numpy brute force
(matrix-vector product + full argsort).

Run from the repository root::

    .venv/bin/python tools/bench/bench_knowledge.py            # quality + scale, ~3 minutes
    .venv/bin/python tools/bench/bench_knowledge.py --only quality
    .venv/bin/python tools/bench/bench_knowledge.py --only scale --chunks 20000
    .venv/bin/python tools/bench/bench_knowledge.py --only scoring   # 100k: exact, int8, sign bits
    .venv/bin/python tools/bench/bench_knowledge.py --only recall    # sign bits on MiniLM vectors
    .venv/bin/python tools/bench/bench_knowledge.py --only pgvector --pg-chunks 300000

``--only pgvector`` publishes ``--pg-chunks`` synthetic chunks to PostgreSQL + pgvector (a
throwaway pgserver, or ``--pg-url``; a table already published with the same size and seed is
reused) and races it against the in-memory index at that size and at ``--chunks`` (see
``_kbscale.py``). Building 300k took about 20 minutes on the 2 loaded cores; 1M took 17
minutes on a nearly quiet machine (docs/benchmarks.md).

The data is read from ``$RESOLVEKIT_DATA`` or ``../shared/data`` next to the repository; the quality
part is skipped with a message when it is absent.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from resolvekit.knowledge import (  # noqa: E402
    DEFAULT_FUSION,
    Document,
    Fusion,
    KnowledgeBase,
    calibrate_threshold,
)
from resolvekit.knowledge._text import terms  # noqa: E402
from resolvekit.knowledge.index import DEFAULT_DEPTH, HybridIndex  # noqa: E402
from resolvekit.understanding.embedders import Embedder, default_embedder  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _kbscale  # noqa: E402

SIGNALS = ("dense", "dense_field", "lexical", "lexical_field")


def data_dir() -> Path:
    return Path(os.environ.get("RESOLVEKIT_DATA", ROOT / ".." / "shared" / "data")).resolve()


# --- StackFAQ ---------------------------------------------------------------------------------


def load_stackfaq(path: Path) -> tuple[list[Document], list[tuple[str, int]]]:
    """FAQ documents (id ``faq-<n>``) and ``(paraphrase, thread index)`` queries."""
    threads = json.loads(path.read_text(encoding="utf-8"))["root"]["qapair"]
    documents: list[Document] = []
    queries: list[tuple[str, int]] = []
    for number, thread in enumerate(threads):
        answers = thread["answer"] if isinstance(thread["answer"], list) else [thread["answer"]]
        documents.append(
            Document(
                id=f"faq-{number}",
                format="faq",
                question=thread["question"].strip(),
                title=thread["question"].strip(),
                text="\n\n".join(a.strip() for a in answers if a and a.strip()),
            )
        )
        for paraphrase in thread["rephr"]:
            if paraphrase and paraphrase.strip() != "*":
                queries.append((paraphrase.strip(), number))
    return documents, queries


@dataclass(kw_only=True)
class Signals:
    """Per (query, chunk) signals of the library, and how chunks map to documents."""

    chunk: dict[str, npt.NDArray[np.float32]]
    """Signal name -> ``(n_queries, n_chunks)``; ``dense_body`` is cosine(query, body) alone;
    names ending in ``_c`` are the centred variants (``Fusion.center``)."""
    starts: npt.NDArray[np.int64]
    """First chunk of each document (chunks are stored in document order)."""
    gold: npt.NDArray[np.int64]
    _ranks: dict[Fusion, npt.NDArray[np.float64]] = field(default_factory=dict)

    def docs(self, scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Best chunk score of each document: ``(n_queries, n_docs)``."""
        return np.maximum.reduceat(scores, self.starts, axis=1).astype(np.float64)

    def fused(self, fusion: Fusion, rows: npt.NDArray[np.int64] | None = None) -> Any:
        """Document scores under ``fusion`` (weighted), fused per chunk as the library does."""
        pick = slice(None) if rows is None else rows
        suffix = {"dense": "_c", "dense_field": "_c"} if fusion.center else {}
        total = sum(
            getattr(fusion, n) * self.chunk[n + suffix.get(n, "")][pick]
            for n in SIGNALS
            if getattr(fusion, n)
        )
        return self.docs(np.asarray(total, dtype=np.float32))

    def ranks(self, fusion: Fusion) -> npt.NDArray[np.float64]:
        """Rank of the gold document for every query under ``fusion`` (cached)."""
        if fusion not in self._ranks:
            self._ranks[fusion] = gold_ranks(self.fused(fusion), self.gold)
        return self._ranks[fusion]


def compute_signals(
    kb: KnowledgeBase,
    queries: Sequence[str],
    vectors: npt.NDArray[np.float32],
    gold: npt.NDArray[np.int64],
) -> Signals:
    index = kb._index  # the benchmark looks inside to score every signal separately
    assert isinstance(index, HybridIndex)
    doc_of = np.array([int(c.doc_id.removeprefix("faq-")) for c in index.chunks])
    assert (np.diff(doc_of) >= 0).all(), "chunks must be in document order"
    starts = np.flatnonzero(np.r_[True, np.diff(doc_of) > 0]).astype(np.int64)
    names = (*SIGNALS, "dense_body", "dense_c", "dense_field_c", "dense_body_c")
    chunk = {n: np.zeros((len(queries), len(index)), np.float32) for n in names}
    centering = index.centering()
    for row, (query, vector) in enumerate(zip(queries, vectors, strict=True)):
        for name, values in index.signals(vector, query).items():
            chunk[name][row] = values
        for name, values in index.signals(vector, query, center=True).items():
            if name.startswith("dense"):
                chunk[name + "_c"][row] = values
        chunk["dense_body"][row] = index.vectors @ vector
        chunk["dense_body_c"][row] = index.vectors @ vector
        shift, scale = centering.query_terms(vector)
        centering.apply(chunk["dense_body_c"][row], centering.body, shift, scale)
    return Signals(chunk=chunk, starts=starts, gold=gold)


def single_signals(docs: dict[str, npt.NDArray[np.float64]]) -> dict[str, Any]:
    """Document scores of each signal alone (BM25, dense; raw and centred), by row label."""
    return {
        "BM25 (body: question + answer)": docs["lexical"],
        "BM25 (question)": docs["lexical_field"],
        "dense (body: question + answer)": docs["dense_body"],
        "dense (question)": docs["dense_field"],
        "dense best of two": docs["dense"],
        "centred dense (body)": docs["dense_body_c"],
        "centred dense (question)": docs["dense_field_c"],
        "centred dense best of two": docs["dense_c"],
    }


def gold_ranks(scores: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> Any:
    """Rank of each query's gold document; ties count against it (pessimistic), so constant
    scores cannot score well."""
    gold_scores = scores[np.arange(len(gold)), gold]
    return (scores >= gold_scores[:, None]).sum(axis=1).astype(np.float64)


def from_ranks(rank: npt.NDArray[np.float64]) -> tuple[float, ...]:
    """recall@1, recall@5, MRR@10 from gold ranks."""
    return (
        float((rank == 1).mean()),
        float((rank <= 5).mean()),
        float(np.where(rank <= 10, 1.0 / rank, 0.0).mean()),
    )


def metrics(scores: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> tuple[float, ...]:
    """recall@1, recall@5, MRR@10 of a (query, document) score matrix."""
    return from_ranks(gold_ranks(scores, gold))


def rrf(signals: Sequence[npt.NDArray[np.float64]], k: int = 60) -> npt.NDArray[np.float64]:
    fused = np.zeros_like(signals[0])
    for scores in signals:
        ranks = (-scores).argsort(axis=1).argsort(axis=1) + 1
        fused += 1.0 / (k + ranks)
    return fused


Grid = dict[str, tuple[float, ...]]
LEXICAL_GRID: Grid = {
    "dense_field": (0.0,),
    "lexical": (0.0, 0.01, 0.025, 0.05, 0.1),
    "lexical_field": (0.0,),
}
"""The library's protocol: centred dense (weight 1) plus one lexical weight."""
FULL_GRID: Grid = {
    "dense_field": (0.0, 0.1, 0.25, 0.5),
    "lexical": (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3),
    "lexical_field": (0.0, 0.025, 0.05, 0.1, 0.2),
}
"""The previous protocol: three weights (160 combinations), which over-fits the tune half."""
FAMILIES: dict[str, tuple[bool, Grid]] = {
    "raw dense": (False, {k: (0.0,) for k in FULL_GRID}),
    "raw + 1 lexical weight": (False, LEXICAL_GRID),
    "raw + 3 weights": (False, FULL_GRID),
    "centred dense": (True, {k: (0.0,) for k in FULL_GRID}),
    "centred + 1 lexical weight": (True, LEXICAL_GRID),
    "centred + 3 weights": (True, FULL_GRID),
}


def tune_fusion(
    sig: Signals,
    rows: npt.NDArray[np.int64],
    *,
    center: bool = True,
    grid: Grid = LEXICAL_GRID,
) -> Fusion:
    """Grid search of weights (dense fixed at 1) maximising MRR@10, then recall@1, on ``rows``;
    ties go to the smallest total weight."""
    best: tuple[tuple[float, ...], Fusion] | None = None
    for dense_field, lexical, lexical_field in itertools.product(*grid.values()):
        fusion = Fusion(
            dense=1.0,
            dense_field=dense_field,
            lexical=lexical,
            lexical_field=lexical_field,
            center=center,
        )
        scores = from_ranks(sig.ranks(fusion)[rows])
        key = (round(scores[2], 6), round(scores[0], 6), -(dense_field + lexical + lexical_field))
        if best is None or key > best[0]:
            best = (key, fusion)
    assert best is not None
    return best[1]


def split(
    gold: npt.NDArray[np.int64], n_docs: int, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Query rows of the tune and held-out halves, split 50/50 by thread id."""
    order = np.random.default_rng(seed).permutation(n_docs)
    in_tune = np.isin(gold, order[: n_docs // 2])
    return np.flatnonzero(in_tune), np.flatnonzero(~in_tune)


def quality(args: argparse.Namespace) -> dict[str, Any]:
    path = data_dir() / "stackfaq" / "stackExchange-FAQ.json"
    if not path.exists():
        print(f"SKIP quality: {path} not found (set RESOLVEKIT_DATA)")
        return {}
    documents, queries = load_stackfaq(path)
    embedder: Embedder = default_embedder()
    started = time.perf_counter()
    kb = KnowledgeBase(embedder=embedder)
    report = kb.add(documents)
    texts = [q for q, _ in queries]
    vectors = embedder.embed(texts)
    print(
        f"StackFAQ: {len(documents)} threads -> {report.chunks} chunks, {len(queries)} queries; "
        f"embedder {embedder.name}; build + query embedding {time.perf_counter() - started:.1f}s"
    )
    gold = np.array([g for _, g in queries], dtype=np.int64)
    sig = compute_signals(kb, texts, vectors, gold)
    tune, test = split(gold, len(documents), args.seed)
    fusion = tune_fusion(sig, tune)
    full = tune_fusion(sig, tune, grid=FULL_GRID)
    previous = tune_fusion(sig, tune, center=False, grid=FULL_GRID)
    docs = {name: sig.docs(values) for name, values in sig.chunk.items()}
    methods: dict[str, Any] = {
        **single_signals(docs),
        "RRF(BM25 body, dense best of two)": rrf([docs["lexical"], docs["dense"]]),
        f"fused, tuned {_fusion_label(fusion)}": sig.fused(fusion),
        f"fused, library default {_fusion_label(DEFAULT_FUSION)}": sig.fused(DEFAULT_FUSION),
        f"fused, 3 weights tuned {_fusion_label(full)}": sig.fused(full),
        f"previous: raw, 3 weights tuned {_fusion_label(previous)}": sig.fused(previous),
    }
    print(
        f"\nHeld-out half (seed {args.seed}): {len(test)} queries of {len(set(gold[test]))} "
        f"threads; weights tuned on the {len(tune)} queries of the other "
        f"{len(set(gold[tune]))}; all {len(documents)} threads indexed. Last column: all "
        f"{len(gold)} queries (meaningful for untuned rows only)"
    )
    print(f"{'method':<66} {'r@1':>6} {'r@5':>6} {'MRR@10':>7}   all: r@1 / MRR@10")
    results = {}
    for name, scores in methods.items():
        ranks = gold_ranks(scores, gold)
        results[name] = from_ranks(ranks[test])
        everything = from_ranks(ranks)
        print(f"{name:<66} {_row(results[name])}   {everything[0]:.4f} / {everything[2]:.4f}")
    tune_scores = from_ranks(sig.ranks(fusion)[tune])
    print(f"{'(tune half, tuned fusion)':<66} {_row(tune_scores)}")
    # The same numbers through the public API, with the fusion the library uses by default.
    if fusion != kb.fusion:
        print(f"NOTE: the library default {_fusion_label(kb.fusion)} is not the tuned fusion")
    end_to_end = _search_metrics(kb, [texts[i] for i in test], vectors[test], gold[test])
    print(f"{'(held-out, library default, through KnowledgeBase.search)':<66} {_row(end_to_end)}")
    for scoring in ("exact", "int8", "binary"):
        kb.scoring = scoring
        kb.depth = 16  # the library raises it to 16 * k = 160: the fewest it re-scores at k=10
        scored = _search_metrics(kb, [texts[i] for i in test], vectors[test], gold[test])
        label = f"(same, scoring={scoring!r}, 160 of {len(kb)} chunks re-scored)"
        print(f"{label:<66} {_row(scored)}")
    kb.scoring, kb.depth = "auto", DEFAULT_DEPTH
    _kbscale.quality_pg(
        kb,
        [texts[i] for i in test],
        vectors[test],
        lambda base: _search_metrics(base, [texts[i] for i in test], vectors[test], gold[test]),
        args.pg_url,
    )
    splits(sig, gold, len(documents), args)
    answerability(sig.fused(fusion), gold, tune, test, args.seed)
    return {"fusion": fusion, "results": results}


def splits(
    sig: Signals, gold: npt.NDArray[np.int64], n_docs: int, args: argparse.Namespace
) -> None:
    """Every protocol over ``args.splits`` random splits: mean +- standard deviation over the
    held-out halves, and a nested check where the protocol itself is chosen on the tune half."""
    if args.splits < 1:  # --splits 0: the seed's split only
        return
    seeds = range(args.seed, args.seed + args.splits)
    table: dict[str, list[tuple[float, ...]]] = {name: [] for name in FAMILIES}
    table["nested: protocol chosen by inner splits of the tune half"] = []
    picked: Counter[str] = Counter()
    for seed in seeds:
        tune, test = split(gold, n_docs, seed)
        for name, (center, grid) in FAMILIES.items():
            fusion = tune_fusion(sig, tune, center=center, grid=grid)
            table[name].append(from_ranks(sig.ranks(fusion)[test]))
        inner: dict[str, list[float]] = {name: [] for name in FAMILIES}
        tune_threads = np.unique(gold[tune])
        for repeat in range(4):
            half = np.random.default_rng([seed, repeat]).permutation(tune_threads)
            inside = np.isin(gold[tune], half[: len(half) // 2])
            fit, check = tune[inside], tune[~inside]
            for name, (center, grid) in FAMILIES.items():
                fusion = tune_fusion(sig, fit, center=center, grid=grid)
                inner[name].append(from_ranks(sig.ranks(fusion)[check])[2])
        choice = max(FAMILIES, key=lambda name: float(np.mean(inner[name])))
        picked[choice] += 1
        center, grid = FAMILIES[choice]
        fusion = tune_fusion(sig, tune, center=center, grid=grid)
        table["nested: protocol chosen by inner splits of the tune half"].append(
            from_ranks(sig.ranks(fusion)[test])
        )
    print(
        f"\n{args.splits} random splits (seeds {seeds.start}-{seeds.stop - 1}), each tuned on its "
        f"tune half and reported on its held-out half: mean +- std over splits; 'vs raw' is the "
        f"mean paired difference with raw / centred dense best of two (in brackets: splits "
        f"better/worse on MRR@10)"
    )
    print(
        f"{'protocol':<58} {'r@1':>15} {'MRR@10':>15} {'vs raw: r@1':>12} {'MRR@10':>14} "
        f"{'vs centred: r@1':>16} {'MRR@10':>14}"
    )
    for name, values in table.items():
        v = np.array(values)
        line = f"{name:<58} {v[:, 0].mean():.4f}+-{v[:, 0].std():.4f} "
        line += f"{v[:, 2].mean():.4f}+-{v[:, 2].std():.4f}"
        for base, width in (("raw dense", 12), ("centred dense", 16)):
            diff = v - np.array(table[base])
            better, worse = int((diff[:, 2] > 1e-12).sum()), int((diff[:, 2] < -1e-12).sum())
            line += f" {diff[:, 0].mean():+{width}.4f} {diff[:, 2].mean():+7.4f} ({better}/{worse})"
        print(line)
    print("nested choices: " + ", ".join(f"{name} x{n}" for name, n in picked.most_common()))


def _row(values: Sequence[float]) -> str:
    return f"{values[0]:6.3f} {values[1]:6.3f} {values[2]:7.3f}"


def _fusion_label(fusion: Fusion) -> str:
    parts = [f"{name}={getattr(fusion, name):g}" for name in SIGNALS if getattr(fusion, name)]
    parts += ["centred"] if fusion.center else []
    parts += [] if fusion.best_of_two else ["body only"]
    return "[" + ", ".join(parts) + "]"


def _fmt(values: Sequence[float]) -> str:
    return f"r@1 {values[0]:.3f} r@5 {values[1]:.3f} MRR@10 {values[2]:.3f}"


def _search_metrics(
    kb: KnowledgeBase,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    gold: npt.NDArray[np.int64],
) -> tuple[float, ...]:
    ranks = []
    for text, vector, expected in zip(texts, vectors, gold, strict=True):
        hits = kb.search(text, k=10, query_vector=vector, log_gaps=False)
        ids = [h.doc_id for h in hits]
        target = f"faq-{expected}"
        ranks.append(ids.index(target) + 1 if target in ids else math.inf)
    r = np.array(ranks)
    return (
        float((r == 1).mean()),
        float((r <= 5).mean()),
        float(np.where(r <= 10, 1.0 / r, 0.0).mean()),
    )


def answerability(
    fused: npt.NDArray[np.float64],
    gold: npt.NDArray[np.int64],
    tune: npt.NDArray[np.int64],
    test: npt.NDArray[np.int64],
    seed: int,
) -> None:
    n_docs = fused.shape[1]
    removed = np.random.default_rng(seed + 1).permutation(n_docs)[: n_docs // 3]
    scores = fused.copy()
    scores[:, removed] = -np.inf  # these threads are not in the index
    top = scores.argmax(axis=1)
    best = scores.max(axis=1)
    correct = top == gold
    answerable = ~np.isin(gold, removed)
    threshold = calibrate_threshold(
        best[tune].tolist(), correct[tune].tolist(), target_precision=0.9
    )
    print(
        f"\nAnswerability: {len(removed)} of {n_docs} threads removed from the index; held-out: "
        f"{int(answerable[test].sum())} answerable + {int((~answerable[test]).sum())} "
        f"unanswerable queries"
    )
    print(f"calibrated on tune (precision >= 0.9): threshold {threshold:.3f}")
    print(f"{'threshold':>9} {'declined':>9} {'precision':>10} {'unanswerable declined':>22}")
    candidates = sorted(
        {round(float(t), 3) for t in np.quantile(best[tune], np.linspace(0, 0.9, 10))}
    )
    for t in sorted({*candidates, round(threshold, 3)}):
        answered = best[test] >= t
        declined = 1 - answered.mean()
        precision = correct[test][answered].mean() if answered.any() else float("nan")
        caught = (~answered[~answerable[test]]).mean()
        mark = "  <- calibrated" if t == round(threshold, 3) else ""
        print(f"{t:9.3f} {declined:9.1%} {precision:10.3f} {caught:22.1%}{mark}")


# --- scale ------------------------------------------------------------------------------------


class RandomEmbedder:
    """Random unit vectors seeded by the text: no model cost, realistic dense arrays."""

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"random-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rng = np.random.default_rng(len(texts))
        out = rng.standard_normal((len(texts), self._dim)).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def synthetic_corpus(n: int, seed: int, vocabulary: int = 50_000) -> list[Document]:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    lengths = rng.integers(40, 120, size=n)
    ids = (rng.zipf(1.2, size=int(lengths.sum())) - 1) % vocabulary
    documents = []
    offset = 0
    for i, length in enumerate(lengths):
        text = " ".join(words[ids[offset : offset + length]])
        offset += length
        documents.append(Document(id=f"doc-{i}", text=text, format="text", title=f"t{i}"))
    return documents


def naive_bm25(
    corpus: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """The textbook per-document loop (the baseline)."""
    n = len(corpus)
    avg = sum(len(d) for d in corpus) / n
    df: Counter[str] = Counter()
    for doc in corpus:
        df.update(set(doc))
    scores = []
    for doc in corpus:
        tf = Counter(doc)
        score = 0.0
        for term in set(query):
            if term in tf:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(doc) / avg))
        scores.append(score)
    return scores


def _percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return p50 * 1e3, p99 * 1e3


def scale(args: argparse.Namespace) -> None:
    n = args.chunks
    print(f"\nScale: synthetic corpus of {n:,} chunks (Zipf words, random 384-d vectors)")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    documents = synthetic_corpus(n, args.seed)
    generated = time.perf_counter() - started
    # Exact scoring: this mode keeps measuring the full product (random vectors have no
    # neighbours worth finding; the compact passes are measured by --only scoring).
    kb = KnowledgeBase(embedder=RandomEmbedder(), threshold=0.0, scoring="exact")
    started = time.perf_counter()
    report = kb.add(documents)
    build = time.perf_counter() - started
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.chunks == n, report
    assert isinstance(kb._index, HybridIndex)
    arrays = kb._index.vectors.nbytes + sum(
        a.nbytes for a in (kb._index.bm25.postings, kb._index.bm25.weights)
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        kb.save(Path(tmp) / "index")
        save = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (Path(tmp) / "index").rglob("*") if p.is_file())
        started = time.perf_counter()
        loaded = KnowledgeBase.load(Path(tmp) / "index", embedder=RandomEmbedder())
        load = time.perf_counter() - started
        assert len(loaded) == n
        del loaded
    print(
        f"corpus generated in {generated:.1f}s; build (chunk + hash + embed + BM25) {build:.1f}s; "
        f"save {save:.1f}s; load {load:.1f}s"
    )
    print(
        f"index size on disk {size / 1e6:.0f} MB; vectors + postings in memory "
        f"{arrays / 1e6:.0f} MB; peak RSS grew by {(rss1 - rss0) / 1e3:.0f} MB during build"
    )
    rng = np.random.default_rng(args.seed + 7)
    queries = []
    for _ in range(args.queries):
        doc = documents[int(rng.integers(n))].text.split()
        picked = rng.choice(len(doc), size=int(rng.integers(2, 7)), replace=False)
        queries.append(" ".join(doc[i] for i in picked))
    vectors = rng.standard_normal((len(queries), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for q, v in zip(queries[:20], vectors[:20], strict=True):  # warm up
        kb.search(q, k=10, query_vector=v)
    index = kb._index
    assert isinstance(index, HybridIndex)
    timings: dict[str, list[float]] = {
        "search": [],
        "uncentred": [],
        "dense": [],
        "bm25": [],
        "brute": [],
    }
    default = kb.fusion
    uncentred = KnowledgeBase(
        embedder=RandomEmbedder(), fusion=replace(default, center=False), scoring="exact"
    )
    uncentred._index = index  # the same arrays, searched with the raw-cosine fusion
    gc.disable()
    try:
        for number, (q, v) in enumerate(zip(queries, vectors, strict=True)):
            # Alternate which of the two searches runs first: the first one after the
            # baselines below pays for reloading the vectors into the CPU caches.
            first, second = (kb, uncentred) if number % 2 else (uncentred, kb)
            t0 = time.perf_counter()
            first.search(q, k=10, query_vector=v, log_gaps=False)
            t1 = time.perf_counter()
            second.search(q, k=10, query_vector=v, log_gaps=False)
            t2 = time.perf_counter()
            timings["search" if first is kb else "uncentred"].append(t1 - t0)
            timings["uncentred" if first is kb else "search"].append(t2 - t1)
            t1 = time.perf_counter()
            index.vectors @ v
            t2 = time.perf_counter()
            index.bm25.scores(q)
            t3 = time.perf_counter()
            np.argsort(-(index.vectors @ v))[:10]
            t4 = time.perf_counter()
            timings["dense"].append(t2 - t1)
            timings["bm25"].append(t3 - t2)
            timings["brute"].append(t4 - t3)
    finally:
        gc.enable()
    subset = args.naive_subset
    corpus_terms = [terms(d.text) for d in documents[:subset]]
    naive = []
    for q in queries[:20]:
        t0 = time.perf_counter()
        naive_bm25(corpus_terms, terms(q))
        naive.append((time.perf_counter() - t0) * n / subset)
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"search latency over {len(queries)} queries, k=10, query embedding excluded (ms; "
        f"load average {load_average}):"
    )
    print(f"{'':<44} {'p50':>8} {'p99':>8}")
    rows = {
        f"hybrid search {_fusion_label(default)}": timings["search"],
        "  the same without centring": timings["uncentred"],
        "  of which dense matrix-vector product": timings["dense"],
        "  of which BM25 (inverted index)": timings["bm25"],
        "baseline: numpy brute force dense + argsort": timings["brute"],
        f"baseline: per-document loop BM25 (x{n // subset} of {subset:,})": naive,
    }
    for name, samples in rows.items():
        p50, p99 = _percentiles(samples)
        print(f"{name:<44} {p50:8.2f} {p99:8.2f}")
    s50, _ = _percentiles(timings["search"])
    b50, _ = _percentiles(timings["bm25"])
    print(
        f"ratios: numpy brute force dense / hybrid search = "
        f"{_percentiles(timings['brute'])[0] / s50:.2f}x; "
        f"per-document loop BM25 / inverted-index BM25 = {_percentiles(naive)[0] / b50:.0f}x"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("quality", "scale", "scoring", "recall", "pgvector"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--naive-subset", type=int, default=5_000)
    parser.add_argument("--splits", type=int, default=20, help="random splits for mean +- std")
    parser.add_argument("--real-texts", type=int, default=10_000, help="recall: MiniLM texts")
    parser.add_argument("--pg-url", help="pgvector: a database (default: a throwaway pgserver)")
    parser.add_argument("--pg-chunks", type=int, default=1_000_000)
    parser.add_argument("--pg-depths", type=int, nargs="+", default=[40, 100])
    parser.add_argument("--pg-memory", default="3GB", help="maintenance_work_mem for the build")
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {load}")
    if args.only in (None, "quality"):
        quality(args)
    if args.only in (None, "scale"):
        scale(args)
    if args.only in (None, "scoring"):
        _kbscale.scoring(args)
    if args.only in (None, "recall"):
        _kbscale.recall_real(args)
    if args.only == "pgvector":  # ~1 hour on 2 busy cores: only when asked
        _kbscale.pgvector(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
