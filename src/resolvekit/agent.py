"""The Agent: intents, tools and playbooks wired to a model, a store and an escalation policy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from ._text import clean_text
from .approval_desk import NotifyTarget, decide_approval, pending_approvals
from .approvals import ApprovalPolicy, Decided, PendingApproval
from .consent import ConsentPolicy
from .delivery import HandoffTarget
from .engine import Turn, compact, keep_receipt, receipt_result
from .engine.parking import ParkedPlaybooks
from .escalation import EscalationPolicy
from .exceptions import InternalError, InvalidMessage, ResolvekitError, UserError
from .handoffs import summarize
from .intents import Intent, intent_title
from .models import Model, infer_model
from .phrases import Phrases
from .playbooks import KnowledgeAnswer, KnowledgeSource
from .redaction import DEFAULT_REDACTOR, Redactor
from .registry import Registry
from .repair import Repairs
from .results import TurnResult
from .sessions import (
    Conversation,
    PendingState,
    Store,
    checkout,
    decode_conversation,
    encode_conversation,
    open_store,
)
from .toolsets import Toolset

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["Agent", "Phrases"]  # Phrases lives in resolvekit.phrases

log = logging.getLogger("resolvekit")

PARKED_PLAYBOOKS = int(os.environ.get("RESOLVEKIT_PARKED_PLAYBOOKS", "1000"))
"""How many waiting playbooks an agent keeps running in memory by default (the environment
variable ``RESOLVEKIT_PARKED_PLAYBOOKS`` sets it; 0 replays every turn from the journal)."""

DepsT = TypeVar("DepsT")
IntentT = TypeVar("IntentT", bound=Intent)


class Agent(Registry[DepsT]):
    """A customer-service agent that resolves requests.

    Args:
        name: shown in traces and handoffs.
        model: a :class:`~resolvekit.models.Model` or a name: ``"local"`` (offline, default),
            ``"test"`` (offline, deterministic, no model download), ``"openai:<model>"``.
        store: where conversations live: a :class:`~resolvekit.sessions.Store` or a URL,
            ``"sqlite:///support.db"`` (default ``sqlite:///resolvekit.db``) or ``"memory://"``.
        instructions: the agent's policy text, given to LLM models.
        knowledge: where answers and ``ctx.search`` come from: a
            :class:`resolvekit.knowledge.KnowledgeBase` (extractive answers on LocalModel,
            grounded generated ones on an LLM) or any
            :class:`~resolvekit.playbooks.KnowledgeSource`:
            ``async answer(query, k=3, *, model=None) -> KnowledgeAnswer``.
        escalation: when to hand over to a human.
        handoff: where handoffs are delivered (one target or a list). Left out, the first
            handoff logs a warning that nobody is told; ``[]`` says you read
            ``TurnResult.handoff`` yourself.
        deps: default dependencies given to playbooks and tools as ``ctx.deps``.
        free_mode: let the model call tools directly (bounded by ``max_steps`` per turn);
            confirmations and argument validation are still enforced by the engine.
        max_steps: tool calls allowed per turn in free mode.
        idle_timeout: seconds after which an idle open conversation is closed and the next
            message starts a new one (the old one becomes history).
        max_message_chars: longer messages are rejected with :class:`InvalidMessage`.
        raise_errors: re-raise engine errors (replay divergence, crashed playbooks) instead of
            escalating; for development and tests.
        phrases: the engine's own wording.
        consent: when a reply to a confirmation counts as a yes (default: only when the
            engine's own reader reads an unambiguous yes, whatever the model says).
        redaction: the privacy policy applied to handoff packets (every field); None sends
            them raw. Exported traces and eval outputs take their own (same default).
        repairs: what the agent does when the conversation goes off the path (a clarification
            that does not help, a slot value not given, an unclear confirmation...); see
            :mod:`resolvekit.repair` for the patterns and their defaults.
        toolsets: connected systems whose tools the agent has besides its ``@agent.tool``
            functions (:class:`resolvekit.connect.MCPToolset`,
            :class:`resolvekit.connect.OpenAPIToolset`, or any :class:`~resolvekit.Toolset`);
            started by :meth:`warm_up` (or on the first message), stopped by :meth:`close`.
        parked_playbooks: how many playbooks waiting for a customer stay running in memory
            between turns (resumed instead of replayed from their journal, so a long
            conversation costs no more per message than a short one); 0 replays every turn.
            The journal stays the source of truth: another worker or a restart replays it.
            Default :data:`PARKED_PLAYBOOKS`.
        approvals: who approves what ``ctx.approve`` asks (tiers by amount; see
            :mod:`resolvekit.approvals`).
        notify: where customers are told decisions on their approvals (a
            :class:`~resolvekit.approvals.Notifier` or a callable taking a
            :class:`~resolvekit.approvals.Notification`, sync or async).
    """

    def __init__(
        self,
        name: str = "Support",
        *,
        model: Model | str | None = "local",
        store: Store | str | None = None,
        instructions: str = "",
        knowledge: KnowledgeSource | None = None,
        escalation: EscalationPolicy | None = None,
        handoff: HandoffTarget | list[HandoffTarget] | None = None,
        deps: DepsT | None = None,
        free_mode: bool = False,
        max_steps: int = 6,
        idle_timeout: float = 24 * 3600,
        max_message_chars: int = 4000,
        raise_errors: bool = False,
        phrases: Phrases | None = None,
        consent: ConsentPolicy | None = None,
        redaction: Redactor | None = DEFAULT_REDACTOR,
        repairs: Repairs | None = None,
        toolsets: Iterable[Toolset] = (),
        parked_playbooks: int | None = None,
        approvals: ApprovalPolicy | None = None,
        notify: NotifyTarget | None = None,
    ) -> None:
        super().__init__(name, deps=deps, toolsets=toolsets)
        self._model_arg = model
        self._store_arg = store
        self.instructions = instructions
        self.knowledge = knowledge
        self.escalation = escalation or EscalationPolicy()
        # None (not configured) warns on the first handoff; [] means "I read TurnResult.handoff
        # myself" and stays quiet.
        self._warn_no_target = handoff is None
        if handoff is None:
            self.handoff_targets: list[HandoffTarget] = []
        elif isinstance(handoff, list):
            self.handoff_targets = handoff
        else:
            self.handoff_targets = [handoff]
        self.free_mode = free_mode
        self.max_steps = max_steps
        self.idle_timeout = idle_timeout
        self.max_message_chars = max_message_chars
        self.raise_errors = raise_errors
        self.phrases = phrases or Phrases()
        self.consent = consent or ConsentPolicy()
        self.redaction = redaction
        self.repairs = repairs or Repairs()
        self.parked = ParkedPlaybooks(
            PARKED_PLAYBOOKS if parked_playbooks is None else parked_playbooks
        )
        self.approval_policy = approvals or ApprovalPolicy()
        self.notify = notify

    # -- registration ------------------------------------------------------------------------

    @cached_property
    def model(self) -> Model:
        """The resolved model (built on first use)."""
        return infer_model(self._model_arg)

    @cached_property
    def store(self) -> Store:
        """The conversation store (opened on first use)."""
        return open_store(self._store_arg)

    # -- handling messages -------------------------------------------------------------------

    async def handle(
        self,
        customer_id: str,
        text: str,
        *,
        channel: str = "chat",
        deps: DepsT | None = None,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> TurnResult:
        """Handle one customer message and return the reply with its outcome.

        The customer's open conversation continues whatever the channel. Messages for one
        customer are handled one at a time (across processes with the SQLite and PostgreSQL
        stores).

        Args:
            customer_id: who wrote.
            text: what they wrote. Invalid Unicode (lone surrogates) and control characters
                are replaced before anything else sees it.
            channel: where it arrived (``chat``, ``email``, ``sms``, ``voice``...).
            deps: dependencies for this message's tools and playbooks (default ``Agent.deps``).
            message_id: your id for this delivery (a webhook's event id). A message whose id
                was already handled gets the stored result back, with ``duplicate=True``, and
                nothing runs again; one whose turn a crash interrupted is finished, not read
                twice. The last 100 ids of a customer are remembered.
            reply_to: the ``TurnResult.question_id`` this message answers (a confirmation
                button, say). If another question is open by then, the message is not taken as
                an answer to it.

        Raises:
            InvalidMessage: the message is empty or longer than ``max_message_chars``; nothing
                is stored.
            UserError: ``customer_id`` or ``message_id`` is not a non-empty string, the agent
                has nothing to do, or a model was misconfigured.
            StoreError: the store failed: :class:`~resolvekit.exceptions.StoreUnavailable`
                (transient, retry with the same ``message_id``),
                :class:`~resolvekit.exceptions.ConcurrentUpdate` (another process holds the
                customer) or :class:`~resolvekit.exceptions.CorruptStore` (a damaged row).
            InternalError: a bug in resolvekit or your code outside a playbook; the message
                is kept when the store allows it.
        """
        if not isinstance(text, str):  # typed callers cannot, webhooks can
            text = ""  # type: ignore[unreachable]
        if len(text) > 2 * self.max_message_chars:  # cleaning never shortens by half or more
            raise InvalidMessage(
                "too_long",
                f"The message has {len(text)} characters; the limit is {self.max_message_chars}",
            )
        text = clean_text(text)
        if not text.strip():
            raise InvalidMessage("empty", "The message is empty")
        if len(text) > self.max_message_chars:
            raise InvalidMessage(
                "too_long",
                f"The message has {len(text)} characters; the limit is {self.max_message_chars}",
            )
        customer_id = _check_id("customer_id", customer_id)
        if message_id is not None:
            message_id = _check_id("message_id", message_id)
        channel = clean_text(channel) if isinstance(channel, str) and channel else "chat"
        if not self.intents and not self.free_mode and self.knowledge is None:
            raise UserError(
                f"Agent {self.name!r} has no playbooks, no knowledge and free_mode is off: "
                f"register at least one @agent.playbook"
            )
        try:
            return await self._handle(
                customer_id,
                text.strip(),
                channel=channel,
                deps=deps,
                message_id=message_id,
                reply_to=reply_to,
            )
        except ResolvekitError:
            raise
        except Exception as exc:
            raise InternalError(
                f"handling a message of customer {customer_id!r} failed: {type(exc).__name__}: "
                f"{exc}"
            ) from exc

    async def _handle(
        self,
        customer_id: str,
        text: str,
        *,
        channel: str,
        deps: DepsT | None,
        message_id: str | None,
        reply_to: str | None,
    ) -> TurnResult:
        store = self.store
        await self.refresh_tools()
        async with store.lock(customer_id):
            conversation = await self._conversation_for(customer_id)
            if message_id is not None and message_id in conversation.receipts:
                return receipt_result(conversation.receipts[message_id])
            conversation.channel = channel
            resumed = message_id is not None and conversation.current_message == message_id
            conversation.current_message = message_id
            turn = Turn(
                self,
                conversation,
                deps if deps is not None else self.deps,
                message_id=message_id,
                reply_to=reply_to,
            )
            try:
                result = await turn.run(text, resumed=resumed)
                if message_id is not None:
                    keep_receipt(conversation, message_id, result)
                conversation.current_message = None
                compact(conversation, store)
            finally:
                # Whatever happened, the customer's words are kept.
                await store.save(conversation)
        if turn.escalated_now:
            await self._deliver(result)
        return result

    def handle_sync(
        self,
        customer_id: str,
        text: str,
        *,
        channel: str = "chat",
        deps: DepsT | None = None,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> TurnResult:
        """:meth:`handle` for scripts (runs its own event loop)."""
        return asyncio.run(
            self.handle(
                customer_id,
                text,
                channel=channel,
                deps=deps,
                message_id=message_id,
                reply_to=reply_to,
            )
        )

    async def recover(self, *, older_than: float = 0.0, limit: int = 100) -> list[TurnResult]:
        """Finish writes a crash interrupted in conversations whose customer has not written
        since (the sweep; run it at start-up and every minute or so: ``resolvekit recover``).

        A write left ``started`` whose deadline (its timeout and retries) has passed is
        recovered under the customer's lock, as on the next message: an idempotent tool is
        called again with the same key, any other is handed to a human as ``unknown_outcome``
        (delivered to the handoff targets). A playbook that can go on does; what it says is
        in each result's ``reply`` for you to send on the customer's channel.

        Args:
            older_than: only writes whose deadline passed at least this many seconds ago.
            limit: at most this many conversations per call.

        Returns:
            One result per recovered conversation.
        """
        store = self.store
        finder = getattr(store, "inflight", None)
        if finder is None:
            raise UserError(f"{type(store).__name__} cannot list interrupted writes (inflight)")
        before = time.time() - older_than
        await self.refresh_tools()
        results: list[TurnResult] = []
        for conversation_id, customer_id in await finder(before, limit):
            async with store.lock(customer_id):
                conversation = await store.get(conversation_id)
                due = conversation.inflight_until() if conversation is not None else None
                if conversation is None or due is None or due >= before:
                    continue  # finished or recovered since it was listed
                turn = Turn(self, conversation, self.deps)
                try:
                    result = await turn.recover()
                finally:
                    await store.save(conversation)
            if result is None:
                continue
            if turn.escalated_now:
                await self._deliver(result)
            results.append(result)
        return results

    async def _conversation_for(self, customer_id: str) -> Conversation:
        store = self.store
        conversation = await checkout(store, customer_id)
        if (
            conversation is not None
            and conversation.status == "open"
            and time.time() - conversation.updated_at > self.idle_timeout
            and conversation.inflight_until() is None  # an interrupted write is recovered first
            and conversation.awaiting_approval() is None  # a pending approval keeps it open
        ):
            conversation.status = "closed"
            conversation.summary = summarize(conversation)
            await store.save(conversation)
            conversation = None
        if conversation is None:
            conversation = Conversation.new(customer_id, "chat")  # the turn sets the channel
            earlier = await store.history(customer_id)
            conversation.history = [c.summary for c in reversed(earlier) if c.summary]
            if earlier:
                # A message redelivered after its conversation closed is still a duplicate.
                conversation.receipts = dict(earlier[0].receipts)
        return conversation

    async def _deliver(self, result: TurnResult) -> None:
        assert result.handoff is not None
        if self._warn_no_target:
            self._warn_no_target = False  # once per agent: a forgotten setting, not an event
            log.warning(
                "Agent %r handed conversation %s to a human (%s), but it has no handoff target, "
                "so nobody is told: pass Agent(handoff=[rk.CallbackTarget(fn), "
                "rk.JSONLQueue(path)]), or handoff=[] if you handle TurnResult.handoff yourself",
                self.name,
                result.conversation_id,
                result.handoff.reason,
            )
        for target in self.handoff_targets:
            try:
                await target.deliver(result.handoff)
            except Exception:  # a broken queue must not lose the customer's turn
                log.exception("handoff delivery to %r failed", target)

    async def __aenter__(self) -> Agent[DepsT]:
        """``async with agent:`` warms the agent up on entry (:meth:`warm_up`) and closes its
        store on exit (:meth:`close`): the lifetime of a server process."""
        await self.warm_up()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @contextlib.contextmanager
    def override(
        self, *, model: Model | str | None = None, deps: DepsT | None = None
    ) -> Iterator[Agent[DepsT]]:
        """Use another model and/or dependencies inside the ``with`` block (tests, an eval
        against another model, the terminal chat's ``--model``), and put the agent's own back
        after it, even on an error. Not for concurrent use: it changes the agent itself.

        Example:
            >>> with agent.override(model=rk.FunctionModel(lambda request: rk.Reply(text="hi"))):
            ...     result = agent.handle_sync("c", "hello")
        """
        saved_model = self.__dict__.get("model")
        saved_deps = self.deps
        if model is not None:
            self.__dict__["model"] = infer_model(model)
        if deps is not None:
            self.deps = deps
        try:
            yield self
        finally:
            if model is not None:
                if saved_model is None:
                    self.__dict__.pop("model", None)
                else:
                    self.__dict__["model"] = saved_model
            self.deps = saved_deps

    async def close(self) -> None:
        """Close the conversation store (database connections) and let go of the toolsets on
        shutdown: a toolset no other agent uses is disconnected (the MCP servers it started
        are stopped). The agent is not used after it. Safe when nothing was opened, and more
        than once."""
        self.parked.clear()
        await self.close_tools()
        if "store" in self.__dict__:  # opened (cached_property), else nothing to close
            await self.store.close()

    async def warm_up(self) -> None:
        """Load now what the first customer would otherwise wait for: the store, the model's
        own warm-up (:meth:`Model.warm_up`: LocalModel loads its sentence model, fits its intent
        classifier and imports its extractors; a wrapping model passes it on to the model it
        wraps), the knowledge base's embedder, and the connected toolsets (servers started,
        tools listed). Call once at start-up, after registering intents; safe to skip.

        Raises:
            UserError: two toolsets offer the same tool name.
        """
        self.store  # noqa: B018 - opened now (a cached property), not on the first message
        await self.start_tools()
        warm = getattr(self.model, "warm_up", None)
        if warm is not None:
            await warm(self.intent_specs)
        from .knowledge import KnowledgeBase

        if isinstance(self.knowledge, KnowledgeBase):
            from .understanding.embedders import warm_up

            await asyncio.to_thread(warm_up, self.knowledge.embedder)

    def to_asgi(self, **options: Any) -> Starlette:
        """This agent as an HTTP service: a Starlette ASGI app to run with uvicorn
        (``pip install resolvekit[serve]``). The options are those of
        :func:`resolvekit.serve.create_app` (``api_keys``, ``authorize``, ``cors_origins``...);
        see ``docs/serving.md``."""
        from .serve import create_app

        return create_app(self, **options)

    # -- humans and knowledge ----------------------------------------------------------------

    async def resume(
        self, token: str, *, note: str | None = None, continue_request: bool = True
    ) -> Conversation:
        """Give a handed-off conversation back to the agent (a human's resume token).

        When the agent was still waiting on a question of a request when it handed over (the
        customer asked for a person in the middle of a refund, say), that request is offered
        again: the returned conversation's ``pending.question`` ("Shall we go back to your
        earlier request (refund charge)?") is what to show the customer, and their yes picks the
        request up where it stopped. Requests a playbook itself escalated are not offered.

        Args:
            token: the handoff's ``resume_token``.
            note: what the human did or decided; kept in the transcript and facts.
            continue_request: offer the interrupted request again (default); False drops it.

        Returns:
            The conversation as saved.

        Raises:
            UserError: the token is unknown or already used.
        """
        conversation = await self.store.find_by_resume_token(token)
        if conversation is None or conversation.status != "handed_off":
            raise UserError("Unknown or already used resume token")
        async with self.store.lock(conversation.customer_id):
            interrupted = (conversation.handoff or {}).get("pending_action") is not None
            conversation.status = "open"
            conversation.resume_token = None
            conversation.handoff = None
            conversation.counters = {}
            conversation.pending = None
            escalated = [r for r in conversation.runs if r.status == "escalated"]
            if continue_request and interrupted and escalated:
                run = escalated[-1]
                run.status = "suspended"
                question = self.phrases.resume.format(intent=intent_title(self.intents, run.intent))
                conversation.pending = PendingState(kind="resume", question=question, run_id=run.id)
            if note:
                from .messages import Message

                conversation.transcript.append(
                    Message(role="human_agent", text=note, channel=conversation.channel)
                )
                conversation.facts["human_note"] = note
            await self.store.save(conversation)
        return conversation

    async def decide(
        self,
        approval_id: str,
        *,
        approve: bool,
        approver: str,
        role: str,
        note: str | None = None,
        deps: DepsT | None = None,
    ) -> Decided:
        """Decide a pending approval (from any process over the same store): the playbook
        waiting in ``ctx.approve`` runs on, the outcome is saved, and the customer is told on
        their channel (``Agent(notify=...)``; the message is in the transcript too).

        Raises:
            ApprovalNotFound: no approval has this id.
            ApprovalAlreadyDecided: it was decided already (of two deciding at once, one wins).
            ApprovalRoleNotAllowed: ``role`` may not decide its tier.
            ApprovalStale: the conversation moved on (the customer withdrew the request...).
            UserError: ``approve`` is not a bool or ``approver`` is empty.
        """
        await self.refresh_tools()
        return await decide_approval(
            self, approval_id, approve=approve, approver=approver, role=role, note=note,
            deps=deps if deps is not None else self.deps, deliver=self._deliver,
            notify=self.notify,
        )  # fmt: skip

    async def approvals(
        self, *, role: str | None = None, customer_id: str | None = None, limit: int = 100
    ) -> list[PendingApproval]:
        """Approvals waiting for a person, the longest waiting first (``role``: only those it
        may decide)."""
        return await pending_approvals(self, role=role, customer_id=customer_id, limit=limit)

    @property
    def has_knowledge(self) -> bool:
        """Whether a knowledge source is configured."""
        return self.knowledge is not None

    async def conversation(self, customer_id: str) -> Conversation | None:
        """A copy of the customer's open (or handed-off) conversation, for inspection: changing
        it changes nothing stored."""
        found = await self.store.open_conversation(customer_id)
        if found is None:
            return None
        raw = encode_conversation(found).decode()
        return decode_conversation(found.id, raw, where="a copy")

    async def answer_from_knowledge(self, query: str, k: int = 3) -> KnowledgeAnswer:
        """Answer ``query`` from the knowledge source (not answerable when there is none)."""
        if self.knowledge is None:
            return KnowledgeAnswer(query=query, text="", answerable=False)
        return await self.knowledge.answer(query, k, model=self.model)


def _check_id(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{what} must be a non-empty string, not {value!r}"[:200])
    return clean_text(value)
