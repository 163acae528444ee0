"""Fitted intent classifiers on disk, so a restarted process loads one instead of refitting.

Layout, next to the embedding cache (:func:`~resolvekit.understanding._cache.cache_root`)::

    <root>/classifiers/
        <key>.npz                       one fitted classifier
        .<key>.<pid>-<random>.tmp       a file being written (by this or another process)

``<key>`` is a sha256 of everything the fit depends on: the training data (the vectors of the
examples, out-of-scope and validation messages, and the labels), the embedder's name and blocks,
the classifier's settings, and a fingerprint of the fitting code (its source files, numpy's,
scipy's and scikit-learn's versions). Any change gives a new key, so a stale classifier is never
loaded, even from an embedder that changed without changing its name.

A file is an ``.npz`` of plain arrays (the heads' weights, the kNN head's examples, the score
standardisation) plus ``meta``, a UTF-8 JSON document (labels, temperature, threshold, report)
stored as bytes; it is read with ``allow_pickle=False``, so loading runs no code. It is written
to a temporary file and moved into place with :func:`os.replace`, so a reader sees the whole file
or none. Several processes fitting the same data each write their own temporary file and the last
rename wins; the files are equivalent. A file that cannot be read or does not check out (wrong
key, missing or mis-shaped arrays) is logged and ignored: the classifier is fitted again and the
file replaced. Writing is best-effort: a failure is logged and the fitted classifier still
works. At most :data:`MAX_FILES` classifiers are kept, the least recently used dropped first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._cache import cache_root
from ._classifier_fit import Model

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["MAX_FILES", "FitKey", "Fitted", "classifier_dir", "keep", "load", "restore", "save"]

logger = logging.getLogger("resolvekit.understanding.classifier")

FORMAT = 1
"""Version of the file layout; part of every key."""
MAX_FILES = 32
"""Classifiers kept on disk; the least recently used beyond this are deleted."""
_STALE_TMP_SECONDS = 3600.0
"""Temporary files older than this are left over from a crashed writer and removed."""
_FIT_MODULES = (
    "classifier",
    "_classifier_fit",
    "_linear",
    "_heads",
    "_calibration",
    "_classifier_store",
)
"""Modules (in this folder) whose source is part of every key: changing the fit refits."""
_fingerprint: str | None = None


def classifier_dir() -> Path:
    """Where fitted classifiers are kept: ``classifiers/`` under the resolvekit cache root."""
    return cache_root() / "classifiers"


def _code_fingerprint() -> str:
    """sha256 of the fitting code and the numeric libraries' versions (computed once)."""
    global _fingerprint
    if _fingerprint is None:
        from importlib import metadata

        digest = hashlib.sha256(f"format {FORMAT}".encode())
        here = Path(__file__).parent
        for name in _FIT_MODULES:
            try:
                digest.update((here / f"{name}.py").read_bytes())
            except OSError:  # no sources (a frozen install): the versions below still count
                digest.update(name.encode())
        for dist in ("numpy", "scikit-learn", "scipy"):
            try:
                version = metadata.version(dist)
            except metadata.PackageNotFoundError:
                version = "absent"
            digest.update(f"{dist} {version}".encode())
        _fingerprint = digest.hexdigest()
    return _fingerprint


class FitKey:
    """Accumulates what a fit depends on into one sha256 key."""

    def __init__(self, settings: dict[str, object]) -> None:
        self._digest = hashlib.sha256(_code_fingerprint().encode())
        self.add(settings)

    def add(self, *parts: object) -> FitKey:
        """Add JSON-able values (texts, labels, settings); ``None`` is kept distinct from ``[]``."""
        for part in parts:
            self._digest.update(json.dumps(part, sort_keys=True, allow_nan=True).encode())
            self._digest.update(b"\x00")
        return self

    def add_array(self, array: npt.NDArray[Any] | None) -> FitKey:
        """Add an array's dtype, shape and bytes (``None`` as a marker)."""
        if array is None:
            return self.add(None)
        array = np.ascontiguousarray(array)
        self.add(str(array.dtype), list(array.shape))
        self._digest.update(array.tobytes())
        return self

    def hexdigest(self) -> str:
        """The key: 64 hex digits."""
        return self._digest.hexdigest()


def _path(directory: Path, key: str) -> Path:
    return directory / f"{key}.npz"


def load(
    key: str, directory: Path | None = None
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]] | None:
    """The arrays and metadata stored under ``key``; ``None`` when absent or unreadable."""
    path = _path(directory or classifier_dir(), key)
    try:
        # Open the file ourselves: np.load(path) leaks the handle when the zip is bad.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("key") != key or meta.get("format") != FORMAT:
            raise ValueError("the file belongs to another key or format")
    except FileNotFoundError:
        return None
    except Exception as exc:  # any failure to read means: fit again
        logger.warning(
            "Ignoring unreadable classifier file %s (%s: %s)", path, type(exc).__name__, exc
        )
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return arrays, meta


def save(
    key: str,
    arrays: dict[str, npt.NDArray[Any]],
    meta: dict[str, Any],
    directory: Path | None = None,
) -> Path | None:
    """Write one classifier atomically; its path, or ``None`` (logged) when it could not be."""
    folder = directory or classifier_dir()
    final = _path(folder, key)
    tmp = folder / f".{key}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    document = json.dumps({**meta, "key": key, "format": FORMAT}, allow_nan=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            payload: dict[str, Any] = {**arrays, "meta": np.frombuffer(document.encode(), np.uint8)}
            np.savez(handle, allow_pickle=False, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        logger.warning(
            "Could not save the fitted classifier to %s (%s: %s); it will be fitted again by "
            "the next process",
            folder,
            type(exc).__name__,
            exc,
        )
        return None
    _prune(folder, keep=final)
    return final


def _prune(folder: Path, *, keep: Path) -> None:
    """Delete the least recently used classifiers beyond :data:`MAX_FILES` and stale temp files."""
    now = time.time()
    dated: list[tuple[float, Path]] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                mtime = entry.stat().st_mtime
                if entry.name.startswith("."):
                    if entry.name.endswith(".tmp") and now - mtime > _STALE_TMP_SECONDS:
                        os.unlink(entry.path)
                elif entry.name.endswith(".npz") and entry.path != str(keep):
                    dated.append((mtime, Path(entry.path)))
    dated.sort()
    for _, path in dated[: max(0, len(dated) - (MAX_FILES - 1))]:
        with contextlib.suppress(OSError):
            path.unlink()


@dataclass(kw_only=True)
class Fitted:
    """What a fitted :class:`~resolvekit.understanding.classifier.IntentClassifier` holds."""

    model: Model
    classes: list[str]
    blocks: tuple[int, ...] | None
    block_weight: float
    threshold: float
    report: dict[str, Any]
    """The :class:`~resolvekit.understanding.classifier.FitReport`'s fields."""


def keep(key: str, fitted: Fitted, directory: Path | None = None) -> Path | None:
    """Save a fitted classifier under ``key`` (see :func:`save`)."""
    arrays, model_meta = fitted.model.to_arrays()
    meta = {
        "model": model_meta,
        "classes": fitted.classes,
        "blocks": None if fitted.blocks is None else list(fitted.blocks),
        "block_weight": fitted.block_weight,
        "threshold": fitted.threshold,
        "report": fitted.report,
    }
    return save(key, arrays, meta, directory)


def restore(key: str, directory: Path | None = None) -> Fitted | None:
    """The classifier saved under ``key``; ``None`` when absent or damaged (logged)."""
    stored = load(key, directory)
    if stored is None:
        return None
    arrays, meta = stored
    try:
        model = Model.from_arrays(arrays, meta["model"])
        classes = [str(c) for c in meta["classes"]]
        if len(classes) != model.n_classes or len(set(classes)) != len(classes):
            raise ValueError("the class list does not match the model")
        blocks = meta["blocks"]
        report = meta["report"]
        if not isinstance(report, dict):
            raise ValueError("no fit report")
        return Fitted(
            model=model,
            classes=classes,
            blocks=None if blocks is None else tuple(int(b) for b in blocks),
            block_weight=float(meta["block_weight"]),
            threshold=float(meta["threshold"]),
            report=report,
        )
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("Ignoring a damaged classifier file (%s: %s)", type(exc).__name__, exc)
        return None
