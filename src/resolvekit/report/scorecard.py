"""From stored conversations to the scorecard's figures."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .._text import normalize
from ..engine.clarify import CITED
from ..exceptions import CorruptStore, StoreError, UserError
from ..messages import Message
from ..phrases import Phrases
from ..sessions.conversation import FREE_RUN, Conversation, PlaybookRun, Step

if TYPE_CHECKING:
    from ..knowledge.health import StaleDocument

__all__ = [
    "ConversationFacts",
    "Scorecard",
    "compute_scorecard",
    "facts_of",
    "load_conversations",
]

ConversationOutcome = Literal["resolved", "answered", "refused", "escalated", "unresolved", "open"]
"""How a conversation ended, from what the agent did: ``escalated`` (a human has it) wins;
then ``resolved`` (a playbook reached its goal); ``refused`` (declined by policy, nothing
changed); ``answered`` (from knowledge only: the deflection); an open one whose customer may
still write is ``open``; anything else ended without any of these: ``unresolved`` (what the
eval scorer calls ``deflected``)."""

_NO_ANSWER = normalize(Phrases().no_answer_waiting)


class ConversationFacts(BaseModel):
    """What the scorecard needs of one conversation."""

    id: str
    customer_id: str
    channel: str
    created_at: float
    updated_at: float
    intents: list[str] = Field(default_factory=list)
    outcome: ConversationOutcome
    escalation_reason: str | None = None
    customer_turns: int = 0
    repeated_questions: int = 0
    """Agent questions asked again word for word (the eval's measure)."""
    unanswered: list[str] = Field(default_factory=list)
    """Customer questions the agent found no reliable answer to (knowledge gaps)."""
    approvals: list[float] = Field(default_factory=list)
    """Seconds from an approval request to its decision (journal steps of kind ``approve``)."""
    cited: dict[str, int] = Field(default_factory=dict)
    """Knowledge answers that cited each document, by doc id."""


class StaleArticle(BaseModel):
    """An article past its review date, and how often answers cited it in the range."""

    doc_id: str
    title: str
    owner: str | None
    review_by: str
    days_overdue: int
    cited: int


class Rate(BaseModel):
    count: int
    rate: float | None


class Scorecard(BaseModel):
    """The service leader's scorecard over a date range."""

    since: float | None
    until: float | None
    reopen_days: float
    conversations: int
    by_intent: dict[str, int]
    by_channel: dict[str, int]
    outcomes: dict[str, int]
    resolution: Rate
    escalation: Rate
    deflection: Rate
    """Answered from knowledge only, no playbook, no human."""
    resolved_or_answered: Rate
    """Resolved by a playbook or answered from knowledge: what the eval scores ``resolved``."""
    unresolved: Rate
    """Ended without resolution, answer, refusal or handoff (the eval's ``deflected``)."""
    containment: Rate
    """Conversations no human took (whatever their outcome): shown next to resolution, never
    instead of it."""
    first_contact_resolution: Rate
    """Resolved, and the same customer did not come back within ``reopen_days``."""
    escalation_reasons: dict[str, int]
    approvals: int
    approval_turnaround_s: float | None
    """Median seconds to an approval decision; None when no approval was journaled."""
    customer_turns_mean: float | None
    customer_turns_max: int
    repeated_questions: int
    knowledge_gaps: dict[str, int]
    """Questions without a reliable answer, most frequent first."""
    articles_cited: dict[str, int] = Field(default_factory=dict)
    """Documents knowledge answers cited, most cited first (top 20)."""
    stale_articles: list[StaleArticle] | None = None
    """Articles past their review date (most cited first); None without a knowledge index."""
    notes: list[str] = Field(default_factory=list)


def _steps(run: PlaybookRun) -> list[Step]:
    return [*run.journal, *run.superseded]


def facts_of(
    conversation: Conversation, archived: Sequence[dict[str, Any]] = ()
) -> ConversationFacts:
    """The scorecard facts of one conversation, its archived records included."""
    from .._json import load

    runs = list(conversation.runs)
    transcript = list(conversation.transcript)
    older: list[Message] = []
    for record in archived:
        if record.get("kind") == "run":
            runs.append(load(PlaybookRun, record["run"]))
        elif record.get("kind") == "messages":
            older += [Message.from_json(m) for m in record["messages"]]
        elif record.get("kind") == "steps":
            runs.append(
                PlaybookRun(
                    id=FREE_RUN,
                    intent=FREE_RUN,
                    status="free",
                    journal=[load(Step, s) for s in record["steps"]],
                )
            )
    transcript = older + transcript
    playbooks = sorted((r for r in runs if r.intent != FREE_RUN), key=lambda r: r.started_at)
    statuses = {r.status for r in playbooks}
    handoff = conversation.handoff
    if handoff is not None or conversation.status == "handed_off" or "escalated" in statuses:
        outcome: ConversationOutcome = "escalated"
    elif "resolved" in statuses:
        outcome = "resolved"
    elif "refused" in statuses:
        outcome = "refused"
    elif conversation.counters.get("knowledge_answers", 0) > 0:
        outcome = "answered"
    elif conversation.status == "open":
        outcome = "open"  # the customer may still write (see load_conversations' idle)
    else:
        outcome = "unresolved"
    reason = None
    if outcome == "escalated":
        reason = str((handoff or {}).get("reason") or "unknown")
    asked: set[str] = set()
    repeated = 0
    unanswered: list[str] = []
    last_customer: str | None = None
    for message in transcript:
        if message.role == "customer":
            last_customer = message.text
        elif message.role == "agent":
            text = normalize(message.text)
            if _NO_ANSWER and text.startswith(_NO_ANSWER) and last_customer:
                unanswered.append(last_customer.strip())
            if "?" in message.text:  # as evals.scoring.repeated_questions counts
                repeated += text in asked
                asked.add(text)
    # ctx.approve journals a step of kind "approve" at the request; its result is the decided
    # Approval (``decided_at``). Automatic approvals (under the lowest tier) wait for nobody.
    approvals = [
        float(result["decided_at"]) - float(s.at)
        for r in runs
        for s in _steps(r)
        if s.kind == "approve"
        and s.status == "done"
        and isinstance(result := s.result, dict)
        and isinstance(result.get("decided_at"), (int, float))
        and not result.get("automatic")
    ]
    return ConversationFacts(
        id=conversation.id,
        customer_id=conversation.customer_id,
        channel=conversation.channel,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        intents=list(dict.fromkeys(r.intent for r in playbooks)),
        outcome=outcome,
        escalation_reason=reason,
        customer_turns=sum(1 for m in transcript if m.role == "customer"),
        repeated_questions=repeated,
        unanswered=unanswered,
        approvals=approvals,
        cited={
            key.removeprefix(CITED): count
            for key, count in conversation.counters.items()
            if key.startswith(CITED)
        },
    )


async def load_conversations(
    store: Any,
    *,
    since: float | None = None,
    until: float | None = None,
    idle: float = 24 * 3600.0,
    now: float | None = None,
) -> list[ConversationFacts]:
    """The facts of every conversation created in ``[since, until)``, oldest first.

    An open conversation idle for more than ``idle`` seconds (the agent's ``idle_timeout``)
    counts as ended; a more recent one as ``open`` (in the volume, not in the rates).

    Raises:
        UserError: the store cannot list its conversations.
        CorruptStore: a stored conversation cannot be read (the message names it).
    """
    now = time.time() if now is None else now
    lister = getattr(store, "conversation_ids", None)
    if lister is None:
        raise UserError(f"{type(store).__name__} cannot list its conversations")
    found: list[ConversationFacts] = []
    for conversation_id in await lister(updated_since=since):
        try:
            conversation = await store.get(conversation_id)
            archived = await store.archived(conversation_id)
        except CorruptStore:
            raise
        except StoreError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptStore(
                f"conversation {conversation_id}: unreadable archive: {exc}"
            ) from None
        if conversation is None:
            continue
        try:
            facts = facts_of(conversation, archived)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptStore(
                f"conversation {conversation_id}: unreadable archive: {exc}"
            ) from None
        if facts.outcome == "open" and facts.updated_at < now - idle:
            facts.outcome = "unresolved"  # abandoned: the agent would close it on the next message
        if (since is None or facts.created_at >= since) and (
            until is None or facts.created_at < until
        ):
            found.append(facts)
    return sorted(found, key=lambda f: (f.created_at, f.id))


def _rate(count: int, whole: int) -> Rate:
    return Rate(count=count, rate=count / whole if whole else None)


def compute_scorecard(
    facts: Sequence[ConversationFacts],
    *,
    since: float | None = None,
    until: float | None = None,
    reopen_days: float = 7.0,
    stale: Sequence[StaleDocument] | None = None,
) -> Scorecard:
    """The scorecard of these conversations (an empty list gives zero counts and no rates).

    Args:
        stale: the knowledge base's documents past their review date
            (``KnowledgeBase.stale()``), listed with how often answers cited them; None when
            no knowledge index was given.
    """
    ended = [f for f in facts if f.outcome != "open"]
    outcomes = Counter(f.outcome for f in facts)
    by_customer: dict[str, list[ConversationFacts]] = defaultdict(list)
    for f in facts:
        by_customer[f.customer_id].append(f)
    window = reopen_days * 86400.0

    def reopened(f: ConversationFacts) -> bool:
        return any(
            o.id != f.id and f.updated_at <= o.created_at <= f.updated_at + window
            for o in by_customer[f.customer_id]
        )

    resolved = [f for f in facts if f.outcome == "resolved"]
    escalated = outcomes["escalated"]
    waits = sorted(w for f in facts for w in f.approvals)
    turns = [f.customer_turns for f in facts]
    gaps = Counter(q for f in facts for q in f.unanswered)
    cited: Counter[str] = Counter()
    for f in facts:
        cited.update(f.cited)
    notes = [
        "Resolution: a playbook reached its goal. Deflection: answered from knowledge only. "
        "Resolved + answered is what the eval scores 'resolved'; unresolved (no resolution, "
        "answer, refusal or handoff) is the eval's 'deflected'. Rates are over ended "
        "conversations; open ones count in the volume only.",
    ]
    if stale is None:
        notes.append("Stale articles: give the knowledge index (--knowledge) to list them.")
    if not waits:
        notes.append("Approval turnaround is empty: no approval was journaled in this range.")
    return Scorecard(
        since=since,
        until=until,
        reopen_days=reopen_days,
        conversations=len(facts),
        by_intent=dict(
            Counter(i for f in facts for i in (f.intents or ["(no playbook)"])).most_common()
        ),
        by_channel=dict(Counter(f.channel for f in facts).most_common()),
        outcomes={
            k: outcomes[k]
            for k in ("resolved", "answered", "refused", "escalated", "unresolved", "open")
        },
        resolution=_rate(len(resolved), len(ended)),
        escalation=_rate(escalated, len(ended)),
        deflection=_rate(outcomes["answered"], len(ended)),
        resolved_or_answered=_rate(len(resolved) + outcomes["answered"], len(ended)),
        unresolved=_rate(outcomes["unresolved"], len(ended)),
        containment=_rate(len(ended) - escalated, len(ended)),
        first_contact_resolution=_rate(sum(not reopened(f) for f in resolved), len(ended)),
        escalation_reasons=dict(
            Counter(
                f.escalation_reason or "unknown" for f in facts if f.outcome == "escalated"
            ).most_common()
        ),
        approvals=len(waits),
        approval_turnaround_s=waits[len(waits) // 2] if waits else None,
        customer_turns_mean=sum(turns) / len(turns) if turns else None,
        customer_turns_max=max(turns, default=0),
        repeated_questions=sum(f.repeated_questions for f in facts),
        knowledge_gaps=dict(gaps.most_common(20)),
        articles_cited=dict(cited.most_common(20)),
        stale_articles=None
        if stale is None
        else sorted(
            (
                StaleArticle(
                    doc_id=d.doc_id,
                    title=d.title,
                    owner=d.owner,
                    review_by=d.review_by.isoformat(),
                    days_overdue=d.days_overdue,
                    cited=cited.get(d.doc_id, 0),
                )
                for d in stale
            ),
            key=lambda a: (-a.cited, -a.days_overdue, a.doc_id),
        ),
        notes=notes,
    )
