"""The embedding cache under concurrent writers and readers, and around temporary files.

About internals: these tests also check private helpers directly
(``resolvekit.understanding._cache``).
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import queue
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from _cache_worker import DIM, hammer

from resolvekit.understanding import _cache
from resolvekit.understanding.embedders import CachedEmbedder, HashingEmbedder


def test_processes_writing_and_reading_one_cache_never_crash_or_lose_entries(
    tmp_path: Path,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = 3
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=hammer, args=(str(tmp_path), w, 3.0, barrier, results))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=60))
    except queue.Empty:
        pass
    for process in processes:
        process.join(timeout=30)
    failures = [tb for _, _, tb in reports if tb is not None]
    assert failures == []
    assert [p.exitcode for p in processes] == [0] * workers
    assert len(reports) == workers
    written = sorted({t for _, texts, _ in reports for t in texts})
    assert len(written) > 3 * workers  # each worker got through several rounds
    cached = CachedEmbedder(HashingEmbedder(DIM), cache_dir=tmp_path)
    found, missing = cached.store.lookup([_cache.text_key(t) for t in written])
    assert missing == []
    assert found is not None
    np.testing.assert_array_equal(found, HashingEmbedder(DIM).embed(written))


# --- temporary files, vanished writes, files that change while read -------------------------


def shard_dir(tmp_path: Path) -> Path:
    cached = CachedEmbedder(HashingEmbedder(DIM), cache_dir=tmp_path)
    cached.embed(["alpha"])
    return cached.directory


@pytest.mark.parametrize(
    "name",
    [".tmp-00000000000000000001-1-deadbeef.npz", ".00000000000000000001-1-deadbeef.npz.tmp"],
    ids=["old-style", "current"],
)
@pytest.mark.parametrize(
    "content", [b"", b"PK\x03\x04 half a zip", b"garbage"], ids=["empty", "partial", "garbage"]
)
def test_a_shard_being_written_is_never_read_or_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, content: bytes
) -> None:
    directory = shard_dir(tmp_path)
    in_progress = directory / name
    in_progress.write_bytes(content)
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        cached.store.refresh()
        out = cached.embed(["alpha", "beta"])
    assert in_progress.read_bytes() == content
    assert caplog.text == ""
    assert inner.embedded == ["beta"]  # "alpha" came from the finished shard
    np.testing.assert_array_equal(out, HashingEmbedder(DIM).embed(["alpha", "beta"]))


def test_shards_are_written_under_a_temporary_name_refresh_does_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[tuple[str, str]] = []
    real_replace = _cache.os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        renamed.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(_cache.os, "replace", spy)
    cached = CachedEmbedder(HashingEmbedder(DIM), cache_dir=tmp_path)
    cached.embed(["alpha"])
    ((tmp_name, final_name),) = renamed
    assert tmp_name.startswith(".")
    assert not tmp_name.endswith(".npz")
    assert final_name.endswith(".npz")
    assert not _cache._is_shard_name(tmp_name)
    assert _cache._is_shard_name(final_name)


def test_a_vanished_temporary_file_does_not_crash_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_replace = _cache.os.replace

    def delete_then_replace(src: str | Path, dst: str | Path) -> None:
        Path(src).unlink()  # what an old reader did to an in-progress shard
        real_replace(src, dst)

    monkeypatch.setattr(_cache.os, "replace", delete_then_replace)
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        out = cached.embed(["alpha", "beta"])
        again = cached.embed(["alpha", "beta"])
    np.testing.assert_array_equal(out, HashingEmbedder(DIM).embed(["alpha", "beta"]))
    np.testing.assert_array_equal(again, out)
    assert inner.embedded == ["alpha", "beta"]  # kept in memory: not embedded twice
    assert "Could not write to the embedding cache" in caplog.text
    assert "FileNotFoundError" in caplog.text
    assert list(cached.directory.iterdir()) == [cached.directory / "name.txt"]


def test_an_unwritable_cache_warns_once_and_still_embeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    cached = CachedEmbedder(HashingEmbedder(DIM), cache_dir=blocker)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        for i in range(20):  # enough small shards to try a compaction too
            out = cached.embed([f"text {i}"])
            np.testing.assert_array_equal(out, HashingEmbedder(DIM).embed([f"text {i}"]))
    assert caplog.text.count("Could not write to the embedding cache") == 1


def test_a_shard_that_changes_while_read_is_left_alone_and_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    directory = shard_dir(tmp_path)
    (shard,) = directory.glob("*.npz")
    good = shard.read_bytes()
    shard.write_bytes(good[:40])  # looks truncated...
    real_load = _cache.np.load
    calls = 0

    def load_while_someone_writes(handle: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            shard.write_bytes(good)  # ...because someone is still writing it in place
            raise EOFError("No data left in file")
        return real_load(handle, **kw)

    monkeypatch.setattr(_cache.np, "load", load_while_someone_writes)
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        cached.store.refresh()
        assert shard.exists()
        assert len(cached.store) == 0
        out = cached.embed(["alpha"])  # the next refresh reads the finished file
    assert caplog.text == ""
    assert inner.calls == []
    np.testing.assert_array_equal(out, HashingEmbedder(DIM).embed(["alpha"]))


def test_an_io_error_is_not_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    directory = shard_dir(tmp_path)
    (shard,) = directory.glob("*.npz")
    real_load = _cache.np.load
    failures = iter([OSError(errno.EIO, "Input/output error")])

    def flaky_load(handle: Any, **kw: Any) -> Any:
        for exc in failures:
            raise exc
        return real_load(handle, **kw)

    monkeypatch.setattr(_cache.np, "load", flaky_load)
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        cached.store.refresh()
    assert shard.exists()
    assert "Could not read embedding cache shard" in caplog.text
    assert "corrupt" not in caplog.text
    assert cached.embed(["alpha"]).shape == (1, DIM)
    assert inner.calls == []  # read on the next refresh


def test_a_shard_of_another_dimension_is_skipped_not_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Two processes with different models under one name: neither deletes the other's shards.
    new = CachedEmbedder(CountingEmbedder(dim=32, name="same-name"), cache_dir=tmp_path)
    new.embed(["x"])
    old_inner = CountingEmbedder(dim=16, name="same-name")
    old = CachedEmbedder(old_inner, cache_dir=tmp_path)
    old.store.dim = 16  # as if it had read or written 16-d shards already
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        old.store.refresh()
    assert "Skipping embedding cache shard" in caplog.text
    assert len(list(new.directory.glob("*.npz"))) == 1
    assert len(old.store) == 0


def test_garbage_under_a_final_name_is_still_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = shard_dir(tmp_path)
    bad = directory / "00000000000000000002-1-cafecafe.npz"
    bad.write_bytes(b"\x00\xff garbage \x13\x37" * 10)
    inner = CountingEmbedder()
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.cache"):
        out = CachedEmbedder(inner, cache_dir=tmp_path).embed(["alpha"])
    assert not bad.exists()
    assert "corrupt embedding cache shard" in caplog.text
    assert inner.calls == []
    np.testing.assert_array_equal(out, HashingEmbedder(DIM).embed(["alpha"]))


class CountingEmbedder:
    """A HashingEmbedder that records what it embeds (name and dim configurable)."""

    def __init__(self, dim: int = DIM, name: str | None = None) -> None:
        self.inner = HashingEmbedder(dim)
        self._name = name or self.inner.name
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
