"""Intent understanding benchmarks for the LocalModel classifier (BANKING77, CLINC150).

Every figure is measured in the same run against baselines on the *same* cached embeddings:
plain multinomial logistic regression (scikit-learn, C=10, raw max-probability confidence) and
nearest centroid (cosine). Nothing is tuned on a test split: the classifier chooses its
temperature and out-of-scope threshold by cross-validation on the training data, or on CLINC150's
``val`` + ``oos_val`` where stated; the baselines' OOS thresholds use the same rule on the same
validation data.

- **BANKING77**: test accuracy trained on the full train set, and 10-shot (10 random training
  examples per intent, seeds 0-4, mean and min-max); ECE of the confidence on the test set
  (15 equal-width bins).
- **CLINC150** (``data_full.json``): in-scope accuracy (accepted and right / all in-scope test
  messages), out-of-scope recall, and AUROC of in-scope vs out-of-scope test messages by the
  in-scope score. Rows: trained on ``train`` with and without ``oos_train`` as an explicit
  out-of-scope class, the threshold chosen on ``val`` + ``oos_val`` by two rules (*sum*: maximise
  in-scope accuracy + OOS recall; *r*: best in-scope accuracy at val OOS recall >= r, set with
  ``--min-oos-recall``, default 0.8), the trade-off curve on val and test for r from 0.5 to 0.95,
  and the agent setting with 5 examples per intent, no OOS data and the threshold from
  cross-validation.
- **Throughput**: messages/s classified in a batch and one at a time, including the embedding
  (uncached), and the start-up cost: a fresh process timing ``import`` + model load + first
  embedding.

- **Fit** (``--only fit``, :mod:`_fit_timing`): fit time for 77 intents x 20 examples and
  64 x 10 (BANKING77), cold ``LocalModel.warm_up`` to the first classification with and without
  the classifier saved on disk, and a restarted process loading it; ``--baseline REV`` times the
  code of commit ``REV`` in the same run.

Run from the repository root (the first run embeds ~37k sentences, ~2 min here; then cached)::

    .venv/bin/python tools/bench/bench_intents.py
    .venv/bin/python tools/bench/bench_intents.py --only banking77 clinc150
    .venv/bin/python tools/bench/bench_intents.py --only fit --baseline 295fd42
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from _data import banking77, clinc150, require

from resolvekit.understanding._calibration import choose_threshold, expected_calibration_error
from resolvekit.understanding.classifier import IntentClassifier
from resolvekit.understanding.embedders import (
    INTENT_LAYERS,
    CachedEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    default_embedder,
    default_intent_embedder,
    first_block,
)

Matrix = np.ndarray


def _embed_all(embedder: Embedder, *groups: Sequence[str]) -> list[Matrix]:
    flat = [t for g in groups for t in g]
    started = time.perf_counter()
    vectors = embedder.embed(flat)
    print(f"  (embedded {len(flat)} texts in {time.perf_counter() - started:.1f}s, cache included)")
    out, start = [], 0
    for g in groups:
        out.append(vectors[start : start + len(g)])
        start += len(g)
    return out


def _lr(x: Matrix, y: Sequence[str]) -> tuple[Callable[[Matrix], Matrix], list[str]]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)
    return model.predict_proba, list(model.classes_)


def _centroid(x: Matrix, y: Sequence[str]) -> tuple[Callable[[Matrix], Matrix], list[str]]:
    classes = sorted(set(y))
    labels = np.array(y)
    cents = np.stack([x[labels == c].mean(axis=0) for c in classes])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)

    def proba(q: Matrix) -> Matrix:
        z = (q @ cents.T) / 0.05
        z = np.exp(z - z.max(axis=1, keepdims=True))
        out: Matrix = z / z.sum(axis=1, keepdims=True)
        return out

    return proba, classes


def _accuracy_ece(probs: Matrix, classes: list[str], y: Sequence[str]) -> tuple[float, float]:
    pred = probs.argmax(axis=1)
    correct = np.array([classes[p] == t for p, t in zip(pred, y, strict=True)])
    conf = np.clip(probs.max(axis=1), 0.0, 1.0)
    return 100 * float(correct.mean()), expected_calibration_error(conf, correct)


_AUTO: Literal["auto"] = "auto"
_OURS = "IntentClassifier (+ layer-2 block, auto)"
"""The classifier as LocalModel runs it: default_intent_embedder, block weight chosen held-out."""


def _row(name: str, *cells: str) -> None:
    print(f"  {name:<44}" + "".join(f"{c:>16}" for c in cells))


# --- BANKING77 ---------------------------------------------------------------------------------


def bench_banking77(embedder: Embedder) -> None:
    require("banking77")
    print("\nBANKING77 (test accuracy %, ECE with 15 equal-width bins)")
    xt, yt = banking77("train")
    xs, ys = banking77("test")
    tr, te = _embed_all(embedder, xt, xs)
    plain_tr, plain_te = first_block(embedder, tr), first_block(embedder, te)

    _row("full train set (10,003)", "accuracy", "ECE", "fit s")
    results: dict[str, float] = {}
    for name, fit in (("logistic regression (baseline)", _lr), ("nearest centroid", _centroid)):
        started = time.perf_counter()
        proba, classes = fit(plain_tr, yt)
        elapsed = time.perf_counter() - started
        acc, ece = _accuracy_ece(proba(plain_te), classes, ys)
        results[name] = acc
        _row(name, f"{acc:.2f}", f"{ece:.4f}", f"{elapsed:.1f}")
    for name, weight in (("IntentClassifier, sentence embedding only", 0.0), (_OURS, _AUTO)):
        started = time.perf_counter()
        clf = IntentClassifier(embedder, block_weight=weight, persist=False).fit_embeddings(tr, yt)
        elapsed = time.perf_counter() - started
        probs, _ = clf.scores(te)
        acc, ece = _accuracy_ece(probs, clf.classes, ys)
        _row(name, f"{acc:.2f}", f"{ece:.4f}", f"{elapsed:.1f}")
    base = results["logistic regression (baseline)"]
    print(f"  -> {acc - base:+.2f} points vs logistic regression; target >= 93.7, ECE <= 0.05")
    print(f"     (T={clf.temperature:.3f}, fit report: {clf.report})")

    print("\n  10-shot (10 examples per intent, seeds 0-4)")
    _row("method", "mean acc", "min-max", "mean ECE")
    labels = np.array(yt)
    classes = sorted(set(yt))
    scores: dict[str, list[tuple[float, float]]] = {
        "lr": [],
        "centroid": [],
        "plain": [],
        "ours": [],
    }
    weights: list[float | None] = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        idx = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), 10, replace=False) for c in classes]
        )
        sub_y = [yt[i] for i in idx]
        for key, fit in (("lr", _lr), ("centroid", _centroid)):
            proba, cls = fit(plain_tr[idx], sub_y)
            scores[key].append(_accuracy_ece(proba(plain_te), cls, ys))
        for key, weight in (("plain", 0.0), ("ours", _AUTO)):
            clf = IntentClassifier(embedder, seed=seed, block_weight=weight, persist=False)
            clf.fit_embeddings(tr[idx], sub_y)
            probs, _ = clf.scores(te)
            scores[key].append(_accuracy_ece(probs, clf.classes, ys))
        assert clf.report is not None
        weights.append(clf.report.block_weight)
    for key, name in (
        ("lr", "logistic regression (baseline)"),
        ("centroid", "nearest centroid"),
        ("plain", "IntentClassifier, sentence embedding only"),
        ("ours", _OURS),
    ):
        accs = [a for a, _ in scores[key]]
        _row(
            name,
            f"{statistics.mean(accs):.2f}",
            f"{min(accs):.2f}-{max(accs):.2f}",
            f"{statistics.mean(e for _, e in scores[key]):.4f}",
        )
    gain = statistics.mean(a for a, _ in scores["ours"]) - statistics.mean(
        a for a, _ in scores["lr"]
    )
    print(f"  -> {gain:+.2f} points vs logistic regression; target >= 86.5")
    print(f"     (layer-2 block weights chosen per seed: {weights})")


# --- CLINC150 ----------------------------------------------------------------------------------


def auroc(positive: Matrix, negative: Matrix) -> float:
    """Probability that an in-scope message outscores an out-of-scope one (ties count 1/2)."""
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    return float(roc_auc_score(labels, np.r_[positive, negative]))


def _oos_metrics(
    in_scores: Matrix, in_correct: Matrix, oos_scores: Matrix, threshold: float
) -> tuple[float, float, float]:
    in_acc = 100 * float(((in_scores >= threshold) & in_correct).mean())
    recall = 100 * float((oos_scores < threshold).mean())
    return in_acc, recall, auroc(in_scores, oos_scores)


def _curve(
    name: str,
    val: tuple[Matrix, Matrix, Matrix],
    test: tuple[Matrix, Matrix, Matrix],
) -> None:
    """Where "best in-scope accuracy at val OOS recall >= r" lands on val and on test."""
    print(f"\n  trade-off of {name}: threshold chosen on val for each required OOS recall r")
    _row("r (val OOS recall >=)", "val in-scope", "val OOS rec", "test in-scope", "test OOS rec")
    for r in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        th = choose_threshold(*val, min_oos_recall=r).threshold
        v_in, v_rec, _ = _oos_metrics(val[0], val[1], val[2], th)
        t_in, t_rec, _ = _oos_metrics(test[0], test[1], test[2], th)
        _row(f"{r:.2f}", f"{v_in:.2f}", f"{v_rec:.2f}", f"{t_in:.2f}", f"{t_rec:.2f}")
    print("  for reference only (threshold set on test, not a selection rule):")
    _row("test OOS recall", "test in-scope", "", "", "")
    for q in (0.6, 0.7, 0.8, 0.9):
        th = float(np.quantile(test[2], q))
        t_in, t_rec, _ = _oos_metrics(test[0], test[1], test[2], th)
        _row(f"{t_rec:.2f}", f"{t_in:.2f}", "", "", "")


def bench_clinc150(embedder: Embedder, min_oos_recall: float) -> None:
    require("clinc150")
    print("\nCLINC150 (test: 4,500 in-scope, 1,000 out-of-scope)")
    d = clinc150()
    keys = ("train", "val", "test", "oos_train", "oos_val", "oos_test")
    vec = dict(zip(keys, _embed_all(embedder, *(d[k][0] for k in keys)), strict=True))
    y_train, y_val, y_test = d["train"][1], d["val"][1], d["test"][1]
    r = min_oos_recall
    print(
        "  rules (both on val + oos_val only): 'sum' maximises in-scope accuracy + OOS recall;\n"
        f"  'r={r}' takes the best in-scope accuracy whose val OOS recall is >= {r}"
    )
    _row("method", "in-scope acc", "OOS recall", "AUROC")

    # Baseline: plain LR on the sentence embedding, score = max probability, thresholds by the
    # same rules on val + oos_val.
    plain = {k: first_block(embedder, v) for k, v in vec.items()}
    proba, classes = _lr(plain["train"], y_train)
    pv, po = proba(plain["val"]), proba(plain["oos_val"])
    val_ok = np.array([classes[p] == t for p, t in zip(pv.argmax(1), y_val, strict=True)])
    pt, pot = proba(plain["test"]), proba(plain["oos_test"])
    test_ok = np.array([classes[p] == t for p, t in zip(pt.argmax(1), y_test, strict=True)])
    base: dict[float | None, tuple[float, float, float]] = {}
    for rule in (None, r):
        th = choose_threshold(pv.max(1), val_ok, po.max(1), min_oos_recall=rule).threshold
        result = base[rule] = _oos_metrics(pt.max(1), test_ok, pot.max(1), th)
        _row(
            f"LR max prob (baseline), rule {'sum' if rule is None else f'r={rule}'}",
            *(f"{v:.2f}" for v in result[:2]),
            f"{result[2]:.4f}",
        )

    def ours(name: str, clf: IntentClassifier) -> tuple[float, float, float]:
        probs, score = clf.scores(vec["test"])
        ok = np.array([clf.classes[p] == t for p, t in zip(probs.argmax(1), y_test, strict=True)])
        _, oos_score = clf.scores(vec["oos_test"])
        result = _oos_metrics(score, ok, oos_score, clf.threshold)
        _row(name, *(f"{v:.2f}" for v in result[:2]), f"{result[2]:.4f}")
        return result

    val_x = np.concatenate([vec["val"], vec["oos_val"]])
    val_labels: list[str | None] = [*y_val, *([None] * len(vec["oos_val"]))]

    def fit(
        oos: bool, rule: float | None, weight: float | Literal["auto"] = _AUTO
    ) -> IntentClassifier:
        return IntentClassifier(
            embedder, min_oos_recall=rule, block_weight=weight, persist=False
        ).fit_embeddings(
            vec["train"],
            y_train,
            oos_x=vec["oos_train"] if oos else None,
            val_x=val_x,
            val_labels=val_labels,
        )

    ours(f"sentence embedding only, oos_train, rule r={r}", fit(True, r, 0.0))
    with_oos = ours("IntentClassifier + oos_train class, rule sum", fit(True, None))
    clf = fit(True, r)
    at_r = ours(f"IntentClassifier + oos_train class, rule r={r}", clf)
    ours("IntentClassifier, no oos_train, rule sum", fit(False, None))
    ours(f"IntentClassifier, no oos_train, rule r={r}", fit(False, r))
    assert clf.report is not None and clf._model is not None
    print(
        f"  (kNN weight {clf._model.knn_weight}, T={clf.temperature:.3f}, score weights "
        f"{np.round(clf._model.weights, 2).tolist()}; fit report: {clf.report})"
    )
    print(
        f"  -> rule r={r}: in-scope {at_r[0] - base[r][0]:+.2f}, OOS recall "
        f"{at_r[1] - base[r][1]:+.2f}, AUROC {with_oos[2] - base[r][2]:+.4f} vs the baseline with "
        "the same rule; target in-scope >= 94.5 with OOS recall >= 80, AUROC >= 0.975"
    )

    def scored(split: str, oos_split: str, y: list[str]) -> tuple[Matrix, Matrix, Matrix]:
        probs, score = clf.scores(vec[split])
        ok = np.array([clf.classes[p] == t for p, t in zip(probs.argmax(1), y, strict=True)])
        return score, ok, clf.scores(vec[oos_split])[1]

    _curve(
        "IntentClassifier + oos_train class",
        scored("val", "oos_val", y_val),
        scored("test", "oos_test", y_test),
    )
    _curve(
        "LR max prob (baseline)",
        (pv.max(1), val_ok, po.max(1)),
        (pt.max(1), test_ok, pot.max(1)),
    )

    print("\n  agent setting: 5 examples per intent, no OOS or validation data (threshold by CV)")
    labels = np.array(y_train)
    rng = np.random.default_rng(0)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), 5, replace=False) for c in sorted(set(y_train))]
    )
    started = time.perf_counter()
    clf = IntentClassifier(embedder, persist=False).fit_embeddings(
        vec["train"][idx], [y_train[i] for i in idx]
    )
    assert clf.report is not None
    print(
        f"  (fit on {len(idx)} examples in {time.perf_counter() - started:.2f}s, block weight "
        f"{clf.report.block_weight})"
    )
    ours("IntentClassifier, 5-shot, CV threshold", clf)


# --- throughput and start-up -------------------------------------------------------------------


def bench_speed() -> None:
    require("banking77")
    print("\nThroughput (uncached embedding included) and start-up")
    xt, yt = banking77("train")
    xs, _ = banking77("test")
    raw = SentenceTransformerEmbedder(extra_layers=INTENT_LAYERS)  # what LocalModel classifies with
    plain = SentenceTransformerEmbedder()
    cached = default_intent_embedder()
    clf = IntentClassifier(raw, persist=False).fit_embeddings(cached.embed(xt), yt)
    raw.embed(["warm up"])
    batch = xs[:1000]
    started = time.perf_counter()
    plain.embed(batch)
    plain_rate = len(batch) / (time.perf_counter() - started)
    started = time.perf_counter()
    raw.embed(batch)
    embed_only = len(batch) / (time.perf_counter() - started)
    started = time.perf_counter()
    clf.predict(batch)
    batch_rate = len(batch) / (time.perf_counter() - started)
    singles = xs[1000:1200]
    started = time.perf_counter()
    for text in singles:
        clf.predict_one(text)
    single_ms = 1000 * (time.perf_counter() - started) / len(singles)
    started = time.perf_counter()
    for text in singles:
        raw.embed([text])
    embed_single_ms = 1000 * (time.perf_counter() - started) / len(singles)
    _row("", "msgs/s or ms", "embed only", "ratio")
    _row(
        "embedding: + layer-2 block vs sentence only",
        f"{embed_only:.0f}/s",
        f"{plain_rate:.0f}/s",
        f"{embed_only / plain_rate:.2f}x",
    )
    _row(
        "batch of 1,000 (77 intents, 10k examples)",
        f"{batch_rate:.0f}/s",
        f"{embed_only:.0f}/s",
        f"{batch_rate / embed_only:.2f}x",
    )
    _row(
        "one message at a time",
        f"{single_ms:.1f} ms",
        f"{embed_single_ms:.1f} ms",
        f"{single_ms / embed_single_ms:.2f}x",
    )
    labels = np.array(yt)
    idx = np.concatenate([np.flatnonzero(labels == c)[:5] for c in sorted(set(yt))[:20]])
    few_x, few_y = cached.embed([xt[i] for i in idx]), [yt[i] for i in idx]
    fits = []
    for _ in range(5):
        started = time.perf_counter()
        IntentClassifier(cached, persist=False).fit_embeddings(few_x, few_y)
        fits.append(time.perf_counter() - started)
    _row("fit 20 intents x 5 examples (median of 5)", f"{statistics.median(fits):.3f} s", "", "")
    _knowledge_after_intent(xs[1200:1250])
    _loop_stall(xt, yt, xs[1250:1290])
    code = (
        "import time; t=time.perf_counter()\n"
        "from resolvekit.understanding.embedders import SentenceTransformerEmbedder as E\n"
        "i=time.perf_counter(); E(extra_layers=(2,)).embed(['hello'])\n"
        "e=time.perf_counter(); print(f'{i-t:.3f} {e-t:.3f}')\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        )
        runs.append(tuple(float(v) for v in out.stdout.split()))
    _row(
        "fresh process: import / first embedding (median of 3)",
        f"{statistics.median(r[0] for r in runs):.2f} s",
        f"{statistics.median(r[1] for r in runs):.2f} s",
        "",
    )


def _knowledge_after_intent(texts: Sequence[str]) -> None:
    """The knowledge search's embedding of a message LocalModel has just classified."""
    with tempfile.TemporaryDirectory() as folder:
        intent, plain = default_intent_embedder(folder), default_embedder(folder)
        intent.embed(["warm up"])
        plain.embed(["warm up too"])
        hit, fresh = [], []
        for text in texts:
            intent.embed([text])
            started = time.perf_counter()
            plain.embed([text])
            hit.append(time.perf_counter() - started)
            started = time.perf_counter()
            plain.embed([text + " please"])
            fresh.append(time.perf_counter() - started)
        assert plain.misses == 1 + len(texts), "the classified messages were embedded again"
    _row(
        "knowledge embedding of a classified message (p50)",
        f"{1000 * statistics.median(hit):.2f} ms",
        f"{1000 * statistics.median(fresh):.2f} ms",
        f"{statistics.median(hit) / statistics.median(fresh):.2f}x",
    )


def _loop_stall(xt: Sequence[str], yt: Sequence[str], texts: Sequence[str]) -> None:
    """How long the event loop (every other conversation) waits while LocalModel understands a
    message it has not seen: ``LocalModel.request`` (in a worker thread) against calling its
    decision code on the loop, as ``request`` did before. Each side gets its own new texts."""
    from resolvekit.messages import Message
    from resolvekit.models import DecisionKind, IntentSpec, ModelRequest
    from resolvekit.models.local import LocalModel

    labels = np.array(yt)
    specs = [
        IntentSpec(name=c, examples=[xt[i] for i in np.flatnonzero(labels == c)[:5]])
        for c in sorted(set(yt))[:20]
    ]
    allowed: frozenset[DecisionKind] = frozenset(
        {"start_intent", "answer_from_knowledge", "ask_clarification", "reply"}
    )

    def request(text: str) -> ModelRequest:
        return ModelRequest(messages=[Message(role="customer", text=text)], intents=specs,
                            allowed=allowed)  # fmt: skip

    async def beat(gaps: list[float], done: asyncio.Event) -> None:
        """A 1 ms heartbeat standing for other conversations; records how late each beat was."""
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def stalls(call: Callable[[ModelRequest], Any], batch: Sequence[str]) -> list[float]:
        worst = []
        for text in batch:
            gaps: list[float] = []
            done = asyncio.Event()
            task = asyncio.create_task(beat(gaps, done))
            await asyncio.sleep(0.003)
            await call(request(text))
            done.set()
            await task
            worst.append(max(gaps))
        return worst

    async def on_loop(req: ModelRequest) -> Any:
        return model._turn(req)

    with tempfile.TemporaryDirectory() as folder:
        model = LocalModel(embedder=default_intent_embedder(folder))
        asyncio.run(model.warm_up(specs))
        half = len(texts) // 2
        threaded = asyncio.run(stalls(model.request, texts[:half]))
        blocking = asyncio.run(stalls(on_loop, texts[half:]))
    _row(
        "event-loop stall while one new message is understood (p50 / max)",
        f"{1000 * statistics.median(threaded):.1f} / {1000 * max(threaded):.1f} ms",
        f"{1000 * statistics.median(blocking):.1f} / {1000 * max(blocking):.1f} ms",
        f"{statistics.median(threaded) / statistics.median(blocking):.2f}x",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", nargs="+", choices=("banking77", "clinc150", "speed", "fit"), default=None
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        default=None,
        help="with 'fit': also time the src of commit REV (git archive), in the same run",
    )
    parser.add_argument("--repeats", type=int, default=3, help="fits timed per process ('fit')")
    parser.add_argument(
        "--min-oos-recall",
        type=float,
        default=0.8,
        help="r of the CLINC150 rule 'best in-scope accuracy at val OOS recall >= r' (0.8)",
    )
    args = parser.parse_args(argv)
    wanted = args.only or ["banking77", "clinc150", "speed", "fit"]
    import os

    print(
        f"machine: {os.cpu_count()} CPU cores, CPU only; embedder all-MiniLM-L6-v2 + its layer 2 "
        "(disk-cached); baselines on the sentence embedding alone"
    )
    embedder = default_intent_embedder()
    assert isinstance(embedder, CachedEmbedder)
    if "banking77" in wanted:
        bench_banking77(embedder)
    if "clinc150" in wanted:
        bench_clinc150(embedder, args.min_oos_recall)
    if "speed" in wanted:
        bench_speed()
    if "fit" in wanted:
        from _fit_timing import bench_fit

        bench_fit(args.baseline, args.repeats)


if __name__ == "__main__":
    main()
