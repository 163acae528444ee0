"""A content-addressed disk cache of embeddings, so the same text is never embedded twice.

Layout: one directory per embedder under the cache root, named from ``embedder.name``::

    <root>/embeddings/<slug>-<sha8(name)>/
        name.txt                     the embedder name, for people
        <shard-id>.npz               keys: (n, 32) uint8 sha256 digests, vectors: (n, dim) float32
        .<shard-id>.npz.tmp          a shard being written (by this or another process)

Shards are append-only and written atomically (temporary file + :func:`os.replace`), so a reader
never sees half a shard and concurrent processes never clobber each other (each writes its own
shard ids). Temporary files never match ``*.npz`` and readers skip every dot-file (older versions
named them ``.tmp-<shard-id>.npz``), so a reader never opens, let alone deletes, a shard another
process is still writing. Small shards are merged into one when there are many of them, which
keeps the number of files small when a running agent embeds one message at a time. Looking up
20k texts costs one sha256 per text and a dictionary probe; vectors are gathered with one fancy
index per shard.

A shard that cannot be parsed (truncated, not a zip, wrong shapes, non-finite values) is logged as
a warning and deleted -- only if it is still the same file it was when the read began -- and its
texts are embedded again on the next miss. A shard of another dimension (written by a different
model under the same name) is skipped, not deleted: it is valid for the process that wrote it.
A file that cannot be opened for another reason (permissions, I/O) is skipped and tried again on
the next refresh.

Writing is best-effort: when a shard cannot be written (read-only or vanished directory, full
disk, a temporary file removed under the writer), the failure is logged, the vectors stay in
memory for this process and :meth:`CachedEmbedder.embed` still returns them.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import UserError

if TYPE_CHECKING:
    import numpy.typing as npt

    from ._embedder import Embedder

__all__ = ["CachedEmbedder", "EmbeddingStore", "cache_root", "text_key"]

logger = logging.getLogger("resolvekit.understanding.cache")

_KEY_BYTES = 32
_SMALL_SHARD_ROWS = 4096
"""Shards with fewer rows than this are merged together once there are too many of them."""
_MAX_SMALL_SHARDS = 8


def cache_root() -> Path:
    """The root of resolvekit's on-disk caches.

    ``$RESOLVEKIT_CACHE_DIR`` when set, else ``~/.cache/resolvekit``. Embeddings live in its
    ``embeddings/`` folder.
    """
    env = os.environ.get("RESOLVEKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "resolvekit"


def text_key(text: str) -> bytes:
    """The cache key of one text: its sha256 digest (the embedder is the directory)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _is_format_error(exc: OSError) -> bool:
    """Whether numpy's OSError means "not an .npy/.npz file" rather than a failing disk.

    ``np.load`` raises a plain ``OSError`` (``errno`` unset) for a file it cannot interpret,
    e.g. an empty or garbage file; real I/O failures carry an ``errno``.
    """
    return exc.errno is None


def _embedder_dir(root: Path, name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60].strip("._") or "embedder"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return root / f"{slug}-{digest}"


def _is_shard_name(name: str) -> bool:
    """Whether ``name`` is a finished shard: ``*.npz`` and not a dot-file (temporary files)."""
    return name.endswith(".npz") and not name.startswith(".")


@dataclass(kw_only=True)
class _Shard:
    path: Path | None
    """The shard's ``.npz`` file; None when it could not be written (kept in memory only)."""
    keys: npt.NDArray[np.uint8]
    """``(n, 32)`` text digests."""
    vectors: npt.NDArray[np.float32]
    """The shard's rows, in key order."""


@dataclass(kw_only=True, eq=False)
class EmbeddingStore:
    """The append-only shards of one embedder's vectors, indexed in memory by text digest.

    Not usually used directly: :class:`CachedEmbedder` wraps an embedder with one.
    """

    directory: Path
    """Folder holding this embedder's shards."""
    name: str
    """The embedder's name, written to ``name.txt``."""
    dim: int | None = None
    """Vector length; learnt from the first shard read or written."""
    _index: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    _shards: list[_Shard] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_failures: int = 0
    _pending: list[_Shard] = field(default_factory=list)
    """Rows added with ``defer=True``: indexed, not yet on disk (:meth:`flush` writes them)."""
    _flush_lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._index)

    def refresh(self) -> None:
        """Read shards written since the last refresh (by this or another process)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.npz")):
            if path.name in self._seen or not _is_shard_name(path.name):
                continue
            self._seen.add(path.name)
            if not self._load_shard(path):
                self._seen.discard(path.name)  # not read this time: try again next refresh

    def _load_shard(self, path: Path) -> bool:
        """Index one shard; False if it should be tried again later (not read, not deleted)."""
        failure = ""
        try:
            # Open the file ourselves: np.load(path) leaks the handle when the zip is bad.
            with path.open("rb") as handle:
                opened = os.fstat(handle.fileno())
                try:
                    with np.load(handle, allow_pickle=False) as data:
                        keys = np.asarray(data["keys"])
                        vectors = np.asarray(data["vectors"])
                except Exception as exc:  # any decoding failure means the file is unusable
                    if isinstance(exc, OSError) and not _is_format_error(exc):
                        raise
                    failure = f"unreadable ({type(exc).__name__}: {exc})"
        except FileNotFoundError:
            return True  # merged away by another process between listing and reading
        except OSError as exc:  # permissions, I/O: the file may be fine, leave it alone
            logger.warning("Could not read embedding cache shard %s: %s; skipped", path, exc)
            return False
        problem = failure or self._check(keys, vectors)
        if problem:
            return self._discard(path, opened, problem)
        if self.dim is not None and vectors.shape[1] != self.dim:
            # Valid for whoever wrote it (another model under the same name): skip, keep it.
            logger.warning(
                "Skipping embedding cache shard %s: %d-d vectors, this process uses %d-d",
                path,
                vectors.shape[1],
                self.dim,
            )
            return True
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        shard_no = len(self._shards)
        self._shards.append(_Shard(path=path, keys=keys, vectors=vectors))
        for row, key in enumerate(keys):
            self._index[key.tobytes()] = (shard_no, row)
        return True

    def _check(self, keys: npt.NDArray[np.generic], vectors: npt.NDArray[np.generic]) -> str:
        if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != _KEY_BYTES:
            return f"bad key array {keys.dtype}{keys.shape}"
        if vectors.ndim != 2 or vectors.shape[0] != keys.shape[0] or vectors.dtype != np.float32:
            return f"bad vector array {vectors.dtype}{vectors.shape} for {keys.shape[0]} keys"
        if not np.isfinite(vectors).all():
            return "non-finite values"
        return ""

    def _discard(self, path: Path, opened: os.stat_result, why: str) -> bool:
        """Delete a shard that failed to parse, unless it changed since it was opened.

        Finished shards never change (they appear whole, by :func:`os.replace`), so a file whose
        identity, size or modification time moved while it was being read is being written by
        someone else: it is left alone and read again on the next refresh (returns False).
        """
        try:
            now = path.stat()
        except OSError:
            return True  # gone already
        if (now.st_ino, now.st_size, now.st_mtime_ns) != (
            opened.st_ino,
            opened.st_size,
            opened.st_mtime_ns,
        ):
            return False
        logger.warning(
            "Ignoring corrupt embedding cache shard %s: %s; it will be rebuilt", path, why
        )
        with contextlib.suppress(OSError):
            path.unlink()
        return True

    def lookup(self, keys: Sequence[bytes]) -> tuple[npt.NDArray[np.float32] | None, list[int]]:
        """Find cached vectors.

        Args:
            keys: text digests from :func:`text_key`.

        Returns:
            ``(vectors, missing)``: a ``(len(keys), dim)`` matrix whose rows at the positions in
            ``missing`` are zero (``None`` when nothing is known yet), and the positions of the keys
            not in the cache.
        """
        with self._lock:
            located = [self._index.get(k) for k in keys]
            if any(loc is None for loc in located):
                # Only a miss looks for shards other processes wrote since: a lookup that hits
                # everything lists no directory.
                self.refresh()
                located = [self._index.get(k) for k in keys]
            missing = [i for i, loc in enumerate(located) if loc is None]
            if len(missing) == len(keys) or self.dim is None:
                return None, missing
            out = np.zeros((len(keys), self.dim), dtype=np.float32)
            by_shard: dict[int, tuple[list[int], list[int]]] = {}
            for position, loc in enumerate(located):
                if loc is not None:
                    targets, rows = by_shard.setdefault(loc[0], ([], []))
                    targets.append(position)
                    rows.append(loc[1])
            for shard_no, (targets, rows) in by_shard.items():
                out[targets] = self._shards[shard_no].vectors[rows]
            return out, missing

    def add(
        self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32], *, defer: bool = False
    ) -> None:
        """Index new vectors and persist them as one shard (atomic).

        With ``defer``, they are indexed at once and written later, together with other
        deferred rows, by :meth:`flush` (no file I/O on the caller's path)."""
        if len(keys) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        with self._lock:
            if self.dim is not None and vectors.shape[1] != self.dim:
                logger.warning(
                    "Embedding cache %s holds %d-d vectors but %s now returns %d-d ones; "
                    "dropping the old shards",
                    self.directory,
                    self.dim,
                    self.name,
                    vectors.shape[1],
                )
                for shard in self._shards:
                    if shard.path is not None:
                        with contextlib.suppress(OSError):
                            shard.path.unlink(missing_ok=True)
                self._index.clear()
                self._shards.clear()
                self._pending.clear()
            self.dim = int(vectors.shape[1])
            if defer:
                if _flusher_pid != os.getpid():  # forked: this process has no writer yet
                    with _flusher_lock:
                        _start_flusher()
                shard = _Shard(path=None, keys=key_array, vectors=vectors)
                self._pending.append(shard)
                self._index_shard(shard, keys)
                return
            path = self._write(key_array, vectors)
            if path is not None:
                self._seen.add(path.name)
            shard_no = len(self._shards)
            self._shards.append(_Shard(path=path, keys=key_array, vectors=vectors))
            for row, key in enumerate(keys):
                self._index[key] = (shard_no, row)
            self._maybe_compact()

    def _index_shard(self, shard: _Shard, keys: Sequence[bytes]) -> None:
        shard_no = len(self._shards)
        self._shards.append(shard)
        for row, key in enumerate(keys):
            self._index[key] = (shard_no, row)

    def flush(self) -> None:
        """Write the rows added with ``defer=True`` as one shard (nothing when there are none).

        The file is written outside the index lock, so lookups and adds go on meanwhile; the
        rows stay indexed in memory either way (a failed write is logged, as for :meth:`add`).
        """
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                dim = self.dim
            pending = [s for s in pending if s.vectors.shape[1] == dim]
            if not pending:
                return
            keys = np.concatenate([s.keys for s in pending])
            vectors = np.concatenate([s.vectors for s in pending])
            path = self._write(keys, vectors)
            if path is None:
                return
            with self._lock:
                self._seen.add(path.name)
                if self.dim != dim:
                    return  # the model changed dimension meanwhile: add() dropped everything
                # The rows now live in the file: index them there (the in-memory shards become
                # empty placeholders, keeping shard numbers stable) so compaction can merge it.
                merged = _Shard(path=path, keys=keys, vectors=vectors)
                empty = _Shard(path=None, keys=keys[:0], vectors=vectors[:0])
                ids = {id(p) for p in pending}
                self._shards = [empty if id(s) in ids else s for s in self._shards]
                self._index_shard(merged, [k.tobytes() for k in keys])
                self._maybe_compact()

    def _write(self, keys: npt.NDArray[np.uint8], vectors: npt.NDArray[np.float32]) -> Path | None:
        """Write one shard atomically; None (logged) if it could not be written."""
        shard_id = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        final = self.directory / f"{shard_id}.npz"
        tmp = self.directory / f".{shard_id}.npz.tmp"  # never matches what refresh() reads
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            name_file = self.directory / "name.txt"
            if not name_file.exists():
                name_file.write_text(self.name + "\n", encoding="utf-8")
            with tmp.open("wb") as handle:
                np.savez(handle, keys=keys, vectors=vectors)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self._write_failures += 1
            # Once as a warning (a read-only cache would otherwise warn on every message).
            log = logger.warning if self._write_failures == 1 else logger.debug
            log(
                "Could not write to the embedding cache %s (%s: %s); the vectors are kept in "
                "memory only",
                self.directory,
                type(exc).__name__,
                exc,
            )
            return None
        return final

    def _maybe_compact(self) -> None:
        small = [
            s for s in self._shards if s.path is not None and s.vectors.shape[0] < _SMALL_SHARD_ROWS
        ]
        if len(small) <= _MAX_SMALL_SHARDS:
            return
        keys = np.concatenate([s.keys for s in small])
        vectors = np.concatenate([s.vectors for s in small])
        # Other processes' shards overlap ours (shared texts, their own merges): keep one row each.
        _, first = np.unique(keys, axis=0, return_index=True)
        first.sort()
        keys, vectors = keys[first], vectors[first]
        merged = self._write(keys, vectors)
        if merged is None:
            return  # nothing deleted: the small shards stay until a merge can be written
        self._seen.add(merged.name)
        for shard in small:
            assert shard.path is not None
            with contextlib.suppress(OSError):
                shard.path.unlink(missing_ok=True)
        merged_ids = {id(s) for s in small}
        self._shards = [s for s in self._shards if id(s) not in merged_ids]
        self._shards.append(_Shard(path=merged, keys=keys, vectors=vectors))
        self._index.clear()
        for shard_no, shard in enumerate(self._shards):
            for row, key in enumerate(shard.keys):
                self._index[key.tobytes()] = (shard_no, row)


_FLUSH_SECONDS = 0.5
"""How often the background writer persists deferred rows."""
_flushing: weakref.WeakSet[EmbeddingStore] = weakref.WeakSet()
_flusher: threading.Thread | None = None
_flusher_lock = threading.Lock()


def _flush_all() -> None:
    for store in list(_flushing):
        try:
            store.flush()
        except Exception:  # never let the background writer die; the rows stay in memory
            logger.exception("Could not flush the embedding cache %s", store.directory)


def _flush_forever() -> None:
    while True:
        time.sleep(_FLUSH_SECONDS)
        _flush_all()


_SHARED: dict[Path, EmbeddingStore] = {}


def _start_flusher() -> None:
    """Start the background writer unless it runs (call with ``_flusher_lock`` held)."""
    global _flusher
    if _flusher is None or _flusher_pid != os.getpid():
        _flusher = threading.Thread(
            target=_flush_forever, name="resolvekit-cache-writer", daemon=True
        )
        _flusher.start()
        _set_flusher_pid()


_flusher_pid = 0


def _set_flusher_pid() -> None:
    global _flusher_pid
    _flusher_pid = os.getpid()


def _write_behind_store(directory: Path, name: str) -> EmbeddingStore:
    """The process's one write-behind store of ``directory``, its deferred rows persisted every
    :data:`_FLUSH_SECONDS` and at exit.

    One per directory, so rows still in memory are seen by every embedder of this process that
    reads them (the knowledge base's plain MiniLM reads what LocalModel's layered one shared).
    """
    with _flusher_lock:
        store = _SHARED.get(directory)
        if store is None or store.name != name:
            store = _SHARED[directory] = EmbeddingStore(directory=directory, name=name)
            _flushing.add(store)
        if _flusher is None:
            atexit.register(_flush_all)
        _start_flusher()
        return store


class CachedEmbedder:
    """Wraps any :class:`~resolvekit.understanding.embedders.Embedder` with a disk cache.

    Texts are keyed by ``sha256(text)`` inside a folder named after ``inner.name``, so a changed
    model never serves stale vectors. Duplicate texts in one call are embedded once.

    Args:
        inner: the embedder that computes missing vectors.
        cache_dir: folder holding per-embedder caches; default ``cache_root() / "embeddings"``.
        write_behind: new vectors are served from memory at once and written to disk by a
            background thread every half second, many per shard (and at exit; :meth:`flush` to
            write them now), instead of one shard written and synced per call on the caller's
            path. Another process sees them up to half a second later.

    Attributes:
        hits: texts served from the cache so far.
        misses: texts the inner embedder had to compute so far.
    """

    def __init__(
        self,
        inner: Embedder,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        write_behind: bool = False,
    ) -> None:
        if isinstance(inner, CachedEmbedder):
            raise UserError("The embedder is already cached; do not wrap a CachedEmbedder again")
        self.inner = inner
        self._root = Path(cache_dir) if cache_dir is not None else cache_root() / "embeddings"
        directory = _embedder_dir(self._root, inner.name)
        self.store = (
            _write_behind_store(directory, inner.name)
            if write_behind
            else EmbeddingStore(directory=directory, name=inner.name)
        )
        self._first_block_store: EmbeddingStore | None = None
        self.write_behind = write_behind
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        """The inner embedder's name: cached vectors are identical to computed ones."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """The inner embedder's vector length."""
        return self.inner.dim

    @property
    def blocks(self) -> tuple[int, ...]:
        """The inner embedder's block lengths (one block when it has no ``blocks``)."""
        sizes = getattr(self.inner, "blocks", None)
        return tuple(sizes) if sizes is not None else (self.dim,)

    @property
    def directory(self) -> Path:
        """The folder holding this embedder's shards."""
        return self.store.directory

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts``, computing only those never seen before.

        Raises:
            UserError: ``texts`` is a single string or holds a non-string.
        """
        from ._embedder import check_texts

        check_texts(texts)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found, missing = self.store.lookup(keys)
        self.hits += len(texts) - len(missing)
        if not missing:
            assert found is not None
            return found
        first: dict[bytes, int] = {}
        for position in missing:
            first.setdefault(keys[position], position)
        unique = list(first.values())
        computed = np.asarray(self.inner.embed([texts[i] for i in unique]), dtype=np.float32)
        self.misses += len(unique)
        self.store.add([keys[i] for i in unique], computed, defer=self.write_behind)
        self._share_first_block([keys[i] for i in unique], computed)
        if found is not None and found.shape[1] != computed.shape[1]:
            return self.embed(texts)  # the model changed dimension: add() dropped the old shards
        out = found if found is not None else np.zeros((len(texts), computed.shape[1]), np.float32)
        row_of = {keys[i]: row for row, i in enumerate(unique)}
        out[missing] = computed[[row_of[keys[i]] for i in missing]]
        return out

    def _share_first_block(self, keys: list[bytes], computed: npt.NDArray[np.float32]) -> None:
        """Also cache the first blocks under the plain embedder they equal.

        LocalModel classifies a message with the layered intent embedder and the knowledge base
        then searches it with the plain one; with the first block cached under the plain
        embedder's name, that second embedding is a cache hit instead of another forward pass.
        """
        alias = getattr(self.inner, "first_block_name", None)
        if not alias:
            return
        if self._first_block_store is None:
            directory = _embedder_dir(self._root, alias)
            self._first_block_store = (
                _write_behind_store(directory, alias)
                if self.write_behind
                else EmbeddingStore(directory=directory, name=alias)
            )
        _, missing = self._first_block_store.lookup(keys)
        if not missing:
            return
        width = self.blocks[0]
        head = computed[missing, :width]
        head = head / np.maximum(np.linalg.norm(head, axis=1, keepdims=True), 1e-12)
        self._first_block_store.add(
            [keys[i] for i in missing], head.astype(np.float32), defer=self.write_behind
        )

    def flush(self) -> None:
        """Write vectors kept in memory by ``write_behind`` to disk now."""
        self.store.flush()
        if self._first_block_store is not None:
            self._first_block_store.flush()
