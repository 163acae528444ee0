"""Conversations in PostgreSQL, for agents running on several processes or hosts.

Each conversation is one row holding its JSON, as in :mod:`~resolvekit.sessions.sqlite`; a
``version`` column gives optimistic concurrency (a stale save raises :class:`ConcurrentUpdate`),
and a partial unique index allows one conversation that is not closed per customer.
:meth:`PostgresStore.lock` serialises one customer's turns across *every* process using the
database, with a PostgreSQL advisory lock, so two workers receiving the same customer's messages
take turns instead of one failing. The version check stays as the safety net (a lock lost with
its connection cannot let a stale save through). A save writes the row and the records it moves
to the ``<table>_archive`` table in one transaction, and keeps journal steps in
``<table>_steps`` beside the row (:mod:`._split`): a save writes the steps that changed, a read
takes a row and its steps in one statement.

Rows that cannot be decoded raise :class:`CorruptStore` naming the row; they are never
overwritten. The server being unreachable (or read-only, out of disk...) raises
:class:`StoreUnavailable`; any other failure :class:`StoreError`.

Needs ``pip install "resolvekit[postgres]"`` (psycopg 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    ConcurrentUpdate,
    CorruptStore,
    ResolvekitError,
    StoreError,
    StoreUnavailable,
    UserError,
)
from ._pg_rows import StoredRow, needs_transaction, read_sql, steps_table, stored_rows, write_row
from .base import (
    DUPLICATE_OPEN,
    PLAIN,
    Codec,
    Recent,
    RowWrite,
    _Locks,
    closed_for_upgrade,
    decode_conversation,
    decode_record,
    inflight_of,
    save_conflict,
    stamp_for_save,
)
from .conversation import Conversation

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

log = logging.getLogger("resolvekit.sessions.postgres")

SCHEMA_VERSION = 4
"""1: the conversations and meta tables. 2: one open conversation per customer (a partial unique
index), ``inflight_until``, the ``<table>_archive`` table. 3: ``approval_since``. 4: the
``<table>_steps`` table (older rows keep their journals inline until their next save)."""

_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,50}")
_SCHEMA_LOCK = 0x7265736F6C7665  # one advisory key for creating tables ("resolve")


def _lock_key(table: str, customer_id: str) -> int:
    """A signed 64-bit advisory-lock key for one customer of one table."""
    digest = hashlib.blake2b(f"{table}\0{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresStore:
    """Conversations in a PostgreSQL table (created if missing).

    Args:
        url: a libpq connection URL or string (``postgresql://user:pass@host:5432/db``).
        table: the conversations table; ``<table>_meta`` holds the schema version and
            ``<table>_archive`` the records saves moved out of conversations. Lower-case
            letters, digits and underscores.
        max_connections: connections used at once for reads and saves (one more holds the
            customers' locks); further calls wait for a free one.
        connect_timeout: seconds to wait for the server before raising
            :class:`StoreUnavailable`.
        lock_timeout: seconds a turn waits for another process's turn of the same customer
            before :meth:`lock` raises :class:`ConcurrentUpdate`.

    Nothing connects until the first call. Connections belong to the event loop that opened
    them; a call from a new loop (``asyncio.run`` per request) opens new ones. Use one store per
    event loop at a time, and ``await store.close()`` (or the agent's) on shutdown.

    Raises:
        UserError: psycopg is not installed, or ``table`` is not a plain lower-case name.
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "resolvekit_conversations",
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        lock_timeout: float = 30.0,
    ) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise UserError(
                'PostgresStore needs psycopg 3: pip install "resolvekit[postgres]"'
            ) from exc
        if not _TABLE.fullmatch(table):
            raise UserError(
                f"table must be a plain lower-case name (letters, digits, _), got {table!r}"
            )
        if max_connections < 1:
            raise UserError(f"max_connections must be at least 1, got {max_connections}")
        self.url = url
        self.table = table
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.lock_timeout = lock_timeout
        self.codec: Codec = PLAIN
        """How rows are kept (:class:`~resolvekit.sessions.encrypted.EncryptedStore` sets it)."""
        self.recent = Recent()
        """The conversations saved last, returned as they are while their row is unchanged."""
        self._locks = _Locks()
        self._pid = os.getpid()
        self._inherited: list[psycopg.AsyncConnection[Any]] = []
        """Connections of the process this one was forked from: never used or closed here."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._lock_conn: psycopg.AsyncConnection[Any] | None = None
        self._lock_conn_guard = asyncio.Lock()
        self._tables_ready = False
        self._setup = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self.url)!r}, table={self.table!r})"

    # -- connections -----------------------------------------------------------------------

    def _where(self) -> str:
        return f"{_redact(self.url)} (table {self.table})"

    def _bind_loop(self) -> None:
        """Connections belong to the event loop that opened them. Under a new loop (a web
        framework calling ``asyncio.run`` per request) the old ones cannot be used: they are
        closed at the socket and new ones are opened."""
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._pid == os.getpid():
            return
        if self._pid != os.getpid():
            self._leave_to_parent()
        self._loop = loop
        self._drop_idle()
        if self._lock_conn is not None:
            self._lock_conn.pgconn.finish()
            self._lock_conn = None
        self._slots = asyncio.Semaphore(self.max_connections)
        self._lock_conn_guard = asyncio.Lock()
        self._setup = asyncio.Lock()

    def _leave_to_parent(self) -> None:
        """In a child forked after connections were opened (a pre-forking server): they share
        their sockets with the parent, so closing them here would close them (and drop the
        advisory locks) under the parent. They are kept aside untouched; the child opens its
        own."""
        self._inherited += [*self._idle, *([self._lock_conn] if self._lock_conn else [])]
        self._idle = []
        self._lock_conn = None
        self._locks = _Locks()
        self._pid = os.getpid()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        # libpq takes whole seconds and treats anything under 2 as 2.
        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=max(2, math.ceil(self.connect_timeout))
        )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection of this store's pool (at most ``max_connections`` at once), the tables
        created on first use. A connection that failed is closed, not reused."""
        self._bind_loop()
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                if not self._tables_ready:
                    async with self._setup:
                        if not self._tables_ready:
                            await self._create_tables(conn)
                            self._tables_ready = True
                yield conn
            except ResolvekitError:
                self._give_back(conn)  # our own refusal (a stale save): the connection is fine
                raise
            except BaseException:
                # A failed or cancelled statement leaves the connection in an unknown state.
                await _close_quietly(conn)
                raise
            self._give_back(conn)

    def _give_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        import psycopg

        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if conn.closed or conn.broken or not idle:
            conn.pgconn.finish()
        else:
            self._idle.append(conn)

    async def _create_tables(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            # Two processes starting at once must not race on CREATE TABLE or the upgrade.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            found = await self._schema_of(conn)
            if found != SCHEMA_VERSION:
                await self._upgrade(conn, found)

    async def _schema_of(self, conn: psycopg.AsyncConnection[Any]) -> int | None:
        """The tables' schema version (None: no tables); a newer one raises CorruptStore."""
        t = self.table
        cursor = await conn.execute("SELECT to_regclass(%s)", (f"{t}_meta",))
        exists = await cursor.fetchone()
        if exists is None or exists[0] is None:
            return None
        cursor = await conn.execute(f"SELECT value FROM {t}_meta WHERE key = 'schema'")
        row = await cursor.fetchone()
        if row is None:
            return None
        if not str(row[0]).isdigit() or int(row[0]) > SCHEMA_VERSION:
            raise CorruptStore(
                f"{self._where()} uses store schema {row[0]}, newer than this resolvekit's "
                f"{SCHEMA_VERSION}; upgrade resolvekit"
            )
        return int(row[0])

    async def _upgrade(self, conn: psycopg.AsyncConnection[Any], found: int | None) -> None:
        """Bring new or older tables to :data:`SCHEMA_VERSION` (inside the transaction)."""
        t = self.table
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {t} ("
            "id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL, "
            "updated_at DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL, "
            "resume_token TEXT, data TEXT NOT NULL, inflight_until DOUBLE PRECISION)",
            f"CREATE INDEX IF NOT EXISTS {t}_customer ON {t} (customer_id, status, updated_at)",
            f"CREATE INDEX IF NOT EXISTS {t}_token ON {t} (resume_token)",
            f"CREATE TABLE IF NOT EXISTS {t}_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS inflight_until DOUBLE PRECISION",
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS approval_since DOUBLE PRECISION",
        ):
            await conn.execute(statement)
        await self._backfill_inflight(conn)
        await self._close_duplicates(conn)
        for statement in (
            f"CREATE UNIQUE INDEX IF NOT EXISTS {t}_one_open ON {t} (customer_id) "
            "WHERE status <> 'closed'",
            f"CREATE INDEX IF NOT EXISTS {t}_inflight ON {t} (inflight_until) "
            "WHERE inflight_until IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {t}_approval ON {t} (approval_since) "
            "WHERE approval_since IS NOT NULL",
            f"CREATE TABLE IF NOT EXISTS {t}_archive (conversation_id TEXT NOT NULL, "
            "seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq))",
            steps_table(t),
        ):
            await conn.execute(statement)
        await conn.execute(
            f"INSERT INTO {t}_meta (key, value) VALUES ('schema', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        if found is not None:
            log.info("%s upgraded from store schema %s to %s", self._where(), found, SCHEMA_VERSION)

    async def _backfill_inflight(self, conn: psycopg.AsyncConnection[Any]) -> None:
        t = self.table
        cursor = await conn.execute(
            f"SELECT id, data FROM {t} WHERE status <> 'closed' AND data LIKE %s",
            ('%"started"%',),
        )
        for conversation_id, data in await cursor.fetchall():
            until = inflight_of(data, conversation_id, self._where())
            if until is not None:
                await conn.execute(
                    f"UPDATE {t} SET inflight_until = %s WHERE id = %s", (until, conversation_id)
                )

    async def _close_duplicates(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Close all but each customer's most recently updated open conversation."""
        t = self.table
        cursor = await conn.execute(DUPLICATE_OPEN.format(t=t))
        rows = await cursor.fetchall()
        for conversation_id, version, data in rows:
            closed = closed_for_upgrade(data, version + 1)
            await conn.execute(
                f"UPDATE {t} SET status = 'closed', version = %s, data = %s WHERE id = %s",
                (version + 1 if closed else version, closed or data, conversation_id),
            )
        if rows:
            log.warning(
                "%s: closed %d conversations that were a customer's second open one "
                "(one open conversation per customer from store schema 2)",
                self._where(),
                len(rows),
            )

    @contextlib.asynccontextmanager
    async def _errors(self, doing: str) -> AsyncIterator[None]:
        """psycopg failures as typed store errors naming the server (never the password)."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise self._typed(exc, doing) from exc

    def _typed(self, exc: Exception, doing: str) -> StoreError:
        import psycopg
        from psycopg import errors

        where = f"PostgreSQL at {self._where()}"
        if isinstance(exc, errors.DataCorrupted | errors.IndexCorrupted):
            return CorruptStore(f"{where} reports damaged data: cannot {doing}: {exc}")
        if isinstance(exc, psycopg.OperationalError | errors.ReadOnlySqlTransaction):
            # Unreachable, restarting, out of disk or memory, read-only (a standby after a
            # failover), a deadlock or serialization failure: the next attempt may work.
            return StoreUnavailable(f"{where} is unavailable: cannot {doing}: {exc}; retry later")
        return StoreError(f"{where}: cannot {doing}: {exc}")

    async def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        import psycopg

        async with self._errors("read conversations"):
            reused = bool(self._idle)
            try:
                return await self._fetch(sql, params)
            except psycopg.OperationalError:
                if not reused:
                    raise
                # Idle connections the server dropped (a restart, an idle timeout) fail on
                # first use: a read is safe to repeat once, on a new connection.
                self._drop_idle()
                return await self._fetch(sql, params)

    async def _fetch(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cursor = await conn.execute(sql, params)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows

    def _drop_idle(self) -> None:
        for conn in self._idle:
            conn.pgconn.finish()
        self._idle = []

    def _decode(self, row: StoredRow, *, reuse: bool = False) -> Conversation:
        if not reuse:
            return decode_conversation(
                row.id, row.data, where=self._where(), codec=self.codec, steps=row.steps, owner=self
            )
        kept = self.recent.take(row.id, row.version)
        return self.recent.lend(kept or self._decode(row))

    async def _read(self, where: str, params: tuple[object, ...], **tail: str) -> list[StoredRow]:
        """Rows matching ``where`` with their journal steps (see :func:`._pg_rows.read_sql`)."""
        return stored_rows(await self._rows(read_sql(self.table, where, **tail), params))

    # -- the Store protocol ----------------------------------------------------------------

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        return await self._open(customer_id, reuse=False)

    async def checkout(self, customer_id: str) -> Conversation | None:
        """:meth:`open_conversation` for a turn (under the customer's lock): the object this
        store saved last when the row is unchanged, instead of a fresh copy."""
        return await self._open(customer_id, reuse=True)

    async def _open(self, customer_id: str, *, reuse: bool) -> Conversation | None:
        where = "customer_id = %s AND status <> 'closed'"
        if reuse:  # the row's version first: the object saved last needs no data read
            found = await self._rows(
                f"SELECT id, version FROM {self.table} WHERE {where} "
                "ORDER BY updated_at DESC LIMIT 1",
                (customer_id,),
            )
            if not found:
                return None
            kept = self.recent.take(*found[0])
            if kept is not None:
                return self.recent.lend(kept)
        rows = await self._read(where, (customer_id,), order="updated_at DESC", limit="LIMIT 1")
        return self._decode(rows[0], reuse=reuse) if rows else None

    async def get(self, conversation_id: str) -> Conversation | None:
        rows = await self._read("id = %s", (conversation_id,))
        return self._decode(rows[0]) if rows else None

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        rows = await self._read("resume_token = %s", (token,))
        return self._decode(rows[0]) if rows else None

    async def save(self, conversation: Conversation) -> None:
        """Write the conversation and its ``archive_out`` records in one transaction.

        Raises:
            ConcurrentUpdate: the stored version is newer than the one loaded, or the customer
                already has another conversation that is not closed.
            StoreUnavailable: the server cannot be reached (or is read-only, out of disk...).
        """
        import psycopg

        with stamp_for_save(conversation, self.codec, self.recent, split=self) as write:
            doing = f"save conversation {conversation.id}"
            async with self._errors(doing), self._connection() as conn:
                try:
                    # Steps and archive records go in one transaction with the row; without
                    # any, the row's one statement is atomic by itself (two round trips fewer).
                    together = needs_transaction(write)
                    async with conn.transaction() if together else contextlib.nullcontext():
                        await write_row(conn, self.table, conversation, write)
                except psycopg.errors.UniqueViolation as exc:
                    raise self._conflict(conversation, write, exc) from None
            write.committed = True

    def _conflict(
        self, conversation: Conversation, write: RowWrite, exc: Exception
    ) -> ConcurrentUpdate:
        constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
        second_open = constraint == f"{self.table}_one_open"
        return save_conflict(conversation, write, second_open=second_open)

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        rows = await self._read(
            "customer_id = %s AND status = 'closed'",
            (customer_id, limit),
            order="updated_at DESC",
            limit="LIMIT %s",
        )
        return [self._decode(row) for row in rows]

    async def conversation_ids(self, *, updated_since: float | None = None) -> list[str]:
        """Ids of every stored conversation (open, handed off or closed), least recently
        updated first; with ``updated_since``, only those saved at or after it. Read-only: for
        reports (``resolvekit report``), which then ``get`` each one."""
        rows = await self._rows(
            f"SELECT id FROM {self.table} WHERE updated_at >= %s ORDER BY updated_at, id",
            (float("-inf") if updated_since is None else updated_since,),
        )
        return [str(row[0]) for row in rows]

    async def inflight(self, before: float, limit: int = 100) -> list[tuple[str, str]]:
        rows = await self._rows(
            f"SELECT id, customer_id FROM {self.table} WHERE status <> 'closed' "
            "AND inflight_until < %s ORDER BY inflight_until LIMIT %s",
            (before, limit),
        )
        return [(str(conversation_id), str(customer_id)) for conversation_id, customer_id in rows]

    async def handed_off(self, limit: int = 100) -> list[Conversation]:
        rows = await self._read(
            "status = 'handed_off'", (limit,), order="updated_at", limit="LIMIT %s"
        )
        return [self._decode(row) for row in rows]

    async def awaiting_approval(self, limit: int = 100) -> list[tuple[str, str]]:
        rows = await self._rows(
            f"SELECT id, customer_id FROM {self.table} WHERE status <> 'closed' "
            "AND approval_since IS NOT NULL ORDER BY approval_since LIMIT %s",
            (limit,),
        )
        return [(str(conversation_id), str(customer_id)) for conversation_id, customer_id in rows]

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = await self._rows(
            f"SELECT seq, data FROM {self.table}_archive WHERE conversation_id = %s ORDER BY seq",
            (conversation_id,),
        )
        return [
            decode_record(conversation_id, seq, data, where=self._where(), codec=self.codec)
            for seq, data in rows
        ]

    @contextlib.asynccontextmanager
    async def lock(self, customer_id: str) -> AsyncIterator[None]:
        """Serialise one customer's turns in this process *and* across processes.

        Raises:
            ConcurrentUpdate: another process held the customer's lock for ``lock_timeout``.
            StoreUnavailable: the server cannot be reached.
        """
        async with self._locks.hold(customer_id):
            key = _lock_key(self.table, customer_id)
            conn = await self._take_advisory(key, customer_id)
            try:
                yield
            finally:
                await self._release_advisory(conn, key)

    async def _lock_connection(self) -> psycopg.AsyncConnection[Any]:
        self._bind_loop()
        async with self._lock_conn_guard:
            if self._lock_conn is None or self._lock_conn.closed or self._lock_conn.broken:
                self._lock_conn = await self._connect()
            return self._lock_conn

    async def _take_advisory(self, key: int, customer_id: str) -> psycopg.AsyncConnection[Any]:
        """Poll ``pg_try_advisory_lock`` so one waiting customer never blocks the others'
        locks, which share this store's lock connection."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.002
        async with self._errors("lock a customer"):
            while True:
                conn = await self._lock_connection()
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    return conn
                if time.monotonic() >= deadline:
                    raise ConcurrentUpdate(
                        f"Customer {customer_id!r}: another process has been handling a turn "
                        f"for {self.lock_timeout:g}s; try the message again later"
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)

    async def _release_advisory(self, conn: psycopg.AsyncConnection[Any], key: int) -> None:
        import psycopg

        if conn.closed:
            return  # the server dropped the lock with the connection
        # A failed unlock leaves nothing held: the lock lives and dies with this connection,
        # which is closed so the next turn opens a fresh one.
        with contextlib.suppress(psycopg.Error):
            await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            return
        await _close_quietly(conn)

    async def close(self) -> None:
        """Close every connection (the next call opens new ones)."""
        for conn in [*self._idle, *([self._lock_conn] if self._lock_conn else [])]:
            await _close_quietly(conn)
        self._idle = []
        self._lock_conn = None


async def _close_quietly(conn: psycopg.AsyncConnection[Any]) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error):
        await conn.close()
