"""The numpy MiniLM encoder against sentence-transformers (torch), measured in the same run.

- **Start-up**: fresh interpreters, interleaved, timing process start -> the first embedding
  (``import`` + weights + one forward pass) for each backend; which heavy modules got imported.
- **Equality**: both backends on real messages (BANKING77 and CLINC150 test, plus edge cases:
  empty, whitespace, accents, CJK, 256+ tokens); the minimum cosine per block and the largest
  absolute difference.
- **Speed**: batches of 1, 8 and 64 messages, both backends interleaved round by round
  (median and min-max over rounds, ratio torch / numpy); torch also limited to one thread
  (the numpy encoder runs on one BLAS thread).
- **Accuracy** (``--accuracy``): BANKING77 train and test embedded by each backend with no cache,
  the intent classifier fitted on each; test accuracy and how many predictions differ.

Run from the repository root::

    .venv/bin/python tools/bench/bench_encoder.py                 # ~2 min on 2 loaded cores
    .venv/bin/python tools/bench/bench_encoder.py --accuracy      # + ~15k sentences per backend
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "src"))

from _data import banking77, clinc150, require  # noqa: E402

from resolvekit.understanding.embedders import SentenceTransformerEmbedder  # noqa: E402

BACKENDS = ("numpy", "torch")

_STARTUP = """
import sys, time
from resolvekit.understanding.embedders import SentenceTransformerEmbedder
e = SentenceTransformerEmbedder(extra_layers=(2,), backend=sys.argv[1])
e.embed(["where is my order W1234567?"])
names = ("torch", "sentence_transformers", "transformers", "sklearn")
heavy = [m for m in names if m in sys.modules]
print(",".join(heavy) or "-")
"""


def load() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()


def spread(values: list[float], unit: float = 1.0, fmt: str = "{:.2f}") -> str:
    med = fmt.format(statistics.median(values) * unit)
    return f"{med} ({fmt.format(min(values) * unit)}-{fmt.format(max(values) * unit)})"


def bench_startup(runs: int) -> None:
    print(
        f"\nStart-up: process start -> first embedding, {runs} fresh processes each (load {load()})"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    times: dict[str, list[float]] = {b: [] for b in BACKENDS}
    heavy: dict[str, str] = {}
    for _ in range(runs):
        for backend in BACKENDS:
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _STARTUP, backend],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            times[backend].append(time.perf_counter() - started)
            heavy[backend] = out.stdout.strip()
    for backend in BACKENDS:
        print(
            f"  {backend:6} {spread(times[backend])} s   heavy modules imported: {heavy[backend]}"
        )
    ratio = statistics.median(times["torch"]) / statistics.median(times["numpy"])
    print(f"  torch / numpy: {ratio:.1f}x   (load after: {load()})")


def sample_texts(n: int) -> list[str]:
    texts, _ = banking77("test")
    clinc = clinc150()["test"][0]
    rng = random.Random(0)
    edge = ["", "   ", "Ünïcödé, ça va? 日本語のテキスト", "word " * 400, "x" * 3000, "ok"]
    return rng.sample(texts, n // 2) + rng.sample(clinc, n - n // 2) + edge


def bench_equality(embedders: dict[str, SentenceTransformerEmbedder], n: int) -> None:
    texts = sample_texts(n)
    print(f"\nEquality on {len(texts)} texts (real messages + edge cases), layered embedder")
    a = embedders["numpy"].embed(texts)
    b = embedders["torch"].embed(texts)
    for block, (lo, hi) in enumerate(((0, 384), (384, 768))):
        x, y = a[:, lo:hi], b[:, lo:hi]
        cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
        print(
            f"  block {block}: min cosine {cos.min():.8f}, "
            f"max |diff| {np.abs(x - y).max():.2e} (unit rows scaled by 1/sqrt 2)"
        )


def bench_speed(embedders: dict[str, SentenceTransformerEmbedder], rounds: int) -> None:
    import torch

    texts, _ = banking77("test")
    print(
        f"\nSpeed: ms per call, median (min-max) over {rounds} rounds, interleaved (load {load()})"
    )
    for e in embedders.values():
        e.embed(texts[:8])  # loaded and warm
    offset = 0
    for size in (1, 8, 64):
        times: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for _ in range(rounds):
            batch = texts[offset : offset + size]
            offset += size
            for backend in (*BACKENDS, "torch-1t"):
                threads = torch.get_num_threads()
                if backend == "torch-1t":
                    torch.set_num_threads(1)
                started = time.perf_counter()
                embedders[backend.removesuffix("-1t")].embed(batch)
                times.setdefault(backend, []).append(time.perf_counter() - started)
                torch.set_num_threads(threads)
        ratio = statistics.median(times["torch"]) / statistics.median(times["numpy"])
        ratio1 = statistics.median(times["torch-1t"]) / statistics.median(times["numpy"])
        print(
            f"  batch {size:3}: numpy {spread(times['numpy'], 1000, '{:.1f}')}   "
            f"torch {spread(times['torch'], 1000, '{:.1f}')}   "
            f"torch 1 thread {spread(times['torch-1t'], 1000, '{:.1f}')}   "
            f"torch/numpy {ratio:.2f}x, 1 thread {ratio1:.2f}x"
        )
    print(f"  (load after: {load()})")


def bench_accuracy(embedders: dict[str, SentenceTransformerEmbedder]) -> None:
    from resolvekit.understanding.classifier import IntentClassifier

    xt, yt = banking77("train")
    xs, ys = banking77("test")
    print(f"\nBANKING77 accuracy, each backend embedding {len(xt) + len(xs)} messages uncached")
    predictions = {}
    for backend, embedder in embedders.items():
        started = time.perf_counter()
        train, test = embedder.embed(xt), embedder.embed(xs)
        took = time.perf_counter() - started
        clf = IntentClassifier(embedder).fit_embeddings(train, yt)
        predictions[backend] = [p.label for p in clf.predict_embeddings(test)]
        accuracy = np.mean([p == y for p, y in zip(predictions[backend], ys, strict=True)])
        print(
            f"  {backend:6} test accuracy {accuracy:.4%}   (embedding {took:.0f} s, load {load()})"
        )
    differ = sum(a != b for a, b in zip(predictions["numpy"], predictions["torch"], strict=True))
    print(f"  predictions that differ between the backends: {differ} of {len(xs)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--accuracy", action="store_true")
    args = parser.parse_args(argv)
    require("banking77", "clinc150")
    print(f"machine: {os.cpu_count()} CPU cores; all-MiniLM-L6-v2 + layer 2; load {load()}")
    if args.startup_runs > 0:
        bench_startup(args.startup_runs)
    embedders = {
        b: SentenceTransformerEmbedder(extra_layers=(2,), backend=b)  # type: ignore[arg-type]
        for b in BACKENDS
    }
    bench_equality(embedders, args.texts)
    bench_speed(embedders, args.rounds)
    if args.accuracy:
        bench_accuracy(embedders)


if __name__ == "__main__":
    main()
