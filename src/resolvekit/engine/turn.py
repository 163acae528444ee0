"""One turn: record the message; if a human has the conversation, stay quiet; else recover what
a crash interrupted, then ask the model for one decision from the allowed set (re-asking once
when the decision is invalid), let the escalation policy veto, and apply the decision. Free-mode
tool calls loop back to the model, bounded by ``max_steps``."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any, assert_never

from ..escalation import PolicyInput
from ..exceptions import ModelError, ModelRequestsBlocked, ResolvekitError, StoreError, UserError
from ..handoffs import Handoff
from ..messages import (
    AnswerFromKnowledge,
    AskClarification,
    CallTool,
    Confirm,
    Decision,
    Escalate,
    FillSlots,
    Message,
    Reply,
    StartIntent,
    Usage,
)
from ..models.base import ModelRequest, ModelResponse
from ..results import TurnResult, elapsed_ms
from ..sessions import FREE_RUN, Conversation, PlaybookRun
from .approval import while_pending
from .clarify import answer, clarify
from .confirm import confirm
from .escalate import close, escalate, report_unknown_outcomes
from .free import free_call
from .recovery import recover
from .requests import build_request, invalid_decision
from .slots import advance, fill, queue, remembered, set_slots, start
from .state import TurnState

if TYPE_CHECKING:
    from .setup import AgentSetup

__all__ = ["Turn"]

log = logging.getLogger("resolvekit")


class Turn:
    """Handles one customer message (or a recovery sweep) against one loaded conversation."""

    def __init__(
        self,
        agent: AgentSetup,
        conversation: Conversation,
        deps: Any,
        *,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        self.state = TurnState(agent, conversation, deps)
        self.state.message_id = message_id
        self.state.reply_to = reply_to

    @property
    def escalated_now(self) -> bool:
        """True when this turn handed the conversation over (the handoff must be delivered)."""
        return self.state.escalated_now

    async def run(self, text: str, *, resumed: bool = False) -> TurnResult:
        """Handle ``text``; ``resumed``: the message was already recorded by a turn a crash
        interrupted (the same ``message_id`` delivered again), so only that turn is finished."""
        state = self.state
        conv = state.conv
        state.text = text
        if not resumed:
            conv.transcript.append(
                Message(
                    role="customer", text=text, channel=conv.channel, message_id=state.message_id
                )
            )
        if conv.status == "handed_off":
            state.say(state.agent.phrases.with_human)
            state.outcome = "escalated"
            state.handoff = Handoff.model_validate(conv.handoff) if conv.handoff else None
            return state.result()
        await self._guarded(self._turn(resumed), "turn")
        return state.result()

    async def recover(self) -> TurnResult | None:
        """Finish what a crash interrupted, with no new customer message (the sweep).

        Returns:
            The recovery's result, or None when there was nothing to recover.
        """
        state = self.state
        if state.conv.status == "handed_off" or state.conv.inflight_until() is None:
            return None
        await self._guarded(recover(state), "recovery")
        return state.result()

    async def after_decision(self, run: PlaybookRun) -> TurnResult:
        """Run ``run``'s playbook on with no customer message, once a person decided the
        approval it waits for (:func:`resolvekit.engine.approval.decide`)."""
        self.state.intent = run.intent
        await self._guarded(advance(self.state, run), "turn")
        return self.state.result()

    async def _turn(self, resumed: bool) -> None:
        state = self.state
        if await recover(state):
            return
        if await while_pending(state):
            return
        if resumed and state.recovered:
            # The message was acted on before the crash: finish that, do not read it again.
            # A free-mode step loop goes on from the recovered call's result.
            if state.conv.run(FREE_RUN) is not None and state.current_run is None:
                await self._steps()
            return
        await self._steps()
        await report_unknown_outcomes(state)

    async def _guarded(self, work: Any, what: str) -> None:
        """Run ``work``; any failure but the developer's or the store's becomes a handoff."""
        state = self.state
        with state.watched():
            await self._handled(work, what)

    async def _handled(self, work: Any, what: str) -> None:
        state = self.state
        try:
            await work
        except (ModelRequestsBlocked, UserError, StoreError):
            raise  # the developer's mistake, or the store failing: typed, nothing half-done
        except ModelError as exc:
            state.error = exc
            await escalate(state, f"the model failed: {exc}", "high")
        except ResolvekitError as exc:
            if state.agent.raise_errors:
                raise
            state.error = exc
            await escalate(state, f"engine error: {exc}", "high")
        except Exception as exc:  # a broken model, knowledge source or damaged state
            if state.agent.raise_errors:
                raise
            log.exception("%s of conversation %s failed", what, state.conv.id)
            state.error = exc
            prefix = "internal error" if what == "turn" else "recovery failed"
            await escalate(state, f"{prefix}: {type(exc).__name__}: {exc}", "high")

    # -- the step loop ------------------------------------------------------------------------

    async def _steps(self) -> None:
        """Ask the model and apply its decision, again after each free-mode tool call."""
        state = self.state
        while await self._decide(build_request(state.agent, state.conv)):
            pass

    async def _decide(self, request: ModelRequest) -> bool:
        """One decision, vetted by the escalation policy and applied.

        Returns:
            True when the model must decide again.
        """
        state = self.state
        response = await self._ask_model(request)
        if response is None:
            await clarify(state, state.agent.phrases.not_understood, [])
            return False
        state.response = response
        state.confidence = response.confidence
        decision = response.decision
        run = state.conv.active_run
        observed = PolicyInput(
            intent=decision.intent
            if isinstance(decision, StartIntent)
            else (run.intent if run else None),
            confidence=response.confidence,
            clarifications=state.conv.counters.get("clarifications", 0),
            tool_failures=state.conv.counters.get("tool_failures", 0),
            human_request=response.signals.human_request,
            sentiment=response.signals.sentiment,
            text=request.text,
        )
        veto = state.agent.escalation.check(observed)
        if veto is not None:
            await escalate(state, *veto)
            return False
        return await self._apply(decision, response)

    async def _ask_model(self, request: ModelRequest) -> ModelResponse | None:
        """One decision, validated; one re-ask with the error; None if still invalid."""
        state = self.state
        for attempt in range(2):
            started = time.perf_counter()
            response = await state.agent.model.request(request)
            state.usage.add(response.usage)
            problem = invalid_decision(state.agent, state.conv, response, request)
            state.note(
                "model",
                decision=response.decision.model_dump(),
                confidence=response.confidence,
                alternatives=response.alternatives,
                ms=elapsed_ms(started),
                invalid=problem,
                attempt=attempt,
                model=response.model_name or state.agent.model.name,
                **_tokens(response.usage),
                **({"respelled": response.signals.respelled} if response.signals.respelled else {}),
            )
            if problem is None:
                return response
            request = dataclasses.replace(request, retry_error=problem)
        return None

    async def _apply(self, decision: Decision, response: ModelResponse) -> bool:
        """Apply one decision of the closed set (the type checker checks every kind is here).

        Returns:
            True when the model must decide again (after a free-mode tool call).
        """
        state = self.state
        match decision:
            case StartIntent(intent=name, slots=slots, then=then):
                floor = state.agent.escalation.confidence_floor
                if response.confidence is not None and response.confidence < floor:
                    options = [name, *(a for a, _ in response.alternatives if a != name)][:3]
                    await clarify(state, state.agent.phrases.which_intent, options)
                    return False
                queue(state, then)
                await start(state, name, slots)
            case FillSlots(slots=slots):
                await self._fill(slots)
            case Confirm(answer=said):
                return await confirm(state, said)
            case AnswerFromKnowledge(query=query, otherwise=otherwise):
                answered = await answer(state, query, clarify_if_not=otherwise is None)
                if not answered and otherwise is not None:
                    fallback = otherwise.intent if isinstance(otherwise, StartIntent) else None
                    state.note("knowledge", event="fallback", intent=fallback)
                    return await self._apply(otherwise, response)
            case AskClarification(text=text, options=options):
                await clarify(state, text, options)
            case CallTool(tool=name, args=args):
                return await free_call(state, name, args)
            case Escalate(reason=reason, priority=priority):
                await escalate(state, reason, priority)
            case Reply(text=text, citations=citations, close=closing):
                state.say(text)
                state.citations.extend(citations)
                state.outcome = "replied"
                if closing:
                    close(state)
            case _:
                assert_never(decision)
        return False

    async def _fill(self, slots: dict[str, Any]) -> None:
        state = self.state
        conv = state.conv
        conv.counters["clarifications"] = 0
        pending = conv.pending
        if pending is not None and pending.kind == "resume":
            # "Shall we go back to the plan change?" - "team": yes, with the answer.
            back = conv.run(pending.run_id)
            if back is not None:
                if back.queued:
                    values = remembered(state, back.intent, {**back.slots, **slots})
                    set_slots(state, back, state.agent.intents[back.intent], values)
                back.status, back.queued = "waiting", False
                conv.pending = None
        await fill(state, slots)


def _tokens(usage: Usage) -> dict[str, int]:
    """The tokens a model request spent, when the model counts them (LLMs do, LocalModel not)."""
    if not usage.prompt_tokens and not usage.completion_tokens:
        return {}
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
