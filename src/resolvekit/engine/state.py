"""What one turn works with and produces: the loaded conversation, the customer's message, and
what the turn says, traces and decides so far (:class:`TurnState`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..live import Provisional, current_observer, observe, safe
from ..messages import Citation, Message, Usage
from ..playbooks import Hooks, KnowledgeAnswer
from ..results import Outcome, TraceEvent, TurnResult
from ..sessions import FREE_RUN, Conversation, PlaybookRun
from .options import quick_replies

if TYPE_CHECKING:
    from ..handoffs import Handoff
    from ..models.base import ModelResponse
    from .setup import AgentSetup

__all__ = ["TurnState"]


class TurnState:
    """One turn in progress: the agent, the conversation, and everything the turn produces."""

    def __init__(self, agent: AgentSetup, conversation: Conversation, deps: Any) -> None:
        self.agent = agent
        self.conv = conversation
        self.deps = deps
        self.text = ""
        """The customer's message this turn handles ("" for a recovery sweep)."""
        self.message_id: str | None = None
        self.reply_to: str | None = None
        """The question id the customer's client says this message answers, if any."""
        self.trace: list[TraceEvent] = []
        self.replies: list[str] = []
        self.outcome: Outcome = "replied"
        self.confidence: float | None = None
        self.citations: list[Citation] = []
        self.usage = Usage()
        self.handoff: Handoff | None = None
        self.error: BaseException | None = None
        self.intent: str | None = None
        self.steps = 0
        """Tool calls made in free mode this turn (bounded by ``max_steps``)."""
        self.response: ModelResponse | None = None
        self.escalated_now = False
        """True when this turn handed the conversation over (the handoff must be delivered)."""
        self.current_run: PlaybookRun | None = None
        """The playbook run this turn worked on."""
        self.unknown: list[str] = []
        """Writes whose outcome became unknown this turn (always handed to a human)."""
        self.recovered = False
        """True when this turn finished work a crash had interrupted."""
        watcher = safe(current_observer())
        self.observer = Provisional(watcher) if watcher is not None else None
        """Who watches this turn live (:mod:`resolvekit.live`); None when nobody does."""

    @contextlib.contextmanager
    def watched(self) -> Iterator[None]:
        """While the turn works: models report their streamed tokens through this turn's
        observer, and provisional text left unsaid at the end is retracted."""
        observer = self.observer
        if observer is None:
            yield
            return
        try:
            with observe(observer):
                yield
        finally:
            observer.settle()

    def say(self, text: str) -> None:
        """Add ``text`` to the reply."""
        if text:
            self.replies.append(text)
            if self.observer is not None:
                self.observer("say", {"text": text})

    def note(self, kind: str, /, **data: Any) -> None:
        """Add a trace event."""
        self.trace.append(TraceEvent(kind=kind, data=data))
        if self.observer is not None:
            self.observer(kind, data)

    def waiting(self) -> None:
        """The turn ends waiting for the customer."""
        self.outcome = "awaiting_customer"

    def hooks(self) -> Hooks:
        """What a playbook context may use: checkpoints to the store, the tools, knowledge,
        and this turn's trace."""
        agent = self.agent

        async def checkpoint() -> None:
            await agent.store.save(self.conv)

        async def knowledge(query: str, k: int) -> KnowledgeAnswer:
            # A playbook runs in a task of its own, which keeps the context of the turn that
            # started it; a parked one may search in a later turn, watched by someone else.
            with observe(self.observer):
                return await agent.answer_from_knowledge(query, k)

        return Hooks(
            checkpoint=checkpoint,
            tools=agent.tools,
            knowledge=knowledge if agent.has_knowledge else None,
            trace=self._on_trace,
            live=self.observer,
            approvals=agent.approval_policy,
            approval_text=agent.phrases.approval_pending,
        )

    def _on_trace(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "tool" and data.get("status") != "done" and data.get("kind") != "refused":
            # A refusal (rk.ToolRefusal: "order not found", "already shipped") is the tool's
            # business answer, relayed to the customer; only errors count towards escalation.
            self.conv.bump("tool_failures")
        if kind == "tool" and data.get("kind") == "unknown_outcome":
            self.unknown.append(str(data.get("tool")))
        self.trace.append(TraceEvent(kind=kind, data=data))
        if self.observer is not None:
            self.observer(kind, data)

    def free_run(self) -> PlaybookRun:
        """The run that journals free-mode tool calls (created on first use)."""
        run = self.conv.run(FREE_RUN)
        if run is None:
            run = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
            self.conv.runs.append(run)
        return run

    def result(self) -> TurnResult:
        """The turn's result; the reply is added to the transcript and usage to the
        conversation's."""
        conv = self.conv
        reply = "\n".join(r for r in self.replies if r)
        line = Message(role="agent", text=reply, channel=conv.channel, message_id=self.message_id)
        conv.transcript.append(line)
        conv.usage.add(self.usage)
        run = self.current_run or conv.active_run
        return TurnResult(
            reply=reply,
            outcome=self.outcome,
            confidence=self.confidence,
            handoff=self.handoff,
            trace=self.trace,
            conversation_id=conv.id,
            intent=self.intent or (run.intent if run else None),
            slots=dict(run.slots) if run else {},
            citations=self.citations,
            pending=conv.pending.kind if conv.pending else None,
            question_id=conv.pending.id if conv.pending else None,
            options=quick_replies(self.agent, conv, run),
            usage=self.usage,
            error=self.error,
        )
