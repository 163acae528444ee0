"""EncryptedStore: rows' JSON encrypted at rest in every built-in store, keys rotate, a wrong key
is a typed error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.sessions import Conversation, PlaybookRun, Step
from resolvekit.sessions.encrypted import EncryptedStore, FernetCodec
from resolvekit.sessions.memory import MemoryStore
from resolvekit.sessions.postgres import PostgresStore
from resolvekit.sessions.sqlite import SQLiteStore

pytest.importorskip("cryptography")

SECRET = "my card is 4111 1111 1111 1111, the blue parrot"
KEY = EncryptedStore.new_key()


def _secret_conversation() -> Conversation:
    conversation = Conversation.new("c-1", "chat")
    conversation.transcript.append(rk.Message(role="customer", text=SECRET))
    conversation.facts["card"] = "4111111111111111"
    conversation.resume_token = "tok-1"
    run = PlaybookRun(id="r1", intent="Pay")
    run.journal.append(Step(index=0, kind="call", key="charge", status="started", at=1.0))
    conversation.runs.append(run)
    conversation.archive_out = [{"text": f"archived: {SECRET}"}]
    return conversation


@pytest.fixture
def plain(store: rk.Store) -> rk.Store:
    """A built-in store to wrap: each of conftest's ``store`` in turn."""
    return store


async def _raw_text(store: rk.Store) -> str:
    """Everything the store keeps, as it lies at rest."""
    if isinstance(store, MemoryStore):
        rows = [str(row) for row in store._rows.values()]
        return "\n".join(rows + [r for records in store._archive.values() for r in records])
    if isinstance(store, SQLiteStore):
        files = Path(store.path).parent.glob(Path(store.path).name + "*")
        return "\n".join(f.read_bytes().decode("latin-1") for f in files)
    assert isinstance(store, PostgresStore)
    psycopg = pytest.importorskip("psycopg")
    async with await psycopg.AsyncConnection.connect(store.url) as conn:
        texts = []
        for table in (store.table, f"{store.table}_archive"):
            cursor = await conn.execute(f"SELECT * FROM {table}")
            texts += [str(row) for row in await cursor.fetchall()]
    return "\n".join(texts)


async def test_round_trip_and_nothing_readable_at_rest(plain: rk.Store) -> None:
    store = EncryptedStore(plain, KEY)
    conversation = _secret_conversation()
    await store.save(conversation)
    loaded = await store.open_conversation("c-1")
    assert loaded is not None and loaded.transcript[0].text == SECRET
    assert (await store.get(conversation.id)) == loaded
    assert (await store.find_by_resume_token("tok-1")) == loaded
    assert await store.archived(conversation.id) == [{"text": f"archived: {SECRET}"}]
    assert await store.inflight(time.time()) == [(conversation.id, "c-1")]
    loaded.status = "closed"
    await store.save(loaded)
    assert [c.transcript[0].text for c in await store.history("c-1")] == [SECRET]
    async with store.lock("c-1"):
        pass
    at_rest = await _raw_text(plain)
    assert "c-1" in at_rest and "tok-1" in at_rest  # lookup columns stay plain
    for planted in ("blue parrot", "4111", "archived", "charge"):
        assert planted not in at_rest


async def test_keys_rotate_newest_first(plain: rk.Store) -> None:
    old_key, new_key = EncryptedStore.new_key(), EncryptedStore.new_key()
    store: Any = plain  # its codec is set directly to stand for stores opened with other keys
    store.codec = FernetCodec([old_key])
    conversation = _secret_conversation()
    await store.save(conversation)
    store.codec = FernetCodec([new_key])
    with pytest.raises(rk.CorruptStore, match="key is wrong"):
        await store.get(conversation.id)
    store.codec = FernetCodec([new_key, old_key])
    loaded = await store.get(conversation.id)  # the old key still decrypts...
    assert loaded is not None
    await store.save(loaded)  # ...and the save re-encrypts with the newest
    store.codec = FernetCodec([new_key])
    assert (await store.get(conversation.id)) is not None
    store.codec = FernetCodec([old_key])
    with pytest.raises(rk.CorruptStore, match="key is wrong"):
        await store.get(conversation.id)


async def test_a_rotated_store_reads_what_the_old_key_wrote(tmp_path: Path) -> None:
    old_key, new_key = EncryptedStore.new_key(), EncryptedStore.new_key()
    before = EncryptedStore(SQLiteStore(tmp_path / "s.db"), old_key)
    conversation = _secret_conversation()
    await before.save(conversation)
    await before.close()
    after = EncryptedStore(SQLiteStore(tmp_path / "s.db"), [new_key, old_key])
    loaded = await after.get(conversation.id)
    assert loaded is not None and loaded.transcript[0].text == SECRET
    assert await after.archived(conversation.id) == [{"text": f"archived: {SECRET}"}]
    await after.close()


async def test_a_wrong_key_or_a_damaged_row_is_corrupt_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    writer = EncryptedStore(SQLiteStore(path), KEY)
    conversation = _secret_conversation()
    await writer.save(conversation)
    reader = EncryptedStore(SQLiteStore(path), EncryptedStore.new_key())
    with pytest.raises(rk.CorruptStore, match=f"Conversation {conversation.id}.*key is wrong"):
        await reader.get(conversation.id)
    with pytest.raises(rk.CorruptStore, match=r"Archive record 0.*key is wrong"):
        await reader.archived(conversation.id)
    plain = SQLiteStore(path)  # opened without the key at all
    with pytest.raises(rk.CorruptStore, match="encrypted"):
        await plain.get(conversation.id)
    plain._db.execute("UPDATE conversations SET data = substr(data, 1, 60) || 'x'")
    with pytest.raises(rk.CorruptStore, match="damaged"):
        await writer.get(conversation.id)
    for store in (writer, reader, plain):
        await store.close()


async def test_plain_rows_are_refused_unless_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    before = SQLiteStore(path)
    conversation = _secret_conversation()
    await before.save(conversation)
    await before.close()
    strict = EncryptedStore(f"sqlite:///{path}", KEY)
    with pytest.raises(rk.CorruptStore, match="not encrypted"):
        await strict.get(conversation.id)
    await strict.close()
    migrating = EncryptedStore(SQLiteStore(path), KEY, accept_plaintext=True)
    loaded = await migrating.get(conversation.id)
    assert loaded is not None and loaded.transcript[0].text == SECRET
    await migrating.save(loaded)  # encrypted from now on
    await migrating.close()
    strict = EncryptedStore(SQLiteStore(path), KEY)
    assert (await strict.get(conversation.id)) is not None
    await strict.close()


def test_misuse_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(rk.UserError, match="32 url-safe base64"):
        EncryptedStore(MemoryStore(), "not a key")
    with pytest.raises(rk.UserError, match="at least one key"):
        EncryptedStore(MemoryStore(), [])
    wrapped = EncryptedStore(MemoryStore(), KEY)
    with pytest.raises(rk.UserError, match="already encrypted"):
        EncryptedStore(wrapped.store, KEY)
    with pytest.raises(rk.UserError, match="wraps MemoryStore, SQLiteStore or PostgresStore"):
        EncryptedStore(wrapped, KEY)
    assert rk.EncryptedStore is EncryptedStore
    assert isinstance(wrapped, rk.Store)


def test_without_cryptography_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    with pytest.raises(rk.UserError, match=r'pip install "resolvekit\[encrypted\]"'):
        EncryptedStore(MemoryStore(), KEY)


def test_cryptography_is_imported_only_when_an_encrypted_store_is_built() -> None:
    code = "import sys, resolvekit as rk; rk.EncryptedStore; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
