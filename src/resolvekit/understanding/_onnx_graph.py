"""The numpy BERT encoder's forward pass as an ONNX graph, built from the same weights.

No torch and no export: :func:`build_graph` writes the graph node by node with ``onnx.helper``
from the arrays :class:`~resolvekit.understanding._minilm.BertEncoder` loaded, so the two backends
compute the same function (packed tokens for the dense layers, a padded grid only for attention,
exact GELU, mean pooling, L2 normalisation) and differ by float rounding only.

Inputs (``T`` real tokens of ``n`` texts, the longest ``L`` tokens):

- ``tokens``, ``positions``: int64 ``(T,)``, every text's token ids and positions, one after the
  other;
- ``grid``: int64 ``(n, L)``, for each place of the padded grid the row of its token in the
  packed tokens, or ``T`` (a row of zeros) for padding;
- ``real``: int64 ``(T,)``, each token's place in the flattened grid;
- ``mask_bias``: float32 ``(n, 1, 1, L)``, 0 for a real key and the float32 minimum for padding;
- ``inv_lengths``: float32 ``(n, 1)``, one over each text's token count.

Outputs ``pooled_0`` .. ``pooled_<layers>``: float32 ``(n, hidden)``, the mean-pooled,
normalised output of the embeddings (``0``) and of each layer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._minilm import BertEncoder

__all__ = ["OPSET", "build_graph", "graph_inputs"]

OPSET = 17
"""LayerNormalization is an ONNX operator from opset 17."""


class _Builder:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0
        self._gelu_constants = False

    def const(self, name: str, array: Any) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str = "", **attrs: Any) -> str:
        self._count += 1
        out = out or f"{op_type.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, weight: str, bias: str) -> str:
        return self.op("Add", [self.op("MatMul", [x, weight]), bias])

    def layer_norm(self, x: str, weight: str, bias: str, eps: float) -> str:
        return self.op("LayerNormalization", [x, weight, bias], axis=-1, epsilon=eps)

    def gelu(self, x: str) -> str:
        """BERT's exact GELU, ``x * (1 + erf(x / sqrt 2)) / 2``."""
        if not self._gelu_constants:
            self.const("half", np.array(0.5, np.float32))
            self.const("sqrt2", np.array(math.sqrt(2.0), np.float32))
            self.const("one", np.array(1.0, np.float32))
            self._gelu_constants = True
        erf = self.op("Erf", [self.op("Div", [x, "sqrt2"])])
        return self.op("Mul", [self.op("Mul", [x, "half"]), self.op("Add", [erf, "one"])])

    def pool(self, x: str, grid: str, zero_row: str, inv_lengths: str, axes: str, out: str) -> str:
        """Mean over each text's tokens (padding gathers the zero row), then L2 normalisation."""
        padded = self.op("Concat", [x, zero_row], axis=0)
        summed = self.op("ReduceSum", [self.op("Gather", [padded, grid]), axes], keepdims=0)
        mean = self.op("Mul", [summed, inv_lengths])
        norm = self.op("ReduceL2", [mean], axes=[1], keepdims=1)
        return self.op("Div", [mean, self.op("Max", [norm, "tiny"])], out=out)


def build_graph(encoder: BertEncoder) -> Any:
    """The ``onnx.ModelProto`` of ``encoder``'s forward pass (see the module docstring)."""
    from onnx import TensorProto, helper

    b = _Builder()
    h, heads, eps = encoder.hidden, encoder.heads, encoder.eps
    d = h // heads
    f32 = np.float32
    b.const("words", encoder._words)
    b.const("positions_table", encoder._positions + encoder._type0)  # type 0 for every token
    b.const("ln0_w", encoder._ln0[0])
    b.const("ln0_b", encoder._ln0[1])
    zero_row = b.const("zero_row", np.zeros((1, h), f32))
    b.const("tiny", np.array(1e-12, f32))
    axes1 = b.const("axes1", np.array([1], np.int64))
    qkv_shape = b.const("qkv_shape", np.array([0, 0, 3, heads, d], np.int64))
    flat_shape = b.const("flat_shape", np.array([-1, h], np.int64))
    index = [b.const(f"index{i}", np.array(i, np.int64)) for i in range(3)]

    x = b.op(
        "Add",
        [b.op("Gather", ["words", "tokens"]), b.op("Gather", ["positions_table", "positions"])],
    )
    x = b.layer_norm(x, "ln0_w", "ln0_b", eps)
    outputs = [b.pool(x, "grid", zero_row, "inv_lengths", axes1, "pooled_0")]
    # Folding 1/sqrt(d) into the query weights saves a multiplication over every score.
    scale = np.concatenate([np.full(h, 1.0 / math.sqrt(d)), np.ones(2 * h)]).astype(f32)
    for i, w in enumerate(encoder._layers):
        p = f"l{i}_"
        qkv = b.linear(
            x, b.const(p + "qkv", w.qkv * scale), b.const(p + "qkv_b", w.qkv_bias * scale)
        )
        padded = b.op("Concat", [qkv, b.const(p + "zero3", np.zeros((1, 3 * h), f32))], axis=0)
        grid = b.op("Gather", [padded, "grid"])  # (n, L, 3h)
        split = b.op(
            "Transpose", [b.op("Reshape", [grid, qkv_shape])], perm=[2, 0, 3, 1, 4]
        )  # (3, n, heads, L, d)
        q, k, v = (b.op("Gather", [split, index[j]], axis=0) for j in range(3))
        scores = b.op(
            "Add", [b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])]), "mask_bias"]
        )
        context = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])  # (n, heads, L, d)
        context = b.op("Transpose", [context], perm=[0, 2, 1, 3])
        context = b.op("Gather", [b.op("Reshape", [context, flat_shape]), "real"])
        attended = b.op(
            "Add",
            [b.linear(context, b.const(p + "out", w.out), b.const(p + "out_b", w.out_bias)), x],
        )
        x = b.layer_norm(
            attended, b.const(p + "ln1_w", w.ln1[0]), b.const(p + "ln1_b", w.ln1[1]), eps
        )
        up = b.linear(x, b.const(p + "up", w.up), b.const(p + "up_b", w.up_bias))
        gelu = b.gelu(up)
        down = b.op(
            "Add",
            [b.linear(gelu, b.const(p + "down", w.down), b.const(p + "down_b", w.down_bias)), x],
        )
        x = b.layer_norm(down, b.const(p + "ln2_w", w.ln2[0]), b.const(p + "ln2_b", w.ln2[1]), eps)
        outputs.append(b.pool(x, "grid", zero_row, "inv_lengths", axes1, f"pooled_{i + 1}"))
    int64, float32 = TensorProto.INT64, TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("tokens", int64, ["T"]),
        helper.make_tensor_value_info("positions", int64, ["T"]),
        helper.make_tensor_value_info("grid", int64, ["n", "L"]),
        helper.make_tensor_value_info("real", int64, ["T"]),
        helper.make_tensor_value_info("mask_bias", float32, ["n", 1, 1, "L"]),
        helper.make_tensor_value_info("inv_lengths", float32, ["n", 1]),
    ]
    outs = [
        helper.make_tensor_value_info(f"pooled_{i}", float32, ["n", h]) for i in range(len(outputs))
    ]
    graph = helper.make_graph(b.nodes, "bert_mean_pooled", inputs, outs, b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def graph_inputs(ids: list[list[int]]) -> dict[str, Any]:
    """The graph's inputs for a batch of token id lists (see the module docstring)."""
    n, length = len(ids), max(len(t) for t in ids)
    lengths = np.array([len(t) for t in ids], dtype=np.int64)
    mask = np.arange(length)[None, :] < lengths[:, None]
    total = int(lengths.sum())
    real = np.flatnonzero(mask.reshape(-1)).astype(np.int64)
    grid = np.full(n * length, total, dtype=np.int64)
    grid[real] = np.arange(total, dtype=np.int64)
    return {
        "tokens": np.fromiter((t for row in ids for t in row), dtype=np.int64, count=total),
        "positions": np.concatenate([np.arange(len(row), dtype=np.int64) for row in ids]),
        "grid": grid.reshape(n, length),
        "real": real,
        "mask_bias": ((~mask) * np.finfo(np.float32).min).astype(np.float32)[:, None, None, :],
        "inv_lengths": (1.0 / lengths.astype(np.float32))[:, None],
    }
