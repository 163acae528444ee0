"""The numpy BERT encoder's forward pass on onnxruntime, fp32 or int8.

The graph is built from the weights :class:`~resolvekit.understanding._minilm.BertEncoder` loads
(:mod:`._onnx_graph`, no torch), once per weights file: the ``.onnx`` file is kept in the cache
folder (``cache_root() / "onnx"``) under a hash of the weights, so a later process only reads it.
The default embedder does not wait for a build (:func:`ready_encoder`): it runs the numpy
encoder, whose vectors are the same, while a child process builds the graph.

- ``fp32``: the same function as the numpy encoder in float32, equal to float rounding (cosine
  >= 0.99999 on real messages, tested), so it shares the numpy encoder's embedding cache;
  onnxruntime runs it ~1.5x faster on one thread (fused kernels, no Python between operators).
- ``int8``: onnxruntime's dynamic quantisation of every weight matrix (int8 per output channel;
  activations quantised per batch): ~3x faster, but the vectors move (mean cosine ~0.994 against
  fp32), so it has an embedding cache of its own (the embedder's name says ``+int8``).

One intra-op thread with spinning off, as the numpy encoder runs on one BLAS thread: on the
shared 2-core machine a second spinning thread made passes slower, not faster.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..exceptions import ModelFilesError
from ._minilm import BertEncoder

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "GRAPH_VERSION",
    "OnnxBertEncoder",
    "Precision",
    "onnxruntime_available",
    "ready_encoder",
    "weights_digest",
]

Precision = Literal["fp32", "int8"]

GRAPH_VERSION = 1
"""Bumped whenever :mod:`._onnx_graph` or the quantisation settings change what is built, so an
old cached graph is never run by new code."""


class _BadGraph(ModelFilesError):
    """onnxruntime refused a graph file."""


def onnxruntime_available() -> bool:
    """Whether onnxruntime and onnx can be imported (without importing them)."""
    from importlib.util import find_spec

    try:
        return find_spec("onnxruntime") is not None and find_spec("onnx") is not None
    except (ImportError, ValueError):  # a None in sys.modules: deliberately blocked
        return False


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise ModelFilesError(path, f"cannot be read ({exc})") from exc


def _memo(path: Path, cache: Path) -> Path:
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelFilesError(path, f"cannot be read ({exc})") from exc
    stamp = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    return cache / "digests" / hashlib.sha256(stamp).hexdigest()[:32]


def _known_digest(memo: Path) -> str | None:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        known = memo.read_text(encoding="ascii").strip()
        if len(known) == 64:
            return known
    return None


def _graph_path(cache: Path, digest: str, precision: Precision) -> Path:
    return cache / f"{digest[:24]}-v{GRAPH_VERSION}-{precision}.onnx"


def weights_digest(path: Path, cache: Path) -> str:
    """SHA-256 of a weights file, remembered in ``cache`` by path, size and modification time
    (hashing 90 MB costs ~0.2 s of every cold start otherwise)."""
    memo = _memo(path, cache)
    known = _known_digest(memo)
    if known is not None:
        return known
    digest = _sha256(path)
    _write_atomic(memo, digest.encode("ascii"))
    return digest


def _write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file; False (nothing written) when the
    folder is not writable: the caller goes on from memory."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


def _quantize(fp32: bytes) -> bytes:
    """onnxruntime's dynamic int8 quantisation of the weight matrices (per output channel)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It logs "Please consider to run pre-processing before quantization" on the root logger,
    # i.e. on the customer's terminal: shape inference changes nothing on this graph.
    quiet = _DropPreprocessingAdvice()
    logging.getLogger().addFilter(quiet)
    try:
        with tempfile.TemporaryDirectory(prefix="resolvekit-onnx-") as folder:
            source, target = Path(folder, "fp32.onnx"), Path(folder, "int8.onnx")
            source.write_bytes(fp32)
            quantize_dynamic(
                source,
                target,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                weight_type=QuantType.QInt8,
            )
            return target.read_bytes()
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropPreprocessingAdvice:
    def filter(self, record: Any) -> bool:
        return not str(record.msg).startswith("Please consider to run pre-processing")


class OnnxBertEncoder:
    """A mean-pooled BERT model folder (see :func:`~._minilm.is_mean_pooled_bert`) run on
    onnxruntime, with the numpy encoder's :meth:`encode`.

    Args:
        folder: the model folder.
        precision: ``"fp32"`` (the numpy encoder's vectors) or ``"int8"`` (quantised).
        cache: folder for the built graphs; ``cache_root() / "onnx"`` by default.
        threads: onnxruntime's intra-op threads (1, as the numpy encoder's BLAS).

    Raises:
        ModelFilesError: a model file is missing or damaged.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        precision: Precision = "fp32",
        cache: Path | None = None,
        threads: int = 1,
    ) -> None:
        from ._cache import cache_root

        self.folder = Path(folder)
        self.precision: Precision = precision
        self.threads = threads
        self.cache = cache if cache is not None else cache_root() / "onnx"
        weights = self.folder / "model.safetensors"
        digest = weights_digest(weights, self.cache)
        self.graph_path = _graph_path(self.cache, digest, precision)
        # Reads config and tokenizer; the numpy weights only when the graph must be built.
        self._bert = BertEncoder(self.folder, weights=not self.graph_path.is_file())
        self.n_layers, self.hidden = self._bert.n_layers, self._bert.hidden
        self._session = self._load_session()
        self._bert.drop_weights()

    @property
    def dim(self) -> int:
        return self.hidden

    def _load_session(self) -> Any:
        if self.graph_path.is_file():
            try:
                # From the path: onnxruntime reads it itself (~0.1 s of CPU less than bytes).
                return self._open(str(self.graph_path))
            except _BadGraph:
                # A damaged cached graph (a full disk, a crash mid-write elsewhere): rebuild.
                with contextlib.suppress(OSError):
                    self.graph_path.unlink()
        return self._open(self._build())

    def _build(self) -> bytes:
        if not self._bert.has_weights:
            self._bert.load_weights()
        from ._onnx_graph import build_graph

        data: bytes = build_graph(self._bert).SerializeToString()
        if self.precision == "int8":
            data = _quantize(data)
        _write_atomic(self.graph_path, data)
        return data

    def _open(self, graph: str | bytes) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph on a bad file
            raise _BadGraph(self.graph_path, f"cannot be loaded ({exc})") from exc

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, as the numpy encoder tokenises."""
        return self._bert.tokenize(texts)

    def encode(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 64
    ) -> npt.NDArray[np.float32]:
        """As :meth:`BertEncoder.encode <resolvekit.understanding._minilm.BertEncoder.encode>`:
        ``(len(texts), len(layers) * hidden)`` float32, each block mean-pooled and normalised."""
        from ._onnx_graph import graph_inputs

        out = np.empty((len(texts), len(layers) * self.hidden), dtype=np.float32)
        if not texts:
            return out
        names = [f"pooled_{layer}" for layer in layers]
        ids = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # less padding per batch
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            pooled = self._session.run(names, graph_inputs([ids[i] for i in rows]))
            out[rows] = np.concatenate(pooled, axis=1)
        return out


# --- building in the background ---------------------------------------------------------------

_BUILDS: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
"""Graph builds running in a child process, by (model folder, cache folder)."""


def ready_encoder(folder: str | Path, cache: Path | None = None) -> OnnxBertEncoder | None:
    """The fp32 encoder of ``folder`` if its graph is built already; else ``None``, with the
    build started in a background process (once per model and cache folder per process).

    Building costs seconds (``import onnx`` alone is ~1 s of CPU, several seconds of wall time
    on a loaded machine): a process started on an empty cache runs the numpy encoder meanwhile,
    whose vectors are the same, and switches when the graph is there. The child runs at a lower
    priority and in its own interpreter, so it takes neither the GIL nor a core from the
    first replies. A build that fails leaves this process on numpy.
    """
    from ._cache import cache_root

    cache = cache if cache is not None else cache_root() / "onnx"
    key = (str(folder), str(cache))
    running = _BUILDS.get(key)
    if running is not None and running.poll() is None:
        return None
    digest = _known_digest(_memo(Path(folder, "model.safetensors"), cache))
    if digest is not None and _graph_path(cache, digest, "fp32").is_file():
        return OnnxBertEncoder(folder, cache=cache)
    if running is None:
        _BUILDS[key] = _start_build(Path(folder), cache)
    return None


def _start_build(folder: Path, cache: Path) -> subprocess.Popen[bytes]:
    package_root = str(Path(__file__).resolve().parents[2])  # this copy of resolvekit
    code = (
        f"import sys; sys.path.insert(0, {package_root!r}); "
        "from resolvekit.understanding._onnx_encoder import _build_main; _build_main()"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(folder), str(cache)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _build_main() -> None:
    """The background build: ``<folder> <cache>`` on the command line."""
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(10)
    OnnxBertEncoder(sys.argv[1], cache=Path(sys.argv[2]))
