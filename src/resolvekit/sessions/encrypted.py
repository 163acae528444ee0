"""Conversations encrypted at rest: any built-in store, its rows' JSON sealed with Fernet.

:class:`EncryptedStore` wraps a :class:`~resolvekit.sessions.memory.MemoryStore`,
:class:`~resolvekit.sessions.sqlite.SQLiteStore` or
:class:`~resolvekit.sessions.postgres.PostgresStore` and gives it a Fernet codec (AES-128-CBC
and HMAC-SHA256, from the ``cryptography`` package): the JSON of every conversation (transcript,
facts, journals, handoff) and of every archive record is encrypted before it is written and
authenticated when read. The columns the store looks rows up by stay plain: ``customer_id``,
``status``, ``updated_at``, ``version``, ``resume_token``, ``inflight_until``, and the
customer ids of the SQLite ``locks`` table.

Keys rotate: pass several, newest first. The first encrypts; every key decrypts, so rows written
under an older key stay readable and are re-encrypted with the newest one when next saved.

Needs ``pip install "resolvekit[encrypted]"``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..exceptions import UserError
from . import open_store
from .base import PLAIN, Codec, Store, checkout
from .conversation import Conversation

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = ["EncryptedStore", "FernetCodec"]

Key = str | bytes
"""A Fernet key: 32 random bytes, url-safe base64 encoded (:meth:`EncryptedStore.new_key`)."""


class FernetCodec:
    """Encrypts a row's JSON with the first key; decrypts with any.

    Args:
        keys: Fernet keys, newest first.
        accept_plaintext: also read rows stored before encryption was turned on (plain JSON);
            they are encrypted when next saved. Off by default: a plain row is refused, since
            whoever can write to the database could otherwise plant one.

    Raises:
        UserError: no key, a malformed key, or ``cryptography`` is not installed.
    """

    def __init__(self, keys: Sequence[Key], *, accept_plaintext: bool = False) -> None:
        self._fernet = _multi_fernet(keys)
        self._newest = _fernet_module().Fernet(keys[0])  # the keys are checked above
        self.accept_plaintext = accept_plaintext

    def encode(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def decode(self, stored: str) -> bytes | str:
        return self.decode_current(stored)[0]

    def decode_current(self, stored: str) -> tuple[bytes | str, bool]:
        """:meth:`decode`, and whether ``stored`` is encrypted with the newest key (else a
        store writes it again, encrypted with it, at its next save)."""
        from cryptography.fernet import InvalidToken

        if stored.startswith("{"):
            if self.accept_plaintext:
                return stored, False
            raise ValueError(
                "it is not encrypted; pass accept_plaintext=True to read rows stored before "
                "encryption was turned on"
            )
        try:
            return self._newest.decrypt(stored), True
        except InvalidToken:
            pass
        try:
            return self._fernet.decrypt(stored), False
        except InvalidToken:
            raise ValueError(
                "it cannot be decrypted: the key is wrong (not among the keys given) or the "
                "row is damaged"
            ) from None


class EncryptedStore:
    """A built-in store whose rows' JSON is encrypted (see the module's documentation).

    Args:
        store: a :class:`MemoryStore`, :class:`SQLiteStore` or :class:`PostgresStore`, or a
            URL for :func:`~resolvekit.sessions.open_store`.
        key: one Fernet key, or several for rotation (newest first: it encrypts, all decrypt).
        accept_plaintext: also read rows stored unencrypted (before encryption was turned on).

    Raises:
        UserError: ``cryptography`` is not installed, a key is malformed, or ``store`` has no
            codec to set (not a built-in store) or is already encrypted.

    Example::

        key = EncryptedStore.new_key()  # keep it in your secrets manager
        agent = rk.Agent(..., store=rk.EncryptedStore("sqlite:///support.db", key))
    """

    def __init__(
        self, store: Store | str, key: Key | Sequence[Key], *, accept_plaintext: bool = False
    ) -> None:
        keys: Sequence[Key] = [key] if isinstance(key, str | bytes) else key
        codec: Codec = FernetCodec(keys, accept_plaintext=accept_plaintext)
        inner = open_store(store) if isinstance(store, str) else store
        current = getattr(inner, "codec", None)
        if current is None:
            raise UserError(
                f"EncryptedStore wraps MemoryStore, SQLiteStore or PostgresStore, "
                f"not {type(inner).__name__}"
            )
        if current is not PLAIN:
            raise UserError(f"{inner!r} is already encrypted")
        cast(_Coded, inner).codec = codec
        self.store: Store = inner
        """The wrapped store."""

    @staticmethod
    def new_key() -> str:
        """A new random Fernet key (keep it secret, and keep it: rows need it to be read)."""
        key: bytes = _fernet_module().Fernet.generate_key()
        return key.decode("ascii")

    def __repr__(self) -> str:
        return f"EncryptedStore({self.store!r})"

    async def open_conversation(self, customer_id: str) -> Conversation | None:
        return await self.store.open_conversation(customer_id)

    async def checkout(self, customer_id: str) -> Conversation | None:
        return await checkout(self.store, customer_id)

    async def get(self, conversation_id: str) -> Conversation | None:
        return await self.store.get(conversation_id)

    async def find_by_resume_token(self, token: str) -> Conversation | None:
        return await self.store.find_by_resume_token(token)

    async def save(self, conversation: Conversation) -> None:
        await self.store.save(conversation)

    async def history(self, customer_id: str, limit: int = 5) -> list[Conversation]:
        return await self.store.history(customer_id, limit)

    async def inflight(self, before: float, limit: int = 100) -> list[tuple[str, str]]:
        return await self.store.inflight(before, limit)

    async def handed_off(self, limit: int = 100) -> list[Conversation]:
        found: list[Conversation] = await cast(Any, self.store).handed_off(limit)
        return found

    async def awaiting_approval(self, limit: int = 100) -> list[tuple[str, str]]:
        return await self.store.awaiting_approval(limit)

    async def archived(self, conversation_id: str) -> list[dict[str, Any]]:
        return await self.store.archived(conversation_id)

    async def conversation_ids(self, *, updated_since: float | None = None) -> list[str]:
        """Ids of every stored conversation (open, handed off or closed), least recently
        updated first; with ``updated_since``, only those saved at or after it. Read-only: for
        reports (``resolvekit report``), which then ``get`` each one."""
        lister = getattr(self.store, "conversation_ids")  # noqa: B009 - optional on Store
        found: list[str] = await lister(updated_since=updated_since)
        return found

    def lock(self, customer_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self.store.lock(customer_id)

    async def close(self) -> None:
        await self.store.close()


def _fernet_module() -> Any:
    try:
        import cryptography.fernet
    except ImportError as exc:
        raise UserError(
            'EncryptedStore needs the cryptography package: pip install "resolvekit[encrypted]"'
        ) from exc
    return cryptography.fernet


def _multi_fernet(keys: Sequence[Key]) -> MultiFernet:
    fernet = _fernet_module()
    if not keys:
        raise UserError("EncryptedStore needs at least one key (EncryptedStore.new_key())")
    try:
        return fernet.MultiFernet([fernet.Fernet(k) for k in keys])  # type: ignore[no-any-return]
    except (ValueError, TypeError) as exc:
        raise UserError(
            "An EncryptedStore key must be 32 url-safe base64-encoded bytes, as made by "
            f"EncryptedStore.new_key() ({exc})"
        ) from None


class _Coded(Store, Protocol):
    codec: Codec
