"""The turn state machine (internal): :class:`resolvekit.Agent` builds a :class:`Turn` per message.

One turn: record the message; if a human has the conversation, stay quiet; else ask the model for
one decision from the allowed set (re-asking once when the decision is invalid), let the
escalation policy veto, then act: start or continue a playbook (collect slots, replay the journal,
suspend on questions), answer from knowledge, clarify, run a tool (free mode, bounded), escalate
or reply.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, assert_never

from pydantic import ValidationError

from ._requests import build_request, invalid_decision
from .escalation import Handoff, PolicyInput, build_handoff, summarize
from .exceptions import (
    ModelError,
    ModelRequestsBlocked,
    PlaybookError,
    ResolvekitError,
    StoreError,
    ToolError,
    UserError,
)
from .intents import Intent, humanize, slot_error_message
from .messages import (
    AnswerFromKnowledge,
    AskClarification,
    CallTool,
    Citation,
    Confirm,
    Escalate,
    FillSlots,
    Message,
    Reply,
    StartIntent,
    Usage,
)
from .models import ModelRequest, ModelResponse
from .playbooks import Context, KnowledgeAnswer, PlaybookOutcome, _Hooks, _Suspend
from .results import Outcome, TraceEvent, TurnResult
from .sessions import FREE_RUN, Conversation, PendingState, PlaybookRun, Step
from .specs import SlotSpec
from .tools import Tool

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["Turn"]

log = logging.getLogger("resolvekit")


class Turn:
    """Handles one customer message against one loaded conversation."""

    def __init__(self, agent: Agent[Any], conversation: Conversation, deps: Any) -> None:
        self.agent = agent
        self.conv = conversation
        self.deps = deps
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
        self.response: ModelResponse | None = None
        self.escalated_now = False
        """True when this turn handed the conversation over (the handoff must be delivered)."""
        self.current_run: PlaybookRun | None = None
        """The playbook run this turn worked on."""
        self.text = ""
        """The customer's message this turn handles ("" for a recovery sweep)."""
        self.message_id: str | None = None
        self.reply_to: str | None = None
        """The question id the customer's client says this message answers, if any."""
        self.unknown: list[str] = []
        """Writes whose outcome became unknown this turn (always handed to a human)."""
        self.recovered = False
        """True when this turn finished work a crash had interrupted."""

    # -- entry -------------------------------------------------------------------------------

    async def run(self, text: str, *, resumed: bool = False) -> TurnResult:
        """Handle ``text``; ``resumed``: the message was already recorded by a turn a crash
        interrupted (the same ``message_id`` delivered again), so only that turn is finished."""
        conv = self.conv
        self.text = text
        if not resumed:
            conv.transcript.append(Message(role="customer", text=text, channel=conv.channel))
        if conv.status == "handed_off":
            self._say(self.agent.phrases.with_human)
            self.outcome = "escalated"
            self.handoff = Handoff.model_validate(conv.handoff) if conv.handoff else None
            return self._result()
        try:
            if await self._recover():
                return self._result()
            if resumed and self.recovered:
                # The message was acted on before the crash: finish that, do not read it again.
                # A free-mode step loop goes on from the recovered call's result.
                if self.conv.run(FREE_RUN) is not None and self.current_run is None:
                    await self._decide(build_request(self.agent, self.conv))
                return self._result()
            await self._decide(build_request(self.agent, self.conv))
            await self._report_unknown_outcomes()
        except (ModelRequestsBlocked, UserError, StoreError):
            raise  # the developer's mistake, or the store failing: typed, nothing half-done
        except ModelError as exc:
            self.error = exc
            await self._escalate(f"the model failed: {exc}", "high")
        except ResolvekitError as exc:
            if self.agent.raise_errors:
                raise
            self.error = exc
            await self._escalate(f"engine error: {exc}", "high")
        except Exception as exc:  # a broken model, knowledge source or damaged state
            if self.agent.raise_errors:
                raise
            log.exception("turn of conversation %s failed", conv.id)
            self.error = exc
            await self._escalate(f"internal error: {type(exc).__name__}: {exc}", "high")
        return self._result()

    async def recover(self) -> TurnResult | None:
        """Finish what a crash interrupted, with no new customer message (the sweep).

        Returns:
            The recovery's result, or None when there was nothing to recover.
        """
        self.text = ""
        if self.conv.status == "handed_off" or self.conv.inflight_until() is None:
            return None
        try:
            await self._recover()
        except (ModelRequestsBlocked, UserError, StoreError):
            raise
        except Exception as exc:
            if self.agent.raise_errors:
                raise
            log.exception("recovery of conversation %s failed", self.conv.id)
            self.error = exc
            await self._escalate(f"recovery failed: {type(exc).__name__}: {exc}", "high")
        return self._result()

    async def _recover(self) -> bool:
        """Finish writes a crash interrupted: a playbook run left running with no question
        pending, and free-mode calls left ``started``.

        Returns:
            True when the recovery now needs the customer or a human, so the new message is
            not interpreted this turn.
        """
        if await self._recover_free():
            return True
        run = self.conv.active_run
        if run is None or run.status != "waiting" or self.conv.pending is not None:
            return False
        self._trace("playbook", event="recover", intent=run.intent, run=run.id)
        self.recovered = True
        await self._advance(run)
        await self._report_unknown_outcomes()
        return self.outcome in ("escalated", "awaiting_customer")

    async def _recover_free(self) -> bool:
        """Free mode: an idempotent call left ``started`` is made again with its key; any other
        is reported to a human as ``unknown_outcome``, never repeated."""
        free = self.conv.run(FREE_RUN)
        started = [
            s for s in (free.journal if free else []) if s.kind == "call" and s.status == "started"
        ]
        if free is None or not started:
            return False
        self.recovered = True
        ctx = self._free_context(free)
        for step in started:
            self._trace("free", event="recover", tool=step.key, step=step.index)
            tool = self.agent.tools.get(step.key)
            if tool is None:
                outcome: Any = ToolError(step.key, "unknown_outcome", "the tool is gone")
                step.status, step.error = "error", outcome.to_json()
            else:
                outcome = await ctx.recover_step(tool, step)
            self._record_tool_message(step.key, step.args, tool, outcome)
        await self.agent.store.save(self.conv)
        return await self._report_unknown_outcomes()

    async def _report_unknown_outcomes(self) -> bool:
        """A write whose outcome is unknown (interrupted, or timed out) goes to a human,
        whatever the playbook or the model did with the error: nobody may retry it blindly."""
        if self.conv.status == "handed_off" or not self.unknown:
            return self.conv.status == "handed_off"
        tools = ", ".join(sorted(set(self.unknown)))
        await self._escalate(
            f"the outcome of {tools} is unknown after an interruption; check the system "
            "before doing it again",
            "high",
        )
        return True

    def _result(self) -> TurnResult:
        reply = "\n".join(r for r in self.replies if r)
        self.conv.transcript.append(Message(role="agent", text=reply, channel=self.conv.channel))
        self.conv.usage.add(self.usage)
        run = self.current_run or self.conv.active_run
        return TurnResult(
            reply=reply,
            outcome=self.outcome,
            confidence=self.confidence,
            handoff=self.handoff,
            trace=self.trace,
            conversation_id=self.conv.id,
            intent=self.intent or (run.intent if run else None),
            slots=dict(run.slots) if run else {},
            citations=self.citations,
            pending=self.conv.pending.kind if self.conv.pending else None,
            question_id=self.conv.pending.id if self.conv.pending else None,
            usage=self.usage,
            error=self.error,
        )

    # -- asking the model --------------------------------------------------------------------

    async def _ask_model(self, request: ModelRequest) -> ModelResponse | None:
        """One decision, validated; one re-ask with the error; None if still invalid."""
        for attempt in range(2):
            started = time.perf_counter()
            response = await self.agent.model.request(request)
            self.usage.add(response.usage)
            problem = invalid_decision(self.agent, self.conv, response, request)
            self.trace.append(
                TraceEvent(
                    kind="model",
                    data={
                        "decision": response.decision.model_dump(),
                        "confidence": response.confidence,
                        "alternatives": response.alternatives,
                        "ms": round((time.perf_counter() - started) * 1000, 3),
                        "invalid": problem,
                        "attempt": attempt,
                    },
                )
            )
            if problem is None:
                return response
            request = dataclasses.replace(request, retry_error=problem)
        return None

    # -- deciding ----------------------------------------------------------------------------

    async def _decide(self, request: ModelRequest) -> None:
        response = await self._ask_model(request)
        if response is None:
            await self._clarify(self.agent.phrases.not_understood, [])
            return
        self.response = response
        self.confidence = response.confidence
        decision = response.decision
        run = self.conv.active_run
        observed = PolicyInput(
            intent=decision.intent
            if isinstance(decision, StartIntent)
            else (run.intent if run else None),
            confidence=response.confidence,
            clarifications=self.conv.counters.get("clarifications", 0),
            tool_failures=self.conv.counters.get("tool_failures", 0),
            human_request=response.signals.human_request,
            sentiment=response.signals.sentiment,
            text=request.text,
        )
        veto = self.agent.escalation.check(observed)
        if veto is not None:
            await self._escalate(*veto)
            return
        await self._act(decision, response)

    async def _act(self, decision: Any, response: ModelResponse) -> None:
        match decision:
            case StartIntent(intent=name, slots=slots, then=then):
                floor = self.agent.escalation.confidence_floor
                if response.confidence is not None and response.confidence < floor:
                    options = [name, *(a for a, _ in response.alternatives if a != name)][:3]
                    await self._clarify(self.agent.phrases.which_intent, options)
                    return
                self._queue(then)
                await self._start(name, slots)
            case FillSlots(slots=slots):
                self.conv.counters["clarifications"] = 0
                pending = self.conv.pending
                if pending is not None and pending.kind == "resume":
                    # "Shall we go back to the plan change?" - "team": yes, with the answer.
                    back = self.conv.run(pending.run_id)
                    if back is not None:
                        if back.queued:
                            remembered = self._remembered(back.intent, {**back.slots, **slots})
                            self._set_slots(back, self.agent.intents[back.intent], remembered)
                        back.status, back.queued = "waiting", False
                        self.conv.pending = None
                await self._fill(slots)
            case Confirm(answer=answer):
                await self._confirm(answer)
            case AnswerFromKnowledge(query=query, otherwise=otherwise):
                answered = await self._answer(query, clarify=otherwise is None)
                if not answered and otherwise is not None:
                    self._trace("knowledge", event="fallback", intent=otherwise.intent)
                    await self._act(otherwise, response)
            case AskClarification(text=text, options=options):
                await self._clarify(text, options)
            case CallTool(tool=name, args=args):
                await self._free_call(name, args)
            case Escalate(reason=reason, priority=priority):
                await self._escalate(reason, priority)
            case Reply(text=text, citations=citations, close=close):
                self._say(text)
                self.citations.extend(citations)
                self.outcome = "replied"
                if close:
                    self._close()
            case _:
                assert_never(decision)

    # -- intents and slots -------------------------------------------------------------------

    async def _start(self, name: str, slots: dict[str, Any]) -> None:
        conv = self.conv
        conv.counters["clarifications"] = 0
        conv.offered = []
        self.intent = name
        active = conv.active_run
        if active is not None and active.intent == name:
            await self._fill(slots)
            return
        if active is not None:
            active.status = "suspended"
            conv.pending = None
            self._trace("playbook", event="suspended", intent=active.intent, run=active.id)
        opening = next((m.text for m in reversed(conv.transcript) if m.role == "customer"), "")
        run = PlaybookRun(id=uuid.uuid4().hex[:12], intent=name, opening=opening)
        conv.runs.append(run)
        self._trace("playbook", event="start", intent=name, run=run.id)
        intent_cls = self.agent.intents[name]
        values = {**self._remembered(name, slots), **slots}
        errors = self._set_slots(run, intent_cls, values)
        await self._advance(run, errors)

    def _remembered(self, intent: str, given: dict[str, Any]) -> dict[str, Any]:
        """Values the customer gave earlier in the conversation for ``intent``'s slots that
        ``given`` lacks (see :meth:`_used_up` for the one exception)."""
        facts, intent_cls = self.conv.facts, self.agent.intents[intent]
        reused: dict[str, Any] = {}
        for slot in intent_cls.model_fields:
            if slot in given or slot not in facts or not intent_cls.slot_info(slot).remember:
                continue
            if self._used_up(intent, slot, facts[slot]):
                continue
            reused[slot] = facts[slot]
            self._trace("slot", event="reused", slot=slot, value=facts[slot])
        return reused

    def _queue(self, requests: list[StartIntent]) -> None:
        """Further requests of the message, kept as suspended runs with their slots: each is
        offered ("Shall we go back to ...?") when the request before it is done."""
        conv = self.conv
        opening = next((m.text for m in reversed(conv.transcript) if m.role == "customer"), "")
        for request in reversed(requests):  # the last suspended run is offered first
            run = PlaybookRun(
                id=uuid.uuid4().hex[:12],
                intent=request.intent,
                opening=opening,
                status="suspended",
                queued=True,
            )
            # A value that does not validate is simply asked for when the run's turn comes.
            self._set_slots(run, self.agent.intents[request.intent], dict(request.slots))
            conv.runs.append(run)
            self._trace("playbook", event="queued", intent=run.intent, run=run.id)

    def _used_up(self, intent: str, slot: str, value: Any) -> bool:
        """An id (order, charge...) that a finished run of the *same* intent already used.

        "I want another refund" after refunding CH1001 is about a different charge: asking is
        right, reusing CH1001 is not. Another intent may still reuse it ("cancel it" after
        "where is W1234567?"), and so may slots that are not ids (an email, a name).
        """
        spec = self.agent.intent_spec(intent).slot(slot)
        if spec is None or spec.kind != "id":
            return False
        finished = ("resolved", "refused", "escalated", "cancelled", "failed")
        return any(
            run.intent == intent and run.status in finished and run.slots.get(slot) == value
            for run in self.conv.runs
        )

    def _set_slots(
        self, run: PlaybookRun, intent_cls: type[Intent], values: dict[str, Any]
    ) -> dict[str, str]:
        """Validate and store slot values; return ``{slot: customer-facing error}``."""
        errors: dict[str, str] = {}
        for slot, raw in values.items():
            try:
                value = intent_cls.validate_slot(slot, raw)
            except ValueError as exc:
                errors[slot] = str(exc)
                self._trace("slot", event="invalid", slot=slot, value=raw, error=str(exc))
                continue
            stored = _jsonable(value)
            run.slots[slot] = stored
            if intent_cls.slot_info(slot).remember:
                self.conv.facts[slot] = stored
            self._trace("slot", event="set", slot=slot, value=stored)
        return errors

    async def _fill(self, values: dict[str, Any]) -> None:
        conv = self.conv
        pending = conv.pending
        run = conv.active_run
        if run is None:  # guarded by invalid_decision; kept for type narrowing
            await self._clarify(self.agent.phrases.not_understood, [])
            return
        self.intent = run.intent
        values = dict(values)
        if pending is not None and pending.kind == "ask" and pending.slot in values:
            step = run.journal[pending.step or 0]
            step.status, step.result = "done", _jsonable(values.pop(pending.slot or ""))
            conv.pending = None
            self._trace("ask", event="answered", step=step.index, value=step.result)
        intent_cls = self.agent.intents[run.intent]
        before = dict(run.slots)
        errors = self._set_slots(run, intent_cls, values)
        corrected = [
            s for s in values if s in before and s in run.slots and before[s] != run.slots[s]
        ]
        if pending is not None and pending.kind == "slot" and pending.slot in run.slots:
            conv.pending = None
        await self._advance(run, errors, rewind=corrected[0] if corrected else None)

    async def _advance(
        self, run: PlaybookRun, errors: dict[str, str] | None = None, rewind: str | None = None
    ) -> None:
        """Ask for the next missing slot, or run the playbook."""
        errors = errors or {}
        self.current_run = run
        intent_cls = self.agent.intents[run.intent]
        spec = self.agent.intent_spec(run.intent)
        for slot in intent_cls.required_slots():
            if slot not in run.slots:
                question = (spec.slot(slot) or SlotSpec(name=slot)).ask
                await self._ask_slot(
                    run, slot, f"{errors[slot]} {question}" if slot in errors else question
                )
                return
        try:
            intent = intent_cls.model_validate(run.slots)
        except ValidationError as exc:
            slot = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
            if slot in run.slots:
                run.slots.pop(slot)
                question = (spec.slot(slot) or SlotSpec(name=slot)).ask
                await self._ask_slot(run, slot, f"{slot_error_message(slot, exc)} {question}")
                return
            raise UserError(f"Intent {run.intent} does not validate: {exc}") from exc
        run.status = "waiting"
        await self._execute(run, intent, rewind)

    async def _ask_slot(self, run: PlaybookRun, slot: str, question: str) -> None:
        previous = self.conv.pending
        attempts = 0
        if (
            previous is not None
            and previous.kind == "slot"
            and previous.slot == slot
            and previous.run_id == run.id
        ):
            # The last answer did not give the slot: count it, and stop asking at some point.
            attempts = previous.attempts + 1
            if attempts > self.agent.escalation.max_clarifications:
                label = slot.replace("_", " ")
                await self._escalate(f"the customer could not give the {label}", "normal")
                return
        run.status = "collecting"
        self.conv.pending = PendingState(
            kind="slot", question=question, run_id=run.id, slot=slot, attempts=attempts
        )
        self._say(question)
        self.outcome = "awaiting_customer"

    # -- running playbooks -------------------------------------------------------------------

    def _hooks(self) -> _Hooks:
        async def checkpoint() -> None:
            await self.agent.store.save(self.conv)

        async def knowledge(query: str, k: int) -> KnowledgeAnswer:
            return await self.agent.answer_from_knowledge(query, k)

        return _Hooks(
            checkpoint=checkpoint,
            tools=self.agent.tools,
            knowledge=knowledge if self.agent.knowledge is not None else None,
            trace=self._on_trace,
        )

    def _on_trace(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "tool" and data.get("status") != "done":
            self.conv.bump("tool_failures")
        if kind == "tool" and data.get("kind") == "unknown_outcome":
            self.unknown.append(str(data.get("tool")))
        self.trace.append(TraceEvent(kind=kind, data=data))

    async def _execute(self, run: PlaybookRun, intent: Intent, rewind: str | None) -> None:
        playbook = self.agent.playbooks[run.intent]
        ctx: Context[Any] = Context(
            conversation=self.conv, run=run, deps=self.deps, hooks=self._hooks(), rewind=rewind
        )
        self._trace(
            "playbook",
            event="replay" if run.journal else "run",
            intent=run.intent,
            steps=len(run.journal),
        )
        try:
            outcome = await playbook(ctx, intent)
        except _Suspend as signal:
            self.replies.extend(ctx.outbox)
            self.conv.pending = signal.pending
            question = signal.pending.question
            self._say(f"{signal.error} {question}" if signal.error else question)
            self.outcome = "awaiting_customer"
            return
        except ToolError as exc:
            self.replies.extend(ctx.outbox)
            await self._fail(run, exc, f"{exc.tool} failed ({exc.kind}): {exc.message}")
            return
        except PlaybookError as exc:
            self.replies.extend(ctx.outbox)
            if self.agent.raise_errors:
                raise
            await self._fail(run, exc, str(exc))
            return
        except Exception as exc:  # a playbook bug must not crash the customer's turn
            self.replies.extend(ctx.outbox)
            log.exception("playbook %s crashed", run.intent)
            if self.agent.raise_errors:
                raise
            await self._fail(
                run, exc, f"playbook {run.intent} crashed: {type(exc).__name__}: {exc}"
            )
            return
        self.replies.extend(ctx.outbox)
        self.conv.pending = None
        if outcome is None:
            outcome = PlaybookOutcome(kind="resolved", summary=f"{run.intent} completed")
        if not isinstance(outcome, PlaybookOutcome):
            raise UserError(
                f"Playbook {run.intent} returned {type(outcome).__name__}; return "
                f"ctx.resolve(...), ctx.escalate(...) or ctx.refuse(...)"
            )
        run.summary = outcome.summary
        self._trace("playbook", event=outcome.kind, intent=run.intent, summary=outcome.summary)
        if outcome.kind == "escalated":
            run.status = "escalated"
            await self._escalate(outcome.summary, outcome.priority, reply=outcome.reply)
            return
        run.status = outcome.kind
        self.outcome = outcome.kind
        if outcome.kind == "resolved":
            self.conv.counters["tool_failures"] = 0
        self._say(outcome.reply or outcome.summary)
        self._offer_resume()

    async def _fail(self, run: PlaybookRun, exc: BaseException, reason: str) -> None:
        run.status = "failed"
        self.error = exc
        await self._escalate(reason, "high")

    def _offer_resume(self) -> None:
        suspended = self.conv.suspended_runs
        if not suspended:
            return
        last = suspended[-1]
        phrase = self.agent.phrases.next_request if last.queued else self.agent.phrases.resume
        question = phrase.format(intent=humanize(last.intent))
        self.conv.pending = PendingState(kind="resume", question=question, run_id=last.id)
        self._say(question)

    async def _confirm(self, answer: Literal["yes", "no", "unsure"]) -> None:
        """A yes/no answer: the engine reads the customer's words itself and the stricter of
        its reading and the model's wins (see :class:`~resolvekit.consent.ConsentPolicy`)."""
        conv = self.conv
        pending = conv.pending
        assert pending is not None  # guarded by invalid_decision
        if self.reply_to is not None and self.reply_to != pending.id:
            # The customer's client says this answers another question (an old button, a
            # late delivery): it does not answer the one open now.
            self._trace("confirm", event="stale", answers=self.reply_to, open=pending.id)
            self._say(self.agent.phrases.stale_answer.format(question=pending.question))
            self.outcome = "awaiting_customer"
            return
        policy = self.agent.consent
        reading = policy.reader(self.text, pending.question)
        decided = policy.decide(answer, reading)
        self._trace(
            "confirm",
            kind=pending.kind,
            question=pending.question,
            question_id=pending.id,
            model=answer,
            reader=reading.answer,
            reason=reading.reason,
            cue=reading.cue,
            answer=decided,
        )
        if decided == "question":
            # Answer it if the knowledge base can, then ask the confirmation again.
            if self.agent.knowledge is not None:
                await self._answer(self.text)
                return
            self._say(self.agent.phrases.yes_or_no.format(question=pending.question))
            self.outcome = "awaiting_customer"
            return
        if decided == "unclear":
            pending.attempts += 1
            phrase = (
                self.agent.phrases.yes_or_no
                if pending.attempts == 1
                else (self.agent.phrases.still_open)
            )
            self._say(phrase.format(question=pending.question))
            self.outcome = "awaiting_customer"
            return
        conv.counters["clarifications"] = 0
        yes = decided == "yes"
        evidence = {
            "text": self.text,
            "message_id": self.message_id,
            "question_id": pending.id,
            "model": answer,
            "reader": reading.answer,
            "reason": reading.reason,
            "answer": decided,
            "at": time.time(),
        }
        run = conv.run(pending.run_id)
        if pending.kind == "resume":
            conv.pending = None
            if run is None:
                return
            if yes:
                if run.queued:
                    # A request queued from an earlier message: what the customer has said
                    # since (or in the same message) counts, as for any new request.
                    self._set_slots(
                        run, self.agent.intents[run.intent], self._remembered(run.intent, run.slots)
                    )
                run.status, run.queued = "waiting", False
                self.intent = run.intent
                await self._advance(run)
            else:
                run.status = "cancelled"
                self._say(self.agent.phrases.dropped)
                self.outcome = "replied"
                self._offer_resume()
            return
        if pending.kind == "tool_confirm":
            conv.pending = None
            free = self._free_run()
            step = free.journal[(pending.step or 0) - free.base]
            step.status, step.result, step.evidence = "done", yes, evidence
            if yes and pending.tool:
                await self._free_call(pending.tool["name"], pending.tool["args"], confirmed=True)
            else:
                self._say(self.agent.phrases.not_done)
                self.outcome = "replied"
            return
        if run is None or pending.step is None:
            return
        step = run.journal[pending.step]
        step.status, step.result, step.evidence = "done", yes, evidence
        conv.pending = None
        self.intent = run.intent
        await self._advance(run)

    # -- knowledge, clarification, free mode -------------------------------------------------

    async def _answer(self, query: str, *, clarify: bool = True) -> bool:
        """Answer from knowledge; False (after a clarification, if ``clarify``) when it cannot."""
        answer = await self.agent.answer_from_knowledge(query, 3)
        self._trace("knowledge", query=query, answerable=answer.answerable, score=answer.score)
        if not answer.answerable:
            if clarify:
                phrases, pending = self.agent.phrases, self.conv.pending
                if pending is not None:
                    back = phrases.back_to.format(question=pending.question)
                    text = f"{phrases.no_answer_waiting} {back}"
                elif self.agent.intents:
                    # Say what the agent can do, so an off-topic customer knows what to ask.
                    listed = _or_list([humanize(name) for name in self.agent.intents])
                    text = f"{phrases.no_answer_waiting} {phrases.can_help.format(topics=listed)}"
                else:
                    text = phrases.no_answer
                await self._clarify(text, [])
            return False
        self.conv.counters["clarifications"] = 0
        self._say(answer.text)
        self.citations.extend(answer.citations)
        self.outcome = "answered"
        if self.conv.pending is not None:
            self._say(self.agent.phrases.back_to.format(question=self.conv.pending.question))
        return True

    async def _clarify(self, text: str, options: list[str]) -> None:
        count = self.conv.bump("clarifications")
        if count > self.agent.escalation.max_clarifications:
            await self._escalate(f"still unclear after {count - 1} clarifications", "normal")
            return
        self.conv.offered = list(options)
        if options:
            listed = _or_list([humanize(o) for o in options])
            text = f"{text} {self.agent.phrases.did_you_mean.format(options=listed)}"
        self._say(text)
        self.outcome = "awaiting_customer"

    def _free_run(self) -> PlaybookRun:
        run = self.conv.run(FREE_RUN)
        if run is None:
            run = PlaybookRun(id=FREE_RUN, intent=FREE_RUN, status="free")
            self.conv.runs.append(run)
        return run

    async def _free_call(self, name: str, args: dict[str, Any], *, confirmed: bool = False) -> None:
        """Free agentic mode: run a tool the model chose, then let the model decide again."""
        self.steps += 1
        if self.steps > self.agent.max_steps:
            await self._escalate(f"step budget of {self.agent.max_steps} tool calls exhausted")
            return
        tool = self.agent.tools[name]
        run = self._free_run()
        if tool.confirm and not confirmed:
            question = self.agent.phrases.confirm_tool.format(
                action=(tool.description or name).rstrip("."), args=_render_args(args)
            )
            step = Step(
                index=run.base + len(run.journal), kind="confirm", key=question, status="pending"
            )
            run.journal.append(step)
            self.conv.pending = PendingState(
                kind="tool_confirm",
                question=question,
                run_id=run.id,
                step=step.index,
                tool={"name": name, "args": args},
            )
            self._say(question)
            self.outcome = "awaiting_customer"
            return
        ctx = self._free_context(run)
        result = await ctx.try_call(tool, **args)
        self._record_tool_message(name, args, tool, result)
        if self.unknown:
            await self._report_unknown_outcomes()
            return
        await self._decide(build_request(self.agent, self.conv))

    def _free_context(self, run: PlaybookRun) -> Context[Any]:
        """A context that appends to the free-mode journal (it is never replayed)."""
        ctx: Context[Any] = Context(
            conversation=self.conv, run=run, deps=self.deps, hooks=self._hooks()
        )
        ctx.append_only()
        return ctx

    def _record_tool_message(
        self, name: str, args: dict[str, Any], tool: Tool[Any] | None, result: Any
    ) -> None:
        """The free-mode call's result in the transcript, where the model reads it."""
        if isinstance(result, ToolError):
            shown = result.to_json()
        else:
            shown = tool.dump_result(result) if tool is not None else result
        self.conv.transcript.append(
            Message(
                role="tool",
                text=json.dumps(shown, default=str),
                channel=self.conv.channel,
                tool_call={"name": name, "args": args},
            )
        )

    # -- escalation and closing --------------------------------------------------------------

    async def _escalate(
        self, reason: str, priority: str = "normal", *, reply: str | None = None
    ) -> None:
        conv = self.conv
        pending = conv.pending
        active = conv.active_run
        if active is not None:
            active.status = "escalated"
        run = active or self.current_run
        handoff = build_handoff(
            conv,
            reason=reason,
            priority=priority,
            confidence=self.confidence,
            intent=run.intent if run else self.intent,
            slots=dict(run.slots) if run else {},
            pending_action=pending.question if pending else None,
            error=f"{type(self.error).__name__}: {self.error}" if self.error else None,
            summary=await self._model_summary(reason),
            redactor=self.agent.redaction,
        )
        conv.status = "handed_off"
        conv.handoff = handoff.model_dump(mode="json")
        conv.resume_token = handoff.resume_token
        conv.pending = None
        self.handoff = handoff
        self.escalated_now = True
        self.outcome = "escalated"
        self._trace("escalation", reason=reason, priority=priority)
        self._say(reply or self.agent.phrases.handoff)

    async def _model_summary(self, reason: str) -> str | None:
        """A handoff summary written by the model, when it is an LLM that can (else None)."""
        model = self.agent.model
        if "summarize" not in model.capabilities or isinstance(self.error, ModelError):
            return None
        request = build_request(
            self.agent,
            self.conv,
            task="summarize",
            allowed=frozenset({"reply"}),
            pending=None,
            retry_error=None,
        )
        try:
            response = await model.request(request)
        except Exception as exc:  # a summary is a courtesy: the handoff goes out without it
            self._trace("model", task="summarize", error=f"{type(exc).__name__}: {exc}")
            return None
        self.usage.add(response.usage)
        if not isinstance(response.decision, Reply) or not response.decision.text.strip():
            return None
        return f"{response.decision.text.strip()} Handed over because: {reason}."

    def _close(self) -> None:
        conv = self.conv
        for run in conv.runs:
            if run.active or run.status == "suspended":
                run.status = "cancelled"
        conv.pending = None
        conv.status = "closed"
        conv.summary = summarize(conv)

    # -- helpers -----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if text:
            self.replies.append(text)

    def _trace(self, kind: str, /, **data: Any) -> None:
        self.trace.append(TraceEvent(kind=kind, data=data))


def _or_list(items: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _render_args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in args.items())


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
