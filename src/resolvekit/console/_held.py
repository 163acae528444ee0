"""A conversation held for a change by a human: loaded again under its customer's lock and
checked to be in the expected state, so a change never races the agent's own turns."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from ..sessions import Conversation, Store
from .errors import ConsoleRefusal

__all__ = ["held"]


@contextlib.asynccontextmanager
async def held(
    store: Store, conversation_id: str, status: str = "handed_off"
) -> AsyncIterator[Conversation]:
    """The conversation, under its customer's lock, when its status is ``status``.

    Raises:
        ConsoleRefusal: no such conversation (``not_found``), or another status
            (``not_handed_off``).
    """
    found = await store.get(conversation_id)
    if found is None:
        raise ConsoleRefusal("not_found", f"No conversation {conversation_id}")
    async with store.lock(found.customer_id):
        conversation = await store.get(conversation_id)
        if conversation is None or conversation.status != status:
            raise ConsoleRefusal(
                "not_handed_off", f"Conversation {conversation_id} is not with a human now"
            )
        yield conversation
