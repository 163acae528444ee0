"""The turn decision as function calling: functions derived from a request, calls mapped back.

Each decision kind in ``request.allowed`` becomes one or more functions the model may call:

================  =====================================================================
kind              functions
================  =====================================================================
start_intent      ``start_<intent>`` per intent, the intent's slots as optional parameters
fill_slots        ``fill_slots``: the pending slot plus the active intent's slots
confirm           ``confirm(answer: yes|no|unsure)``
answer_from_kn.   ``answer_from_knowledge(query)``
ask_clarification ``ask_clarification(text, options)``
call_tool         each of the agent's tools under its own name (free mode)
escalate          ``escalate(reason, priority, customer_requested_human)``
reply             ``reply(text, close)``
================  =====================================================================

Every function also takes an optional ``confidence`` number, the model's self-assessment, used
when the server returns no token log-probabilities. A returned call is validated against the
function's JSON Schema (jsonschema) and then as a :data:`~resolvekit.messages.Decision`
(pydantic); anything that fails raises :class:`InvalidCall` with a message fit to send back.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import UserError
from ..messages import Decision, decision_adapter
from ..specs import DecisionKind, SlotSpec
from .base import ModelRequest

__all__ = [
    "CONFIDENCE_RANGE",
    "FunctionDef",
    "InvalidCall",
    "ParsedCall",
    "Toolset",
    "build_toolset",
    "clip_confidence",
    "read_confidence",
    "span_probability",
]

CONFIDENCE_RANGE = (0.05, 0.95)
"""Self-assessed confidence is clipped to this range: models are over-confident at the ends."""

_CONFIDENCE = "confidence"
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")


class InvalidCall(Exception):
    """The model's function call cannot be used; ``str(self)`` explains why, for the model."""


@dataclass(kw_only=True)
class FunctionDef:
    """One function offered to the model and the decision it stands for."""

    name: str
    description: str
    parameters: dict[str, Any]
    kind: DecisionKind
    target: str = ""
    """The intent or tool name behind ``start_intent`` / ``call_tool`` functions."""
    self_assessed: bool = True
    """Whether ``confidence`` was added to the parameters (not if the tool has its own)."""

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(kw_only=True)
class ParsedCall:
    """A validated function call."""

    decision: Decision
    confidence: float | None
    """Self-assessed confidence, clipped; None when the model gave none."""
    human_request: bool = False


@dataclass(kw_only=True)
class Toolset:
    """The functions offered for one request, by name."""

    functions: dict[str, FunctionDef] = field(default_factory=dict)
    tool_names: dict[str, str] = field(default_factory=dict)
    """Agent tool name -> offered function name (they differ only on a name clash)."""

    def to_openai(self) -> list[dict[str, Any]]:
        return [f.to_openai() for f in self.functions.values()]

    def tool_function(self, tool: str) -> str:
        return self.tool_names.get(tool, tool)

    def parse(self, name: str, arguments: str) -> ParsedCall:
        """Validate a call and map it to exactly one decision.

        Raises:
            InvalidCall: unknown function, arguments that are not a JSON object, a schema
                violation, or a decision the vocabulary rejects.
        """
        function = self.functions.get(name)
        if function is None:
            raise InvalidCall(
                f"There is no function named {name!r}. Call exactly one of: "
                + ", ".join(self.functions)
            )
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidCall(f"The arguments of {name!r} are not valid JSON: {exc}") from None
        if not isinstance(args, dict):
            raise InvalidCall(f"The arguments of {name!r} must be a JSON object")
        # An explicit null for an optional parameter means "not given".
        required = set(function.parameters.get("required", []))
        args = {k: v for k, v in args.items() if v is not None or k in required}
        confidence = None
        if function.self_assessed and _CONFIDENCE in args:
            confidence = read_confidence(args.pop(_CONFIDENCE))
        schema = dict(function.parameters)
        if function.self_assessed:
            schema["properties"] = {
                k: v for k, v in schema.get("properties", {}).items() if k != _CONFIDENCE
            }
        _validate(name, args, schema)
        decision, human = _decision(function, args)
        return ParsedCall(decision=decision, confidence=confidence, human_request=human)


def read_confidence(value: Any) -> float:
    """A self-assessed confidence as a clipped probability (percentages are accepted)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidCall(f"confidence must be a number between 0 and 1, got {value!r}")
    if 1 < value <= 100:  # a percentage
        value = value / 100
    return clip_confidence(float(value))


def clip_confidence(value: float) -> float:
    """Clip a self-assessed confidence to :data:`CONFIDENCE_RANGE`."""
    low, high = CONFIDENCE_RANGE
    return min(max(value, low), high)


def _validate(name: str, args: dict[str, Any], schema: dict[str, Any]) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(args)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise InvalidCall(f"Invalid arguments for {name!r} at {where}: {error.message}")


def _decision(function: FunctionDef, args: dict[str, Any]) -> tuple[Decision, bool]:
    import pydantic

    human = False
    data: dict[str, Any]
    match function.kind:
        case "start_intent":
            data = {"intent": function.target, "slots": args}
        case "fill_slots":
            if not args:
                raise InvalidCall("fill_slots needs at least one value the customer gave")
            data = {"slots": args}
        case "call_tool":
            data = {"tool": function.target, "args": args}
        case "escalate":
            human = bool(args.pop("customer_requested_human", False))
            data = args
        case "confirm" | "answer_from_knowledge" | "ask_clarification" | "reply":
            data = args
    try:
        decision = decision_adapter.validate_python({"kind": function.kind, **data})
    except pydantic.ValidationError as exc:
        raise InvalidCall(f"Invalid call of {function.name!r}: {exc}") from None
    return decision, human


def span_probability(tokens: Sequence[tuple[str, float]], start: int, end: int) -> float | None:
    """Joint probability of the tokens covering characters ``[start, end)`` of their text.

    Args:
        tokens: ``(token_text, logprob)`` pairs in generation order.
        start: first character of the span in ``"".join(token_texts)``.
        end: one past its last character.

    Returns:
        ``exp(sum of the covering tokens' logprobs)``, or None if no token covers the span.
    """
    position = 0
    total = 0.0
    covered = False
    for text, logprob in tokens:
        token_end = position + len(text)
        if token_end > start and position < end:
            total += logprob
            covered = True
        position = token_end
        if position >= end:
            break
    return math.exp(total) if covered else None


def build_toolset(request: ModelRequest) -> Toolset:
    """The functions to offer for a ``turn`` request, restricted to ``request.allowed``.

    Each allowed kind in :data:`_OFFERS` (in its order) contributes its functions; each gets
    a unique name and, unless it has its own, the ``confidence`` parameter.

    Raises:
        UserError: an intent's slot or a tool carries an invalid JSON Schema.
    """
    toolset = Toolset()
    for kind, offer in _OFFERS.items():
        if kind not in request.allowed:
            continue
        for function in offer(request):
            function.name = _unique(toolset, function.name)
            if function.self_assessed:
                function.parameters["properties"][_CONFIDENCE] = _confidence_schema()
            if kind == "call_tool":
                toolset.tool_names[function.target] = function.name
            toolset.functions[function.name] = function
    return toolset


def _start_intent(request: ModelRequest) -> Iterator[FunctionDef]:
    """``start_<intent>`` per intent, its slots as optional parameters."""
    for intent in request.intents:
        description = intent.description or f"The customer wants: {intent.name}."
        if intent.examples:
            description += " Examples: " + "; ".join(repr(e) for e in intent.examples[:3])
        description += " Pass the details the customer already gave; omit the rest."
        yield FunctionDef(
            name="start_" + _snake(intent.name),
            description=description,
            parameters=_object({s.name: _slot_schema(s) for s in intent.slots}),
            kind="start_intent",
            target=intent.name,
        )


def _fill_slots(request: ModelRequest) -> Iterator[FunctionDef]:
    """``fill_slots``: the active intent's slots plus the pending one, if there are any."""
    pending = request.pending
    slots: dict[str, Any] = {}
    active = next((i for i in request.intents if i.name == request.active_intent), None)
    if active is not None:
        slots.update({s.name: _slot_schema(s) for s in active.slots})
    if pending is not None and pending.slot is not None:
        slots[pending.slot.name] = _slot_schema(pending.slot)
    if slots:
        question = f" to the question {pending.question!r}" if pending else ""
        yield FunctionDef(
            name="fill_slots",
            description=(
                f"The customer answered{question} and/or corrected details given "
                "earlier. Pass only values the customer actually gave."
            ),
            parameters=_object(slots),
            kind="fill_slots",
        )


def _call_tool(request: ModelRequest) -> Iterator[FunctionDef]:
    """Each of the agent's tools under its own (sanitised) name."""
    for tool in request.tools:
        parameters = _checked(copy.deepcopy(tool.parameters), f"tool {tool.name!r}")
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        description = tool.description or f"Call the tool {tool.name}."
        if tool.effect == "write":
            description += " (Changes data; the system checks authorisation first.)"
        yield FunctionDef(
            name=_sanitize(tool.name),
            description=description,
            parameters=parameters,
            kind="call_tool",
            target=tool.name,
            self_assessed=_CONFIDENCE not in parameters["properties"],
        )


def _fixed(
    kind: DecisionKind,
    description: str | Callable[[ModelRequest], str],
    properties: dict[str, Any],
    required: Sequence[str],
) -> Callable[[ModelRequest], Iterator[FunctionDef]]:
    """The offer of a built-in function named after its kind, with fixed parameters."""

    def offer(request: ModelRequest) -> Iterator[FunctionDef]:
        yield FunctionDef(
            name=kind,
            description=description if isinstance(description, str) else description(request),
            parameters=_object(copy.deepcopy(properties), required=required),
            kind=kind,
        )

    return offer


def _confirm_description(request: ModelRequest) -> str:
    pending = request.pending
    question = f" {pending.question!r}" if pending is not None else " the confirmation"
    return f"The customer's answer to{question}."


_OFFERS: dict[DecisionKind, Callable[[ModelRequest], Iterator[FunctionDef]]] = {
    "start_intent": _start_intent,
    "fill_slots": _fill_slots,
    "confirm": _fixed(
        "confirm",
        _confirm_description,
        {"answer": {"type": "string", "enum": ["yes", "no", "unsure"]}},
        required=["answer"],
    ),
    "answer_from_knowledge": _fixed(
        "answer_from_knowledge",
        "The customer asks a question the help-center knowledge can answer "
        "(policies, fees, how-to). The answer is looked up, not written by you.",
        {"query": {"type": "string", "description": "A self-contained search query."}},
        required=["query"],
    ),
    "ask_clarification": _fixed(
        "ask_clarification",
        "The request is unclear: ask the customer what they mean.",
        {
            "text": {"type": "string", "description": "The question to ask."},
            "options": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The closest choices to offer, if any.",
            },
        },
        required=["text"],
    ),
    "escalate": _fixed(
        "escalate",
        "Hand the conversation to a human agent: the customer asks for a person, "
        "or the request needs human judgement.",
        {
            "reason": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
            "customer_requested_human": {"type": "boolean"},
        },
        required=["reason"],
    ),
    "reply": _fixed(
        "reply",
        "Say something to the customer (greeting, thanks, small talk). Not for "
        "answering policy questions or taking actions.",
        {
            "text": {"type": "string"},
            "close": {
                "type": "boolean",
                "description": "True when the customer ends the conversation.",
            },
        },
        required=["text"],
    ),
    # Tools come last so that on a name clash the tool, not a built-in, is renamed.
    "call_tool": _call_tool,
}
"""What each decision kind offers, in the order offered."""


def _confidence_schema() -> dict[str, Any]:
    return {
        "type": "number",
        "description": "Your probability, from 0 to 1, that this call is the right next step.",
    }


def _object(properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _slot_schema(slot: SlotSpec) -> dict[str, Any]:
    schema = _checked(copy.deepcopy(slot.json_schema), f"slot {slot.name!r}") or {"type": "string"}
    if slot.choices and not {"enum", "anyOf", "oneOf", "const"} & schema.keys():
        schema["enum"] = list(slot.choices)
    description = slot.description or slot.ask
    if description and "description" not in schema:
        schema["description"] = description
    return schema


def _checked(schema: dict[str, Any], what: str) -> dict[str, Any]:
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UserError(f"The JSON Schema of {what} is invalid: {exc.message}") from None
    return schema


def _snake(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return _sanitize(re.sub(r"[\s-]+", "_", spaced).lower())


def _sanitize(name: str) -> str:
    return _NAME_RE.sub("_", name)[:64] or "function"


def _unique(toolset: Toolset, name: str) -> str:
    if name not in toolset.functions:
        return name
    n = 2
    while f"{name[:60]}_{n}" in toolset.functions:
        n += 1
    return f"{name[:60]}_{n}"
