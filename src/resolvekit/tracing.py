"""OpenTelemetry traces of turns: one span tree per :meth:`Agent.handle`, redacted.

Off by default. One line turns it on, with the global tracer provider (or the one you pass)::

    agent = rk.Agent(..., tracing=True)
    # or, for an agent built elsewhere:
    from resolvekit.tracing import instrument
    instrument(agent, tracer_provider=provider)

Each turn exports ``resolvekit.turn`` (a child of whatever span is current when ``handle`` is
called, an HTTP request's say), with one child per step the turn's trace records:

- ``chat {model}``: a model decision (GenAI semantic conventions: ``gen_ai.operation.name``,
  ``gen_ai.request.model``, ``gen_ai.usage.input_tokens``/``output_tokens`` when the model
  counts tokens);
- ``resolvekit.playbook {intent}``: a playbook running until it ends or waits for the customer,
  parent of the tool calls and searches it makes;
- ``execute_tool {name}``: a tool call (``gen_ai.tool.name``, status, effect, whether an
  idempotency key went with it, ``error.type`` and an error status when it failed);
- ``retrieval knowledge``: a knowledge lookup (redacted query, hits, top score);
- ``resolvekit.handoff``: the conversation handed to a person (reason, priority).

Slots, questions, confirmations and repairs are span events on the turn. The spans are built
when the turn ends, from :attr:`TurnResult.trace` (each timed step carries its ``ms`` and its
end time ``at``), so tracing adds nothing to a turn while it runs; the turn span itself is open
during the turn, so spans your own code starts (an HTTP client's, a database's) nest under it.

Privacy: no arguments, results, slot values or message text are exported. Every string
attribute goes through the agent's ``redaction`` policy (the one handoffs use; pass
``redactor=`` to choose another); the customer id is exported only as a SHA-256 prefix
(``resolvekit.customer.hash``; keyed with ``customer_key=``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .exceptions import UserError
from .redaction import Redactor
from .results import TraceEvent, TurnResult

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from .tools import Tool

__all__ = ["TURN_SPAN", "Traceable", "instrument", "is_instrumented", "record_turn"]

TURN_SPAN = "resolvekit.turn"
"""The name of a turn's span."""

_MARK = "__resolvekit_traced__"
_EVENT_KEYS = ("event", "slot", "step", "pattern", "action", "attempts", "intent", "tool", "kind")
"""What a span event keeps of a trace event: names and counters, never values or text."""
_OPENS_PLAYBOOK = frozenset({"run", "replay", "resume"})
_NOT_AN_END = frozenset({"start", "queued", "suspended", "recover"})


class Traceable(Protocol):
    """What :func:`instrument` needs of an agent (:class:`resolvekit.Agent` has it)."""

    name: str
    redaction: Redactor | None

    @property
    def tools(self) -> Mapping[str, Tool[Any]]: ...

    @property
    def handle(self) -> Callable[..., Awaitable[TurnResult]]: ...


def instrument(
    agent: Traceable,
    *,
    tracer_provider: TracerProvider | None = None,
    redactor: Redactor | Literal["agent"] | None = "agent",
    customer_key: str | bytes | None = None,
) -> None:
    """Trace every turn of ``agent`` (its ``handle``, hence ``handle_sync`` too).

    Args:
        agent: the agent to trace; instrumenting it again changes nothing.
        tracer_provider: where spans go (default: OpenTelemetry's global provider, set with
            ``opentelemetry.trace.set_tracer_provider``).
        redactor: the policy for every string attribute: ``"agent"`` (default) is the agent's
            ``redaction`` at each turn (the handoffs' policy), None exports raw strings.
        customer_key: a secret for :func:`customer_hash` (an HMAC). Without one the hash is a
            plain SHA-256, which anyone can reverse by hashing guesses when your customer ids
            are guessable (emails, phone numbers): give a key then.

    Raises:
        UserError: ``opentelemetry-api`` is not installed (``pip install 'resolvekit[otel]'``).
    """
    if is_instrumented(agent):
        return
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise UserError(
            "Tracing needs OpenTelemetry: pip install 'resolvekit[otel]' (opentelemetry-api and "
            "opentelemetry-sdk)"
        ) from exc
    tracer = trace.get_tracer("resolvekit", tracer_provider=tracer_provider)
    handle: Callable[..., Awaitable[TurnResult]] = agent.handle

    @functools.wraps(handle)
    async def traced(customer_id: str, text: str, **kwargs: Any) -> TurnResult:
        policy = agent.redaction if redactor == "agent" else redactor
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            # str(): a bad id (None from a webhook) is handle's to refuse, with its UserError
            "resolvekit.customer.hash": customer_hash(str(customer_id), customer_key),
            "resolvekit.channel": kwargs.get("channel", "chat"),
            "resolvekit.message_id.present": kwargs.get("message_id") is not None,
        }
        with tracer.start_as_current_span(
            TURN_SPAN,
            attributes=_clean(attributes, policy),
            record_exception=False,  # its message may hold what the customer wrote
            set_status_on_exception=False,
        ) as span:
            try:
                result = await handle(customer_id, text, **kwargs)
            except BaseException as exc:
                _failed(span, type(exc).__name__, str(exc), policy)
                raise
            record_turn(tracer, span, result, redactor=policy, tools=agent.tools)
            return result

    setattr(traced, _MARK, True)
    vars(agent)["handle"] = traced  # this agent's handle; the class is unchanged


def is_instrumented(agent: object) -> bool:
    """Whether :func:`instrument` traces ``agent``."""
    return bool(getattr(getattr(agent, "handle", None), _MARK, False))


def customer_hash(customer_id: str, key: str | bytes | None = None) -> str:
    """The customer id as traces show it: the first 16 hex digits of its SHA-256, or of its
    HMAC-SHA256 under ``key``."""
    if key is None:
        return hashlib.sha256(customer_id.encode()).hexdigest()[:16]
    secret = key.encode() if isinstance(key, str) else key
    return hmac.new(secret, customer_id.encode(), hashlib.sha256).hexdigest()[:16]


def record_turn(
    tracer: Tracer,
    turn: Span,
    result: TurnResult,
    *,
    redactor: Redactor | None,
    tools: Mapping[str, Tool[Any]] | None = None,
) -> None:
    """Add ``result``'s outcome to the open ``turn`` span and one child span per traced step
    (see the module's docstring); the caller ends ``turn``.

    Args:
        tracer: makes the child spans.
        turn: the turn's span, still open.
        result: what the turn returned.
        redactor: the policy for string attributes (None: raw).
        tools: the agent's tools, for each call's effect and idempotency key.
    """
    if not turn.is_recording():
        return  # no tracer provider: nothing would be exported
    now = time.time_ns()
    start = getattr(turn, "start_time", None) or now
    turn.set_attributes(
        _clean(
            {
                "resolvekit.conversation_id": result.conversation_id,
                "resolvekit.intent": result.intent,
                "resolvekit.outcome": result.outcome,
                "resolvekit.confidence": result.confidence,
                "resolvekit.duplicate": result.duplicate,
                "resolvekit.pending": result.pending,
                **_usage(result.usage.prompt_tokens, result.usage.completion_tokens),
            },
            redactor,
        )
    )
    if result.error is not None:
        _failed(turn, type(result.error).__name__, str(result.error), redactor)
    builder = _SpanBuilder(tracer, turn, redactor, tools or {}, (start, now))
    for event in result.trace:
        builder.add(event)
    builder.close(now)


class _SpanBuilder:
    """Turns trace events, in order, into child spans with their real start and end times."""

    def __init__(
        self,
        tracer: Tracer,
        turn: Span,
        redactor: Redactor | None,
        tools: Mapping[str, Tool[Any]],
        window: tuple[int, int],
    ) -> None:
        self.tracer, self.turn, self.redactor, self.tools = tracer, turn, redactor, tools
        self.window = window
        self.playbook: Span | None = None

    def add(self, event: TraceEvent) -> None:
        data = event.data
        match event.kind:
            case "model" if "decision" in data:
                self._model(event)
            case "tool":
                self._tool(event)
            case "knowledge" if "answerable" in data:
                self._knowledge(event)
            case "escalation":
                self._child(
                    "resolvekit.handoff",
                    event,
                    {
                        "resolvekit.handoff.reason": data.get("reason"),
                        "resolvekit.handoff.priority": data.get("priority"),
                    },
                    parent=self.turn,
                )
            case "playbook" if data.get("event") in _OPENS_PLAYBOOK:
                self.close(self._at(event))
                intent = str(data.get("intent"))
                self.playbook = self._child(
                    f"resolvekit.playbook {intent}",
                    event,
                    {"resolvekit.intent": intent, "resolvekit.playbook.start": data.get("event")},
                    parent=self.turn,
                    end=False,
                )
            case "playbook" if self.playbook is not None and data.get("event") not in _NOT_AN_END:
                attributes = {
                    "resolvekit.playbook.outcome": data.get("event"),
                    "resolvekit.playbook.summary": data.get("summary"),
                }
                self.playbook.set_attributes(_clean(attributes, self.redactor))
                self.close(self._at(event))
            case _:
                kept = {f"resolvekit.{k}": data.get(k) for k in _EVENT_KEYS}
                attributes = _clean(kept, self.redactor)
                self.turn.add_event(event.kind, attributes, timestamp=self._at(event))

    def close(self, end: int) -> None:
        """End the open playbook span (it waits for the customer, or the turn ended)."""
        if self.playbook is not None:
            self.playbook.end(end_time=end)
            self.playbook = None

    def _model(self, event: TraceEvent) -> None:
        data = event.data
        decision = data.get("decision") or {}
        model = str(data.get("model") or "model")
        self._child(
            f"chat {model}",
            event,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                **_usage(data.get("input_tokens"), data.get("output_tokens")),
                "resolvekit.decision": decision.get("kind"),
                "resolvekit.decision.intent": decision.get("intent"),
                "resolvekit.confidence": data.get("confidence"),
                "resolvekit.attempt": data.get("attempt"),
                "resolvekit.invalid": data.get("invalid"),
            },
            parent=self.turn,
        )

    def _tool(self, event: TraceEvent) -> None:
        data = event.data
        name = str(data.get("tool"))
        tool = self.tools.get(name)
        failed = data.get("status") != "done"
        span = self._child(
            f"execute_tool {name}",
            event,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "resolvekit.tool.status": "done" if not failed else "error",
                "resolvekit.tool.effect": tool.effect if tool else None,
                "resolvekit.tool.idempotency_key": tool.idempotent if tool else None,
                "error.type": data.get("kind") if failed else None,
            },
            parent=self.playbook or self.turn,
            end=False,
        )
        if failed:
            _failed(span, None, str(data.get("message", "")), self.redactor)
        span.end(end_time=self._at(event))

    def _knowledge(self, event: TraceEvent) -> None:
        data = event.data
        self._child(
            "retrieval knowledge",
            event,
            {
                "gen_ai.operation.name": "retrieval",
                "gen_ai.data_source.id": "knowledge",
                "gen_ai.retrieval.query.text": data.get("query"),
                "resolvekit.knowledge.answerable": data.get("answerable"),
                "resolvekit.knowledge.hits": data.get("hits"),
                "resolvekit.knowledge.top_score": data.get("score"),
            },
            parent=self.playbook or self.turn,
        )

    def _child(
        self,
        name: str,
        event: TraceEvent,
        attributes: dict[str, Any],
        *,
        parent: Span,
        end: bool = True,
    ) -> Span:
        from opentelemetry import trace

        finish = self._at(event)
        ms = event.data.get("ms")
        begin = finish - int(ms * 1e6) if isinstance(ms, int | float) else finish
        span = self.tracer.start_span(
            name,
            context=trace.set_span_in_context(parent),
            attributes=_clean(attributes, self.redactor),
            start_time=max(begin, self.window[0]),
        )
        if end:
            span.end(end_time=finish)
        return span

    def _at(self, event: TraceEvent) -> int:
        """The event's time in ns, inside the turn's window."""
        low, high = self.window
        return min(max(int(event.at * 1e9), low), high)


def _failed(span: Span, kind: str | None, message: str, redactor: Redactor | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    shown = redactor.redact_text(message) if redactor is not None else message
    if kind is not None:
        span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR, shown[:500]))


def _usage(input_tokens: Any, output_tokens: Any) -> dict[str, Any]:
    if not input_tokens and not output_tokens:
        return {}
    return {"gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens}


def _clean(attributes: Mapping[str, Any], redactor: Redactor | None) -> dict[str, Any]:
    """Attributes OpenTelemetry accepts: None dropped, strings redacted, other values as text."""
    return dict(_cleaned(attributes, redactor))


def _cleaned(attributes: Mapping[str, Any], redactor: Redactor | None) -> Iterator[tuple[str, Any]]:
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, bool | int | float):
            yield key, value
            continue
        text = value if isinstance(value, str) else str(value)
        yield key, redactor.redact_text(text) if redactor is not None else text
