"""The default store: one SQLite file in WAL mode, shared safely by the processes of one host.

- Each conversation is one row holding its JSON; a ``version`` column gives optimistic
  concurrency (a stale save raises :class:`ConcurrentUpdate`), and a partial unique index allows
  one conversation that is not closed per customer.
- :meth:`SQLiteStore.lock` serialises one customer's turns across every process using the file:
  it takes a *lease* (a row of the ``locks`` table, renewed by a heartbeat thread while held),
  which another process waits for and takes over only once it has expired (its holder crashed).
- Every SQLite call runs on the store's own worker thread, so a save waiting for the database
  never blocks the event loop.
- A save writes the row, the journal steps that changed (``steps`` table: a long journal is not
  written again on every turn) and the records it moves to the ``archive`` table in one
  transaction; a read takes a row and its steps from one snapshot.
- Failures are typed: :class:`StoreUnavailable` for transient ones (locked or busy, disk full,
  read-only, I/O error; retried a few times first), :class:`CorruptStore` for a damaged file or
  row (never overwritten).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from ..exceptions import ConcurrentUpdate, CorruptStore, StoreError, StoreUnavailable, UserError
from ._sqlite_rows import StoredRow, read_rows, transaction, write_row
from ._sqlite_schema import SCHEMA_VERSION, schema_of, upgrade
from .base import (
    PLAIN,
    Codec,
    Recent,
    _Locks,
    decode_conversation,
    decode_record,
    stamp_for_save,
)
from .conversation import Conversation, process_id

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

log = logging.getLogger("resolvekit.sessions.sqlite")

T = TypeVar("T")

_UNAVAILABLE = frozenset(
    {
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_FULL",
        "SQLITE_READONLY",
        "SQLITE_IOERR",
        "SQLITE_CANTOPEN",
        "SQLITE_PROTOCOL",
    }
)
"""Transient failures (by base error name): :class:`StoreUnavailable`, retried first."""
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
"""A damaged file: :class:`CorruptStore`."""

_ATTEMPTS = 3
_FIRST_PAUSE = 0.05
"""Seconds before the second attempt after a transient failure (doubled for each next one)."""


class SQLiteStore:
    """Conversations in a SQLite file (WAL, ``synchronous=NORMAL`` by default).

    Args:
        path: the database file (created if missing); ``":memory:"`` for a private in-memory db.
        lock_timeout: seconds :meth:`lock` waits for another process's turn of the same customer
            before raising :class:`ConcurrentUpdate`.
        lease_ttl: seconds a customer's lease outlives its last renewal: how long the customers
            of a crashed process wait before another process takes their turns over. Renewed
            every ``lease_ttl / 3`` while held.
        busy_timeout: seconds one statement waits for another process's write to finish before
            it is retried (twice, after 0.05 s and 0.1 s) and then raises
            :class:`StoreUnavailable`.
        synchronous: ``"NORMAL"`` (a committed turn survives a process crash; the last commits
            before a power loss may not) or ``"FULL"`` (an fsync per commit: survives power loss).

    Raises:
        CorruptStore: the file is not a SQLite database or was written by a newer schema.
        StoreUnavailable: the file cannot be opened or upgraded right now (locked, read-only...).
        UserError: a negative or zero time.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lock_timeout: float = 30.0,
        lease_ttl: float = 15.0,
        busy_timeout: float = 5.0,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        if lease_ttl <= 0 or busy_timeout < 0 or lock_timeout < 0:
            raise UserError(
                "lease_ttl must be positive, lock_timeout and busy_timeout not negative"
            )
        if synchronous not in ("NORMAL", "FULL"):
            raise UserError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.path = str(path)
        self.lock_timeout = lock_timeout
        self.lease_ttl = lease_ttl
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self._inherited: list[tuple[sqlite3.Connection, concurrent.futures.Executor]] = []
        self.codec: Codec = PLAIN
        """How rows are kept (:class:`~resolvekit.sessions.encrypted.EncryptedStore` sets it)."""
        self.recent = Recent()
        """The conversations saved last, returned as they are while their row is unchanged."""
        self._start()
        # A store dropped without close(): its connection closes when collected, and its
        # worker thread ends when the executor is (concurrent.futures sees to that).

    def _start(self) -> None:
        """Open the connection on a new worker thread, with this process's locks and leases."""
        self._pid = os.getpid()
        self._locks = _Locks()
        self._leases: dict[str, str] = {}
        """Customer -> lease owner, for the leases this store holds (renewed by the heartbeat)."""
        self._lease_guard = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="resolvekit-sqlite"
        )
        try:
            self._db = self._executor.submit(self._attempts, "open it", self._open).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def _worker(self) -> concurrent.futures.ThreadPoolExecutor:
        """The worker thread's executor; in a child forked after the store was opened (a
        pre-forking server), a new one with a new connection: the parent's thread does not
        exist here, and its connection must be neither used nor closed (SQLite forbids
        carrying one across a fork), so it is kept aside untouched."""
        if self._pid != os.getpid() and not self._stopping.is_set():
            self._inherited.append((self._db, self._executor))
            self._start()
        return self._executor

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- the worker thread -----------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            found = schema_of(db, self.path)
            if found != SCHEMA_VERSION:
                with transaction(db):
                    upgrade(db, schema_of(db, self.path), self.path)
        except BaseException:
            db.close()
            raise
        return db

    def _attempts(self, doing: str, job: Callable[[], T]) -> T:
        """Run ``job`` (on the worker thread), again after a transient failure; SQLite errors
        come out typed. Every job is one transaction, rolled back when it fails."""
        pause = _FIRST_PAUSE
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return job()
            except sqlite3.Error as exc:
                error = self._typed(exc, doing)
                if not isinstance(error, StoreUnavailable) or attempt == _ATTEMPTS:
                    raise error from exc
                log.debug("%s: cannot %s (%s); trying again", self.path, doing, exc)
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")

    def _typed(self, exc: sqlite3.Error, doing: str) -> StoreError:
        name = getattr(exc, "sqlite_errorname", None) or ""
        detail = f"{exc} ({name})" if name else str(exc)
        base = "_".join(name.split("_", 2)[:2])
        if base in _CORRUPT:
            return CorruptStore(
                f"{self.path} is not a usable SQLite database: cannot {doing}: {detail}"
            )
        if base in _UNAVAILABLE:
            return StoreUnavailable(
                f"SQLite database {self.path} is unavailable: cannot {doing}: {detail}; "
                f"nothing was written, retry later"
            )
        return StoreError(f"SQLite database {self.path}: cannot {doing}: {detail}")

    def _fetch(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._db.execute(sql, params).fetchall()
        return rows

    def _try_lease(self, customer_id: str, owner: str) -> bool:
        """Take the customer's lease unless another owner's is unexpired (one autocommit
        statement: a write transaction of its own)."""
        db = self._db
        now = time.time()
        previous = db.execute(
            "SELECT owner, expires_at FROM locks WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        if previous is not None and previous[1] > now:
            return False  # checked without the write lock: waiters do not hold up writers
        cursor = db.execute(
            "INSERT INTO locks (customer_id, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (customer_id) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at WHERE locks.expires_at <= ?",
            (customer_id, owner, now + self.lease_ttl, now),
        )
        if cursor.rowcount == 0:
            return False  # another process took it in between
        if previous is not None:
            log.warning(
                "%s: took over the expired lease on customer %r from %s (its process stopped "
                "without releasing it)",
                self.path,
                customer_id,
                previous[0],
            )
        return True

    def _renew(self, held: dict[str, str]) -> list[str]:
        """Extend the leases in ``held``; returns the customers whose lease was lost."""
        expires_at = time.time() + self.lease_ttl
        lost = []
        with transaction(self._db):
            for customer_id, owner in held.items():
                cursor = self._db.execute(
                    "UPDATE locks SET expires_at = ? WHERE customer_id = ? AND owner = ?",
                    (expires_at, customer_id, owner),
                )
                if cursor.rowcount == 0:
                    lost.append(customer_id)
        return lost

    def _drop_lease(self, customer_id: str, owner: str) -> None:
        self._db.execute(
            "DELETE FROM locks WHERE customer_id = ? AND owner = ?", (customer_id, owner)
        )

    def _close_db(self) -> None:
        with self._lease_guard:
            held = dict(self._leases)
        with contextlib.suppress(sqlite3.Error):
            for customer_id, owner in held.items():
                self._drop_lease(customer_id, owner)
        self._db.close()

    # -- calls from the event loop ---------------------------------------------------------

    async def _run(self, doing: str, job: Callable[[], T], *, to_the_end: bool = False) -> T:
        """Run ``job`` on the worker thread. With ``to_the_end`` (writes), a cancelled caller
        still waits for a started job to finish, so its outcome is known."""
        try:
            future = self._worker().submit(self._attempts, doing, job)
        except RuntimeError:
            raise StoreError(f"SQLite database {self.path} is closed: cannot {doing}") from None
        if to_the_end:
            return await _to_the_end(future)
        return await asyncio.wrap_future(future)

    def _decode(self, row: StoredRow, *, reuse: bool = False) -> Conversation:
        if not reuse:
            return decode_conversation(
                row.id, row.data, where=self.path, codec=self.codec, steps=row.steps, owner=self
            )
        kept = self.recent.take(row.id, row.version)
        return self.recent.lend(kept or self._decode(row))

    async def _read(self, doing: str, sql: str, params: tuple[object, ...]) -> list[StoredRow]:
        """Rows (``SELECT id, version, data ...``) with their journal steps."""
        return await self._run(doing, functools.partial(read_rows, self._db, sql, params))

    async def _one(
        self, doing: str, sql: str, params: tuple[object, ...], *, reuse: bool = False
    ) -> Conversation | None:
        rows = await self._read(doing, sql, params)
        return self._decode(rows[0], reuse=reuse) if rows else None

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        return await self._open_for(customer_id, reuse=False)

    async def checkout(self, customer_id: str) -> Conversation | None:
        """:meth:`open_conversation` for a turn (under the customer's lock): the object this
        store saved last when the row is unchanged, instead of a fresh copy."""
        return await self._open_for(customer_id, reuse=True)

    async def _open_for(self, customer_id: str, *, reuse: bool) -> Conversation | None:
        doing = f"read the conversation of customer {customer_id!r}"
        where = "WHERE customer_id = ? AND status != 'closed' ORDER BY updated_at DESC LIMIT 1"
        if reuse:  # the row's version first: the object saved last needs no data read
            rows = await self._run(
                doing,
                functools.partial(
                    self._fetch, f"SELECT id, version FROM conversations {where}", (customer_id,)
                ),
            )
            if not rows:
                return None
            kept = self.recent.take(*rows[0])
            if kept is not None:
                return self.recent.lend(kept)
        sql = f"SELECT id, version, data FROM conversations {where}"
        return await self._one(doing, sql, (customer_id,), reuse=reuse)

    async def get(self, conversation_id: str) -> Conversation | None:
        return await self._one(
            f"read conversation {conversation_id}",
            "SELECT id, version, data FROM conversations WHERE id = ?",
            (conversation_id,),
        )

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        return await self._one(
            "find a resume token",
            "SELECT id, version, data FROM conversations WHERE resume_token = ?",
            (token,),
        )

    async def save(self, conversation: Conversation) -> None:
        """Write the conversation and its ``archive_out`` records in one transaction.

        Raises:
            ConcurrentUpdate: the stored version is newer than the one loaded, or the customer
                already has another conversation that is not closed.
            StoreUnavailable: the database stayed locked, or the disk is full or read-only.
        """
        with stamp_for_save(conversation, self.codec, self.recent, split=self) as write:
            await self._run(
                f"save conversation {conversation.id}",
                functools.partial(write_row, self._db, conversation, write),
                to_the_end=True,
            )

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        rows = await self._read(
            f"read the history of customer {customer_id!r}",
            "SELECT id, version, data FROM conversations "
            "WHERE customer_id = ? AND status = 'closed' ORDER BY updated_at DESC LIMIT ?",
            (customer_id, limit),
        )
        return [self._decode(row) for row in rows]

    async def inflight(self, before: float, limit: int = 100) -> list[tuple[str, str]]:
        rows = await self._run(
            "find interrupted writes",
            functools.partial(
                self._fetch,
                "SELECT id, customer_id FROM conversations WHERE status != 'closed' "
                "AND inflight_until < ? ORDER BY inflight_until LIMIT ?",
                (before, limit),
            ),
        )
        return [(str(conversation_id), str(customer_id)) for conversation_id, customer_id in rows]

    async def handed_off(self, limit: int = 100) -> list[Conversation]:
        sql = "SELECT id, version, data FROM conversations WHERE status = 'handed_off' "
        rows = await self._read(
            "list handed-off conversations", sql + "ORDER BY updated_at LIMIT ?", (limit,)
        )
        return [self._decode(row) for row in rows]

    async def awaiting_approval(self, limit: int = 100) -> list[tuple[str, str]]:
        rows = await self._run(
            "list conversations waiting for an approval",
            functools.partial(
                self._fetch,
                "SELECT id, customer_id FROM conversations WHERE status != 'closed' "
                "AND approval_since IS NOT NULL ORDER BY approval_since LIMIT ?",
                (limit,),
            ),
        )
        return [(str(conversation_id), str(customer_id)) for conversation_id, customer_id in rows]

    async def conversation_ids(self, *, updated_since: float | None = None) -> list[str]:
        """Ids of every stored conversation (open, handed off or closed), least recently
        updated first; with ``updated_since``, only those saved at or after it. Read-only: for
        reports (``resolvekit report``), which then ``get`` each one."""
        rows = await self._run(
            "list conversations",
            functools.partial(
                self._fetch,
                "SELECT id FROM conversations WHERE updated_at >= ? ORDER BY updated_at, id",
                (float("-inf") if updated_since is None else updated_since,),
            ),
        )
        return [str(row[0]) for row in rows]

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = await self._run(
            f"read conversation {conversation_id}'s archive",
            functools.partial(
                self._fetch,
                "SELECT seq, data FROM archive WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,),
            ),
        )
        return [
            decode_record(conversation_id, seq, data, where=self.path, codec=self.codec)
            for seq, data in rows
        ]

    # -- customers' leases -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lock(self, customer_id: str) -> AsyncIterator[None]:
        """Serialise one customer's turns in this process *and* across processes.

        Raises:
            ConcurrentUpdate: another process held the customer's lease for ``lock_timeout``.
            StoreUnavailable: the database stayed locked.
        """
        async with self._locks.hold(customer_id):
            if self.path == ":memory:":  # a private database: no other process to wait for
                yield
                return
            owner = f"{process_id()}:{uuid.uuid4().hex[:12]}"
            try:
                await self._take_lease(customer_id, owner)
            except StoreError:
                raise  # refused or failed: nothing was taken
            except BaseException:
                self._forget_lease(customer_id, owner)  # a cancelled attempt may have taken it
                raise
            try:
                yield
            finally:
                await self._release_lease(customer_id, owner)

    async def _take_lease(self, customer_id: str, owner: str) -> None:
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.005
        doing = f"lock customer {customer_id!r}"
        while not await self._run(doing, functools.partial(self._try_lease, customer_id, owner)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConcurrentUpdate(
                    f"Customer {customer_id!r}: another process has been handling a turn "
                    f"for {self.lock_timeout:g}s; try the message again later"
                )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        with self._lease_guard:
            self._leases[customer_id] = owner
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(
                    target=self._beat, name="resolvekit-sqlite-leases", daemon=True
                )
                self._heartbeat.start()

    async def _release_lease(self, customer_id: str, owner: str) -> None:
        with self._lease_guard:
            if self._leases.get(customer_id) == owner:
                del self._leases[customer_id]
        try:
            await self._run(
                f"unlock customer {customer_id!r}",
                functools.partial(self._drop_lease, customer_id, owner),
                to_the_end=True,
            )
        except StoreError as exc:
            # The turn is done and saved: its result stands. The lease expires by itself.
            log.warning(
                "%s: the lease on customer %r could not be released; it expires within %gs: %s",
                self.path,
                customer_id,
                self.lease_ttl,
                exc,
            )

    def _forget_lease(self, customer_id: str, owner: str) -> None:
        """Drop a lease that an interrupted :meth:`lock` may hold (queued behind its attempt)."""
        with self._lease_guard:
            if self._leases.get(customer_id) == owner:
                del self._leases[customer_id]
        job = functools.partial(self._drop_lease, customer_id, owner)
        with contextlib.suppress(RuntimeError):  # closed: nothing to drop it from
            self._worker().submit(self._attempts, f"unlock customer {customer_id!r}", job)

    def _beat(self) -> None:
        """The heartbeat thread: renew this store's leases every ``lease_ttl / 3`` while it
        holds any. A thread, so that a busy event loop cannot let a long turn's lease expire."""
        while not self._stopping.wait(self.lease_ttl / 3):
            with self._lease_guard:
                held = dict(self._leases)
                if not held:
                    self._heartbeat = None
                    return
            try:
                job = functools.partial(self._renew, held)
                lost = self._executor.submit(self._attempts, "renew leases", job).result()
            except (StoreError, RuntimeError) as exc:
                log.warning("%s: customers' leases could not be renewed: %s", self.path, exc)
                continue
            with self._lease_guard:
                lost = [c for c in lost if self._leases.get(c) == held[c]]
            for customer_id in lost:
                log.error(
                    "%s: the lease on customer %r expired and was taken by another process during "
                    "a turn; a stale save will raise ConcurrentUpdate",
                    self.path,
                    customer_id,
                )

    async def close(self) -> None:
        """Release this store's leases and close its connection (safe more than once)."""
        if self._stopping.is_set():
            return
        worker = self._worker()
        self._stopping.set()
        try:
            await asyncio.wrap_future(worker.submit(self._close_db))
        finally:
            self._executor.shutdown(wait=False)


async def _to_the_end(future: concurrent.futures.Future[T]) -> T:
    """Await a worker job. If the caller is cancelled meanwhile, a job not started yet is
    dropped; a started one runs to its end before the cancellation goes on, so that what it
    wrote (``RowWrite.committed``) is known."""
    waiting = asyncio.wrap_future(future)
    try:
        return await asyncio.shield(waiting)
    except asyncio.CancelledError:
        if future.cancel():
            raise
        while not waiting.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({waiting})
        if not waiting.cancelled():
            waiting.exception()  # retrieved: the cancellation is what the caller gets
        raise
