"""Fitted classifiers persist on disk: a second fit of the same data loads instead of fitting.

About internals: these tests read, damage and rewrite the files through the private store
(``resolvekit.understanding._classifier_store``) and make the classifier's private fitting steps
fail to prove that a fit was loaded.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
from pathlib import Path

import numpy as np
import pytest
from _classifier_worker import LABELS, PROBES, TEXTS, fit_and_classify

import resolvekit.understanding.classifier as classifier_module
from resolvekit.understanding import _classifier_store as store
from resolvekit.understanding.classifier import IntentClassifier
from resolvekit.understanding.embedders import HashingEmbedder


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(tmp_path))
    return tmp_path / "classifiers"


class RenamedEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(64)

    @property
    def name(self) -> str:
        return "another-model"


def no_fitting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any fit fail: what still works was loaded."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the classifier was fitted instead of loaded")

    monkeypatch.setattr(classifier_module, "held_out", refuse)
    monkeypatch.setattr(classifier_module, "fit_model", refuse)


def same_classifier(a: IntentClassifier, b: IntentClassifier) -> None:
    vectors = HashingEmbedder(64).embed([*PROBES, *TEXTS])
    probs_a, score_a = a.scores(vectors)
    probs_b, score_b = b.scores(vectors)
    np.testing.assert_array_equal(probs_a, probs_b)
    np.testing.assert_array_equal(score_a, score_b)
    assert (a.classes, a.threshold, a.temperature) == (b.classes, b.threshold, b.temperature)
    assert a.report == b.report
    assert a.predict(PROBES) == b.predict(PROBES)


def test_the_same_fit_loads_instead_of_fitting(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted = IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS, oos_texts=["tell me a joke"])
    assert [p.suffix for p in cache.iterdir()] == [".npz"]
    no_fitting(monkeypatch)
    loaded = IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS, oos_texts=["tell me a joke"])
    same_classifier(fitted, loaded)


def test_fit_embeddings_loads_by_the_vectors(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = HashingEmbedder(64).embed(TEXTS)
    fitted = IntentClassifier(HashingEmbedder(64), method="linear").fit_embeddings(vectors, LABELS)
    no_fitting(monkeypatch)
    loaded = IntentClassifier(HashingEmbedder(64), method="linear").fit_embeddings(vectors, LABELS)
    same_classifier(fitted, loaded)
    with pytest.raises(AssertionError, match="fitted instead of loaded"):  # other vectors
        IntentClassifier(HashingEmbedder(64), method="linear").fit_embeddings(-vectors, LABELS)


@pytest.mark.parametrize(
    "change",
    [
        {"texts": [*TEXTS[:-1], "refund me now"]},
        {"labels": [*LABELS[:-1], "order_status"]},
        {"oos_texts": ["tell me a joke"]},
        {"settings": {"c": 3.0}},
        {"settings": {"seed": 1}},
        {"settings": {"min_oos_recall": 0.9}},
        {"embedder": HashingEmbedder(32)},
        {"embedder": RenamedEmbedder()},
    ],
    ids=["text", "label", "oos", "c", "seed", "rule", "embedder", "same-vectors-other-name"],
)
def test_different_data_settings_or_embedder_refit(
    cache: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> None:
    IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS)
    no_fitting(monkeypatch)
    embedder = change.get("embedder", HashingEmbedder(64))
    settings: dict[str, object] = change.get("settings", {})  # type: ignore[assignment]
    clf = IntentClassifier(embedder, **settings)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="fitted instead of loaded"):
        clf.fit(
            change.get("texts", TEXTS),  # type: ignore[arg-type]
            change.get("labels", LABELS),  # type: ignore[arg-type]
            oos_texts=change.get("oos_texts"),  # type: ignore[arg-type]
        )


def test_persist_false_neither_reads_nor_writes(cache: Path) -> None:
    IntentClassifier(HashingEmbedder(64), persist=False).fit(TEXTS, LABELS)
    assert not cache.exists()


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"not a zip at all")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "pickle":  # an object array: must not be unpickled
        np.savez(path, meta=np.array([{"key": path.stem}], dtype=object))
    elif how == "other-key":  # a valid file copied under another fit's name
        with np.load(path) as stored:
            arrays = dict(stored)
        arrays["meta"] = np.frombuffer(b'{"key": "elsewhere", "format": 1}', np.uint8)
        np.savez(path, **arrays)
    elif how == "bad-shapes":
        with np.load(path) as stored:
            arrays = dict(stored)
        arrays["linear_w"] = arrays["linear_w"][:-1]
        np.savez(path, **arrays)
    elif how == "bad-meta":
        with np.load(path) as stored:
            arrays = dict(stored)
        arrays["meta"] = np.frombuffer(b"{not json", np.uint8)
        np.savez(path, **arrays)


@pytest.mark.parametrize(
    "how", ["truncated", "garbage", "empty", "pickle", "other-key", "bad-shapes", "bad-meta"]
)
def test_a_damaged_file_is_ignored_and_refitted(
    cache: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    fitted = IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS)
    (path,) = cache.glob("*.npz")
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.classifier"):
        _corrupt(path, how)
        refitted = IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS)
    same_classifier(fitted, refitted)
    assert "Ignoring" in caplog.text
    assert store.restore(path.stem) is not None  # the refit replaced the file


def test_an_unwritable_cache_still_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING, logger="resolvekit.understanding.classifier"):
        clf = IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS)
    assert clf.predict_one("where is my parcel").label == "order_status"
    assert "Could not save" in caplog.text


def test_old_classifiers_are_pruned_and_temp_files_never_read(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MAX_FILES", 3)
    for seed in range(5):
        IntentClassifier(HashingEmbedder(64), seed=seed).fit(TEXTS, LABELS)
    assert len(list(cache.glob("*.npz"))) == 3
    # A file being written elsewhere is never opened: only <key>.npz is read.
    key = next(cache.glob("*.npz")).stem
    (cache / f".{key}.123-deadbeef.tmp").write_bytes(b"half")
    assert store.restore(key) is not None


def test_processes_fitting_the_same_data_at_once_all_work(cache: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers, rounds = 3, 4
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=fit_and_classify, args=(str(cache.parent), w, rounds, barrier, results))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=120))
    except queue.Empty:
        pass
    for process in processes:
        process.join(timeout=30)
    assert [tb for _, _, tb in reports if tb is not None] == []
    assert [p.exitcode for p in processes] == [0] * workers
    outcomes = [o for _, worker_outcomes, _ in reports for o in worker_outcomes]
    assert len(outcomes) == workers * rounds
    assert all(o == outcomes[0] for o in outcomes)
    assert outcomes[0][0][:2] == ["order_status", "cancel_order"]
    assert len(list(cache.glob("*.npz"))) == 1
    assert list(cache.glob(".*")) == []  # no temporary file left behind


def test_a_file_being_written_never_replaces_the_old_one_until_complete(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process rewriting the same key: while its bytes are going out, readers of the
    # final name still get the previous, whole file (written aside, then os.replace).
    IntentClassifier(HashingEmbedder(64)).fit(TEXTS, LABELS)
    (path,) = cache.glob("*.npz")
    before = path.read_bytes()
    stored = store.load(path.stem)
    assert stored is not None
    real_savez = np.savez
    during: list[bool] = []

    def savez_then_look(file: object, *args: object, **kwargs: object) -> None:
        real_savez(file, *args, **kwargs)  # type: ignore[arg-type]
        during.append(path.read_bytes() == before and store.restore(path.stem) is not None)

    monkeypatch.setattr(np, "savez", savez_then_look)
    arrays, meta = stored
    assert store.save(path.stem, arrays, {**meta, "rewritten": True}) == path
    assert during == [True]  # the new bytes were complete before the old file was replaced
    assert path.read_bytes() != before and store.restore(path.stem) is not None
    assert list(cache.glob(".*")) == []
