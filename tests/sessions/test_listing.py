"""Every built-in store lists its conversations, read-only (``conversation_ids``: what
``resolvekit report`` reads), oldest update first, open, handed-off and closed alike."""

from __future__ import annotations

import resolvekit as rk
from resolvekit.sessions.conversation import Conversation


async def test_conversation_ids_lists_every_conversation(store: rk.Store) -> None:
    lister = store.conversation_ids  # type: ignore[attr-defined]
    assert await lister() == []
    made = []
    for n, status in enumerate(["closed", "handed_off", "open"]):
        conversation = Conversation.new(f"c{n}", "chat")
        conversation.status = status  # type: ignore[assignment]
        await store.save(conversation)  # stamps updated_at
        made.append(conversation)
    assert await lister() == [c.id for c in made]
    made[0].summary = "seen again"
    await store.save(made[0])  # now the most recently updated
    assert await lister() == [made[1].id, made[2].id, made[0].id]
    assert await lister(updated_since=made[2].updated_at) == [made[2].id, made[0].id]
    assert await lister(updated_since=made[0].updated_at + 1) == []
    assert await store.get(made[1].id) is not None  # listing changed nothing
