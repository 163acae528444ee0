"""The LocalModel worker under concurrent retail conversations: turns/s and p50/p99 per turn.

The retail agent (examples/retail, in-memory store, the policy knowledge base) on LocalModel
handles ``--turns`` customer messages per conversation, every message new, with 1, 16 and 64
conversations in flight. LocalModel classifies a message with its numbers and ids masked
("order [id]"), so what makes a message new to the encoder (and a miss of the embedding cache)
is its words: each conversation names its own colour and item ("the teal backpack"). With
``--repeated`` the conversations word their messages alike but for the item (six texts once
masked), as many customers send the same request at once.
Variants, each with its own empty embedding cache, run in the same process one after the other
at each concurrency:

- ``old``: ``LocalModel(batching=False)``: one turn at a time under one lock on the event
  loop's shared executor, each miss embedded alone and written + fsynced before the turn goes on
  (the knowledge base's embedder likewise);
- ``new``: the model worker (the default): turns on the model's own executor, concurrent
  embeddings in one forward pass, cache writes in the background;
- ``old-torch`` (``--torch``): ``old`` on sentence-transformers, i.e. the path before the
  numpy encoder too;
- ``new-numpy`` and ``new-int8`` (``--encoders``): ``new`` with the encoder set to the numpy
  one (``new`` before onnxruntime) and to the int8-quantised onnxruntime graph (``new`` runs the
  default: onnxruntime fp32 when installed, else numpy).

Run from the repository root::

    .venv/bin/python tools/bench/bench_worker.py                    # a few minutes on 2 cores
    .venv/bin/python tools/bench/bench_worker.py --levels 64 --torch
    .venv/bin/python tools/bench/bench_worker.py --levels 64 --rounds 2 --encoders
    .venv/bin/python tools/bench/bench_worker.py --levels 64 --rounds 2 --repeated
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from resolvekit.models.local import LocalModel  # noqa: E402
from resolvekit.understanding._batching import BatchingEmbedder  # noqa: E402
from resolvekit.understanding._cache import CachedEmbedder  # noqa: E402
from resolvekit.understanding.embedders import (  # noqa: E402
    SentenceTransformerEmbedder,
    default_embedder,
    default_intent_embedder,
)

REPEATED = (
    "Hi, I want to return the {item} from order #W{order}, conversation {n}",
    "my email is customer{n}.{order}@example.com",
    "actually can you tell me where order W{order} is? ref {n}",
    "what is your policy on refunds for a {item} bought {days} days ago?",
)
ITEMS = ("desk lamp", "office chair", "water bottle", "backpack", "hiking boots", "smart watch")
LINES = (
    "Hi, I want to return the {colour} {item} from order #W{order}, conversation {n}",
    "my email is customer{n}.{order}@example.com",
    "actually can you tell me where order W{order} with the {colour} {item} is? ref {n}",
    "what is your policy on refunds for a {colour} {item} bought {days} days ago?",
)
COLOURS = (
    "red",
    "blue",
    "green",
    "black",
    "white",
    "grey",
    "navy",
    "pink",
    "teal",
    "beige",
    "gold",
)
"""With the six items: 66 wordings, one per conversation up to 64."""


def load() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()


def _backend(variant: str) -> Literal["numpy", "torch"]:
    return "torch" if variant == "old-torch" else "numpy"


_NEW_ENCODERS = {"new": None, "new-numpy": "numpy", "new-int8": "onnx-int8"}
"""The model worker's variants: the encoder each sets in ``RESOLVEKIT_ENCODER`` (None: default)."""


def make_model(variant: str, cache: str) -> LocalModel:
    if variant in _NEW_ENCODERS:
        return LocalModel(embedder=default_intent_embedder(cache_dir=cache))
    inner = SentenceTransformerEmbedder(extra_layers=(2,), backend=_backend(variant))
    return LocalModel(embedder=CachedEmbedder(inner, cache_dir=cache), batching=False)


class EncoderTime:
    """Where a variant's CPU goes: the encoder's forward passes against the whole process.

    Wraps the in-process encoder under each embedder's cache (and batching) layer: the time
    is the thread CPU time inside its ``embed`` (the pass itself, not the callers' wait)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.texts = 0
        self.passes = 0
        self.counting = False

    def wrap(self, embedder: object) -> None:
        inner = embedder
        while isinstance(inner, CachedEmbedder | BatchingEmbedder):
            inner = inner.inner
        run = inner.embed  # type: ignore[attr-defined]

        def timed(texts: list[str]) -> object:
            started = time.thread_time()
            try:
                return run(texts)
            finally:
                if self.counting:
                    self.cpu += time.thread_time() - started
                    self.texts += len(texts)
                    self.passes += 1

        inner.embed = timed  # type: ignore[attr-defined]


async def run_variant(
    variant: str, concurrency: int, turns: int, salt: int, repeated: bool = False
) -> dict[str, float]:
    from examples.retail import build_agent

    encoder = _NEW_ENCODERS.get(variant)
    if encoder is None:
        os.environ.pop("RESOLVEKIT_ENCODER", None)
    else:
        os.environ["RESOLVEKIT_ENCODER"] = encoder  # read by default_*embedder below
    with tempfile.TemporaryDirectory() as cache:
        os.environ["RESOLVEKIT_CACHE_DIR"] = cache  # the knowledge base's embedder too
        # Empty embedding caches, but the ONNX graphs built once (by main), as in a deployment.
        os.symlink(GRAPHS, os.path.join(cache, "onnx"), target_is_directory=True)
        from examples.retail.db import data_dir
        from resolvekit.knowledge import KnowledgeBase

        plain = (
            default_embedder(cache_dir=cache + "/embeddings")
            if variant in _NEW_ENCODERS
            else CachedEmbedder(
                SentenceTransformerEmbedder(backend=_backend(variant)),
                cache_dir=cache + "/embeddings",
            )
        )
        kb = KnowledgeBase(embedder=plain)
        kb.add(data_dir() / "policy.md")
        model = make_model(variant, cache + "/embeddings")
        agent = build_agent(model=model, knowledge=kb)
        timing = EncoderTime()
        timing.wrap(plain)
        timing.wrap(model.embedder)
        await agent.warm_up()
        latencies: list[float] = []

        async def conversation(n: int) -> None:
            order = 1000000 + salt * 1000 + n
            lines = REPEATED if repeated else LINES
            words = {
                "n": f"{salt:03d}{n:03d}",  # six digits: always masked, "[number]"
                "order": order,
                "item": ITEMS[n % len(ITEMS)],
                "colour": COLOURS[n // len(ITEMS) % len(COLOURS)],
                "days": 2 + n % 28,
            }
            for turn in range(turns):
                text = lines[turn % len(lines)].format(**words)
                started = time.perf_counter()
                await agent.handle(customer_id=f"{variant}-{salt}-{n}", text=text)
                latencies.append(time.perf_counter() - started)

        started, cpu = time.perf_counter(), time.process_time()
        timing.counting = True
        await asyncio.gather(*(conversation(n) for n in range(concurrency)))
        timing.counting = False
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        await agent.close()
        # The background cache writer must be done with this folder before it is removed.
        for embedder in (plain, model.embedder):
            getattr(embedder, "flush", lambda: None)()
    latencies.sort()
    return {
        "turns/s": len(latencies) / wall,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "turns": len(latencies),
        "cpu": cpu,
        "encoder_cpu": timing.cpu,
        "encoded": timing.texts,
        "passes": timing.passes,
    }


GRAPHS = Path(tempfile.mkdtemp(prefix="bench-worker-onnx-"))
"""The ONNX graphs, shared by every variant's otherwise empty cache folder."""
atexit.register(shutil.rmtree, GRAPHS, ignore_errors=True)


def build_graphs() -> None:
    from resolvekit.understanding._onnx_encoder import OnnxBertEncoder, onnxruntime_available
    from resolvekit.understanding.embedders import _bundled_minilm

    folder = _bundled_minilm()
    if folder is not None and onnxruntime_available():
        for precision in ("fp32", "int8"):
            OnnxBertEncoder(folder, precision=precision, cache=GRAPHS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--turns", type=int, default=3, help="messages per conversation")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each measurement")
    parser.add_argument("--torch", action="store_true", help="add the old path on torch")
    parser.add_argument(
        "--encoders", action="store_true", help="add the worker on numpy and on onnx int8"
    )
    parser.add_argument(
        "--repeated", action="store_true", help="conversations word their messages alike"
    )
    args = parser.parse_args(argv)
    variants = ["old", "new"] + (["old-torch"] if args.torch else [])
    variants += ["new-numpy", "new-int8"] if args.encoders else []
    messages = "worded alike (six texts once masked)" if args.repeated else "each worded its own"
    print(
        f"machine: {os.cpu_count()} CPU cores; retail agent, in-memory store; messages "
        f"{messages}; load {load()}"
    )
    build_graphs()
    salt = 0
    for level in args.levels:
        print(f"\n{level} concurrent conversations x {args.turns} turns (load {load()})")
        results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
        for _ in range(args.rounds):
            for variant in variants:
                salt += 1
                results[variant].append(
                    asyncio.run(run_variant(variant, level, args.turns, salt, args.repeated))
                )
        for variant in variants:
            rows = results[variant]
            rate = [r["turns/s"] for r in rows]
            p50 = statistics.median(r["p50"] for r in rows)
            p99 = statistics.median(r["p99"] for r in rows)
            print(
                f"  {variant:9} {statistics.median(rate):7.1f} turns/s "
                f"({min(rate):.1f}-{max(rate):.1f})   p50 {1000 * p50:7.0f} ms   "
                f"p99 {1000 * p99:7.0f} ms"
            )
        print("  CPU of the turns (medians): process s, encoder s (share), texts encoded / passes")
        for variant in variants:
            rows = results[variant]
            cpu = statistics.median(r["cpu"] for r in rows)
            enc = statistics.median(r["encoder_cpu"] for r in rows)
            print(
                f"  {variant:9} {cpu:6.2f} s   encoder {enc:6.2f} s ({100 * enc / cpu:3.0f}%)   "
                f"{statistics.median(r['encoded'] for r in rows):4.0f} texts / "
                f"{statistics.median(r['passes'] for r in rows):3.0f} passes"
            )
        rates = {v: statistics.median(r["turns/s"] for r in results[v]) for v in variants}
        for variant in variants:
            if variant != "new":
                print(f"  new / {variant}: {rates['new'] / rates[variant]:.2f}x turns/s")
        for variant in ("new-numpy", "new-int8"):
            if variant in rates:
                print(f"  {variant} / old: {rates[variant] / rates['old']:.2f}x turns/s")
        print(f"  (load after: {load()})")


if __name__ == "__main__":
    main()
