"""What the console does, without the web: the inbox, one conversation's whole context, a
human's reply, running a tool, and handing the conversation back to the bot.

:class:`Console` is what the web app (:func:`resolvekit.console.create_app`) calls; it can be
used on its own (a chat-ops bot, a test).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import ResolvekitError, UserError
from ..messages import Message
from ..playbooks import KnowledgeAnswer
from ..sessions import FREE_RUN, Conversation, Step
from ._held import held
from .actions import ToolRun, needs_confirmation, run_tool
from .errors import ConsoleRefusal
from .signals import Frustration, frustration
from .suggest import Suggestion, suggest

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["Console", "ConversationView", "HumanReply", "InboxItem", "ReplyTarget"]

log = logging.getLogger("resolvekit.console")

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
"""Inbox order: the most urgent first, then the longest wait."""


@dataclass(kw_only=True, frozen=True)
class HumanReply:
    """A message for the customer from the console, for your channel to send."""

    customer_id: str
    conversation_id: str
    channel: str
    """The channel the customer was last on."""
    text: str
    human: str | None
    """The human agent who wrote it; None for the bot's own words (the question it asks when
    a human hands the conversation back)."""


ReplyTarget = Callable[[HumanReply], Awaitable[None] | None]
"""Where the console's messages to customers go: ``send(reply)``, sync or async. An exception
is reported to the human (the message stays in the transcript)."""


@dataclass(kw_only=True)
class InboxItem:
    """One open handoff in the inbox."""

    conversation_id: str
    customer_id: str
    channel: str
    priority: str
    reason: str
    intent: str | None
    handed_off_at: float
    wait: float
    """Seconds since the handoff."""
    frustration: Frustration
    last_message: str
    """The customer's last message."""


@dataclass(kw_only=True)
class ConversationView:
    """Everything a human needs about one conversation."""

    conversation: Conversation
    handoff: dict[str, Any]
    """The handoff packet as delivered (empty when the conversation is not with a human)."""
    slots: dict[str, Any]
    actions: list[Step]
    """Every tool call in the conversation, oldest first (``Step.human`` set for a human's)."""
    frustration: Frustration
    suggestions: list[Suggestion]
    last_question: str
    knowledge: KnowledgeAnswer | None = None
    knowledge_error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def with_human(self) -> bool:
        return self.conversation.status == "handed_off"


class Console:
    """The handoff inbox and agent assist over one agent.

    Args:
        agent: the agent whose conversations humans take over.
        reply_target: where messages to customers go (a human's reply; the bot's question when
            it is handed back). None keeps them in the transcript only (and logs a warning).
    """

    def __init__(self, agent: Agent[Any], *, reply_target: ReplyTarget | None = None) -> None:
        self.agent = agent
        self.reply_target = reply_target

    async def inbox(self, limit: int = 200) -> list[InboxItem]:
        """Open handoffs, most urgent first, then the longest wait.

        Raises:
            ConsoleRefusal: the store cannot list handed-off conversations.
        """
        lister = getattr(self.agent.store, "handed_off", None)
        if lister is None:
            raise ConsoleRefusal(
                "no_listing",
                f"{type(self.agent.store).__name__} cannot list handed-off conversations "
                "(handed_off)",
            )
        now = time.time()
        items = []
        for conv in await lister(limit):
            handoff = conv.handoff or {}
            at = float(handoff.get("created_at") or conv.updated_at)
            customer = [m.text for m in conv.transcript if m.role == "customer"]
            items.append(
                InboxItem(
                    conversation_id=conv.id,
                    customer_id=conv.customer_id,
                    channel=conv.channel,
                    priority=str(handoff.get("priority", "normal")),
                    reason=str(handoff.get("reason", "")),
                    intent=handoff.get("intent"),
                    handed_off_at=at,
                    wait=max(0.0, now - at),
                    frustration=frustration(conv),
                    last_message=customer[-1] if customer else "",
                )
            )
        items.sort(key=lambda i: (PRIORITY_RANK.get(i.priority, 2), i.handed_off_at))
        return items

    async def view(self, conversation_id: str, *, knowledge: bool = True) -> ConversationView:
        """One conversation with its whole context, suggestions and knowledge suggestions.

        Raises:
            ConsoleRefusal: no such conversation.
        """
        conv = await self.agent.store.get(conversation_id)
        if conv is None:
            raise ConsoleRefusal("not_found", f"No conversation {conversation_id}")
        runs = [r for r in conv.runs if r.intent != FREE_RUN]
        view = ConversationView(
            conversation=conv,
            handoff=dict(conv.handoff or {}),
            slots=dict(runs[-1].slots) if runs else {},
            actions=sorted(
                (s for r in conv.runs for s in r.journal if s.kind == "call"), key=lambda s: s.at
            ),
            frustration=frustration(conv),
            suggestions=suggest(conv, self.agent.playbooks, self.agent.tools),
            last_question=_last_question(conv),
        )
        if knowledge and view.last_question and self.agent.has_knowledge:
            try:
                view.knowledge = await self.agent.answer_from_knowledge(view.last_question)
            except ResolvekitError as exc:
                view.knowledge_error = str(exc)
        return view

    def needs_confirmation(self, tool: str) -> bool:
        """Whether ``tool`` runs only after the human's confirm click."""
        return needs_confirmation(self.agent, tool)

    async def run_tool(
        self, conversation_id: str, tool: str, args: dict[str, Any], **options: Any
    ) -> ToolRun:
        """Run one of the agent's tools in a handed-off conversation, as a human agent:
        ``human=`` (their name), ``request=`` (the click's id) and ``confirmed=`` (their
        confirm click); see :func:`resolvekit.console.actions.run_tool`."""
        return await run_tool(self.agent, conversation_id, tool, args, **options)

    async def reply(self, conversation_id: str, text: str, *, human: str) -> str | None:
        """Write ``text`` to the customer as ``human``: kept in the transcript (role
        ``human_agent``) and sent through :attr:`reply_target`.

        Returns:
            None when sent, else why it was not (the message stays in the transcript).

        Raises:
            ConsoleRefusal: empty text, no such conversation, or not with a human now.
        """
        text = text.strip()
        if not text:
            raise ConsoleRefusal("invalid", "The reply is empty")
        if len(text) > self.agent.max_message_chars:
            raise ConsoleRefusal(
                "invalid",
                f"The reply has {len(text)} characters; the limit is "
                f"{self.agent.max_message_chars}",
            )
        conv = await self._update(
            conversation_id,
            lambda c: c.transcript.append(
                Message(role="human_agent", text=text, channel=c.channel, author=human)
            ),
        )
        return await self._send(conv, text, human)

    async def hand_back(
        self, conversation_id: str, *, human: str, note: str | None = None
    ) -> tuple[Conversation, str | None]:
        """Give the conversation back to the bot (:meth:`Agent.resume`): when the agent was
        waiting on the customer when it handed over, it offers to go back to that request, and
        the customer's yes picks the playbook up where it stopped. That question is sent
        through :attr:`reply_target` and kept in the transcript.

        Returns:
            The conversation as saved, and None or why the question was not sent.

        Raises:
            ConsoleRefusal: no such conversation, or not with a human now.
        """
        conv = await self.agent.store.get(conversation_id)
        if conv is None:
            raise ConsoleRefusal("not_found", f"No conversation {conversation_id}")
        if conv.status != "handed_off" or not conv.resume_token:
            raise ConsoleRefusal(
                "not_handed_off", f"Conversation {conversation_id} is not with a human now"
            )
        try:
            conv = await self.agent.resume(conv.resume_token, note=note or None)
        except UserError as exc:  # resumed by someone else meanwhile
            raise ConsoleRefusal("not_handed_off", str(exc)) from None
        log.info("console: %s handed conversation %s back to the bot", human, conv.id)
        question = conv.pending.question if conv.pending is not None else None
        if not question:
            return conv, None
        conv = await self._update(
            conv.id,
            lambda c: c.transcript.append(Message(role="agent", text=question, channel=c.channel)),
            status="open",
        )
        return conv, await self._send(conv, question, None)

    async def _update(
        self, conversation_id: str, change: Callable[[Conversation], None], status: str = ""
    ) -> Conversation:
        async with held(self.agent.store, conversation_id, status or "handed_off") as conv:
            change(conv)
            await self.agent.store.save(conv)
        return conv

    async def _send(self, conv: Conversation, text: str, human: str | None) -> str | None:
        if self.reply_target is None:
            log.warning(
                "console: no reply_target, so the message to customer %s is only in the transcript",
                conv.customer_id,
            )
            return "no reply target is configured: the message is only in the transcript"
        reply = HumanReply(
            customer_id=conv.customer_id,
            conversation_id=conv.id,
            channel=conv.channel,
            text=text,
            human=human,
        )
        try:
            sent = self.reply_target(reply)
            if inspect.isawaitable(sent):
                await sent
        except Exception as exc:  # the transcript keeps it; the human is told
            log.exception("console: sending to customer %s failed", conv.customer_id)
            return f"sending failed: {type(exc).__name__}: {exc}"
        return None


def _last_question(conv: Conversation) -> str:
    customer = [m.text for m in conv.transcript if m.role == "customer"]
    questions = [t for t in customer if "?" in t]
    return questions[-1] if questions else (customer[-1] if customer else "")
