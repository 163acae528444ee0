"""A BERT encoder (all-MiniLM-L6-v2) in numpy: the sentence embedding without torch.

Importing sentence-transformers costs seconds (it imports torch, transformers and scikit-learn;
5-20 s on the 2-core project machine) before the first text is embedded. The bundled
all-MiniLM-L6-v2 is a plain BERT encoder, mean pooling and normalisation, which this module runs
with numpy alone: the weights are read with ``safetensors.numpy``, texts are tokenised by the Rust
``tokenizers`` package with the model's own ``tokenizer.json``, and the forward pass (6 layers,
hidden 384, 12 heads, exact GELU) is a few matrix products per layer. Its vectors equal
sentence-transformers' to float rounding (cosine >= 0.99999 on real messages, tested).

Only a model whose files check out is run here (a BERT config with absolute positions and GELU,
mean pooling then normalisation); anything else goes through sentence-transformers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ModelFilesError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["BertEncoder", "is_mean_pooled_bert"]

_F32 = np.float32
_FFN_ROWS = 64
"""Token rows per slice of the feed-forward block."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFilesError(path, "is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFilesError(path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict):
        raise ModelFilesError(path, "is not a JSON object")
    return data


def is_mean_pooled_bert(folder: Path) -> bool:
    """Whether ``folder`` holds a sentence-transformers model this module runs exactly: a BERT
    encoder with absolute positions and GELU, then mean pooling, then normalisation, with
    ``model.safetensors`` and ``tokenizer.json``. False (never an error) otherwise."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        types = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if str(m["type"]).endswith("Pooling"))
        pooling = json.loads((folder / pooling_dir / "config.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return False
    others = ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")
    mean = pooling.get("pooling_mode") == "mean" or (
        bool(pooling.get("pooling_mode_mean_tokens"))
        and not any(pooling.get(f"pooling_mode_{m}") for m in others)
    )
    return (
        types == ["Transformer", "Pooling", "Normalize"]
        and mean
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


@dataclass(frozen=True, kw_only=True)
class _Layer:
    qkv: npt.NDArray[np.float32]  # (hidden, 3 * hidden), pre-transposed: x @ qkv
    qkv_bias: npt.NDArray[np.float32]
    out: npt.NDArray[np.float32]
    out_bias: npt.NDArray[np.float32]
    ln1: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
    up: npt.NDArray[np.float32]
    up_bias: npt.NDArray[np.float32]
    down: npt.NDArray[np.float32]
    down_bias: npt.NDArray[np.float32]
    ln2: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


class BertEncoder:
    """A sentence-transformers BERT model folder run with numpy.

    Args:
        folder: the model folder (``config.json``, ``tokenizer.json``, ``model.safetensors``,
            ``sentence_bert_config.json``).
        weights: read the weights now (``False``: only config and tokenizer, for a caller that
            runs a graph built earlier; :meth:`load_weights` reads them later).

    Raises:
        ModelFilesError: a file is missing, unreadable or does not match the config.
    """

    def __init__(self, folder: str | Path, *, weights: bool = True) -> None:
        self.folder = Path(folder)
        config = _read_json(self.folder / "config.json")
        st_config_path = self.folder / "sentence_bert_config.json"
        st_config = _read_json(st_config_path) if st_config_path.exists() else {}
        try:
            self.hidden = int(config["hidden_size"])
            self.heads = int(config["num_attention_heads"])
            self.n_layers = int(config["num_hidden_layers"])
            self.eps = float(config.get("layer_norm_eps", 1e-12))
            max_positions = int(config["max_position_embeddings"])
            self.max_length = min(int(st_config.get("max_seq_length", 512)), max_positions)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFilesError(
                self.folder / "config.json", f"lacks a BERT setting: {exc}"
            ) from exc
        self._tokenizer = self._load_tokenizer(self.folder / "tokenizer.json")
        self._layers: list[_Layer] = []
        if weights:
            self.load_weights()

    @property
    def has_weights(self) -> bool:
        """Whether the weights are in memory (see ``weights``)."""
        return "_words" in self.__dict__

    def load_weights(self) -> None:
        """Read ``model.safetensors`` (done by the constructor unless ``weights=False``)."""
        self._load_weights(self.folder / "model.safetensors")

    def drop_weights(self) -> None:
        """Free the weights (tokenising still works; :meth:`encode` needs :meth:`load_weights`)."""
        self._layers = []
        for name in ("_words", "_positions", "_type0", "_ln0"):
            self.__dict__.pop(name, None)

    @property
    def dim(self) -> int:
        return self.hidden

    def _load_tokenizer(self, path: Path) -> Any:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - tokenizers ships with the local extra
            raise ModelFilesError(path, "needs the tokenizers package") from exc
        if not path.is_file():
            raise ModelFilesError(path, "is missing")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises a bare Exception on bad JSON
            raise ModelFilesError(path, f"cannot be parsed ({exc})") from exc
        # Settings are fixed here, once: the tokenizer is then only read, from any thread.
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_length)
        return tokenizer

    def _load_weights(self, path: Path) -> None:
        try:
            from safetensors.numpy import load_file
        except ImportError as exc:  # pragma: no cover - safetensors ships with the local extra
            raise ModelFilesError(path, "needs the safetensors package") from exc
        if not path.is_file():
            raise ModelFilesError(path, "is missing")
        try:
            weights = load_file(str(path))
        except Exception as exc:  # SafetensorError, OSError: a damaged or truncated file
            raise ModelFilesError(path, f"cannot be read ({exc})") from exc
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        h, ff_seen = self.hidden, 0

        def get(name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
            array = weights.get(prefix + name)
            if array is None:
                raise ModelFilesError(path, f"has no tensor {prefix + name!r}")
            if array.shape != shape or not np.issubdtype(array.dtype, np.floating):
                raise ModelFilesError(
                    path, f"tensor {prefix + name!r} is {array.dtype}{array.shape}, not {shape}"
                )
            return np.ascontiguousarray(array, dtype=_F32)

        words = weights.get(prefix + "embeddings.word_embeddings.weight")
        if words is None or words.ndim != 2:
            raise ModelFilesError(path, "has no word embeddings")
        self._words = get("embeddings.word_embeddings.weight", (words.shape[0], h))
        positions = weights.get(prefix + "embeddings.position_embeddings.weight")
        n_positions = positions.shape[0] if positions is not None else 0
        self._positions = get("embeddings.position_embeddings.weight", (n_positions, h))
        self.max_length = min(self.max_length, n_positions)
        types = weights.get(prefix + "embeddings.token_type_embeddings.weight")
        self._type0 = (
            get("embeddings.token_type_embeddings.weight", (types.shape[0], h))[0]
            if types is not None
            else np.zeros(h, _F32)
        )
        self._ln0 = (
            get("embeddings.LayerNorm.weight", (h,)),
            get("embeddings.LayerNorm.bias", (h,)),
        )
        layers: list[_Layer] = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            up = weights.get(prefix + p + "intermediate.dense.weight")
            ff_seen = up.shape[0] if up is not None and up.ndim == 2 else 0
            q, k, v = (
                get(p + f"attention.self.{n}.weight", (h, h)) for n in ("query", "key", "value")
            )
            qb, kb, vb = (
                get(p + f"attention.self.{n}.bias", (h,)) for n in ("query", "key", "value")
            )
            layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate([q, k, v]).T),
                    qkv_bias=np.concatenate([qb, kb, vb]),
                    out=np.ascontiguousarray(get(p + "attention.output.dense.weight", (h, h)).T),
                    out_bias=get(p + "attention.output.dense.bias", (h,)),
                    ln1=(
                        get(p + "attention.output.LayerNorm.weight", (h,)),
                        get(p + "attention.output.LayerNorm.bias", (h,)),
                    ),
                    up=np.ascontiguousarray(get(p + "intermediate.dense.weight", (ff_seen, h)).T),
                    up_bias=get(p + "intermediate.dense.bias", (ff_seen,)),
                    down=np.ascontiguousarray(get(p + "output.dense.weight", (h, ff_seen)).T),
                    down_bias=get(p + "output.dense.bias", (h,)),
                    ln2=(
                        get(p + "output.LayerNorm.weight", (h,)),
                        get(p + "output.LayerNorm.bias", (h,)),
                    ),
                )
            )
        self._layers = layers

    # -- the forward pass ---------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (``[CLS] ... [SEP]``, truncated to the model's length)."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def encode(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 64
    ) -> npt.NDArray[np.float32]:
        """Mean-pooled, L2-normalised hidden states of ``layers`` (``0`` = embeddings output,
        ``n_layers`` = the last layer, the sentence embedding), concatenated per text:
        ``(len(texts), len(layers) * hidden)`` float32."""
        out = np.empty((len(texts), len(layers) * self.hidden), dtype=_F32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # less padding per batch
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._encode_batch([ids[i] for i in rows], tuple(layers))
        return out

    def _encode_batch(
        self, ids: list[list[int]], layers: tuple[int, ...]
    ) -> npt.NDArray[np.float32]:
        n, length = len(ids), max(len(t) for t in ids)
        lengths = np.array([len(t) for t in ids])
        mask = np.arange(length)[None, :] < lengths[:, None]  # (n, length)
        # Tokens are packed, without padding, for everything but attention: a batch of texts
        # of mixed lengths does not pay the dense layers for its padding.
        real = np.flatnonzero(mask.reshape(-1))
        tokens = np.fromiter((t for row in ids for t in row), dtype=np.int64, count=len(real))
        positions = np.concatenate([np.arange(len(row)) for row in ids])
        x = self._words[tokens] + self._positions[positions] + self._type0
        x = _layer_norm(x, *self._ln0, self.eps)
        # Padding keys get the dtype's minimum added before the softmax, as transformers does.
        bias = ((~mask) * np.finfo(_F32).min).astype(_F32)[:, None, None, :]
        pooled: dict[int, npt.NDArray[np.float32]] = {}
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])

        def pool(layer: int, states: npt.NDArray[np.float32]) -> None:
            if layer in layers:
                # Each text's tokens are contiguous (never empty: [CLS] [SEP] at least).
                summed = np.add.reduceat(states, starts, axis=0)
                summed /= lengths[:, None].astype(_F32)
                norm = np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)
                pooled[layer] = (summed / norm).astype(_F32)

        pool(0, x)
        for number, layer in enumerate(self._layers[: max(layers)], start=1):
            x = self._layer(layer, x, bias, real, n, length)
            pool(number, x)
        return np.concatenate([pooled[layer] for layer in layers], axis=1)

    def _layer(
        self,
        w: _Layer,
        x: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        real: npt.NDArray[np.intp],
        n: int,
        length: int,
    ) -> npt.NDArray[np.float32]:
        """One encoder layer on packed tokens ``x`` (``real``: their places in the padded
        ``(n, length)`` grid, which only attention uses)."""
        h, heads = self.hidden, self.heads
        d = h // heads
        packed = x @ w.qkv
        packed += w.qkv_bias  # (tokens, 3h)
        qkv = np.zeros((n * length, 3 * h), dtype=_F32)
        qkv[real] = packed
        grid = qkv.reshape(n, length, 3, heads, d).transpose(2, 0, 3, 1, 4)  # (3, n, heads, L, d)
        q, k, v = grid[0], grid[1], grid[2]
        scores = (q * _F32(1.0 / math.sqrt(d))) @ k.transpose(0, 1, 3, 2) + bias
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, h)[real]
        attended = context @ w.out
        attended += w.out_bias
        attended += x
        x = _layer_norm(attended, *w.ln1, self.eps)
        # The feed-forward block in slices of rows: its (rows, 4 * hidden) temporaries stay in
        # cache instead of being fresh pages for every elementwise step.
        out = np.empty_like(x)
        for start in range(0, x.shape[0], _FFN_ROWS):
            up = x[start : start + _FFN_ROWS] @ w.up
            up += w.up_bias
            np.matmul(_gelu(up), w.down, out=out[start : start + _FFN_ROWS])
        out += w.down_bias
        out += x
        return _layer_norm(out, *w.ln2, self.eps)


def _layer_norm(
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
    eps: float,
) -> npt.NDArray[np.float32]:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred *= 1.0 / np.sqrt(var + _F32(eps))
    centred *= weight
    centred += bias
    out: npt.NDArray[np.float32] = centred
    return out


# Abramowitz & Stegun 7.1.26: |erf error| <= 1.5e-7, below float32 resolution near 1.
_P = _F32(0.3275911)
_A = tuple(_F32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_SQRT_HALF = _F32(1.0 / math.sqrt(2.0))
_Z_MAX = _F32(6.0)
"""erf(6) is 1 in float32; clipping there keeps exp(-z^2) clear of denormals, which are ~100x
slower to compute with on x86."""


def _gelu(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """BERT's exact GELU, ``x * (1 + erf(x / sqrt 2)) / 2``.

    With ``z = |x| / sqrt 2`` and ``erf(z) = 1 - q(z)``: ``gelu(x) = max(x, 0) - |x| q(z) / 2``
    for either sign of ``x``.
    """
    a = np.abs(x)
    z = a * _SQRT_HALF
    np.minimum(z, _Z_MAX, out=z)
    t = z * _P
    t += 1.0
    np.reciprocal(t, out=t)
    q = t * _A[0]
    for coefficient in _A[1:]:
        q += coefficient
        q *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    q *= z
    q *= a
    q *= _F32(0.5)
    out = np.maximum(x, 0.0)
    out -= q
    return out
