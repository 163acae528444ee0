"""The JSON-output tasks: a grounded answer from passages, a handoff summary.

Each task is a :class:`JsonTask`: the rules (which also spell out the JSON shape, so the task
works in JSON mode and with plain prompting), a JSON Schema sent as a structured output where
the server supports it, and an interpretation of the validated object as one decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserError
from ..messages import AskClarification, Citation, Decision, Reply
from ._openai_tools import InvalidCall, read_confidence
from ._prompt import wrap
from .base import ModelRequest

__all__ = ["JsonTask", "ParsedJson", "answer_task", "summary_task"]

_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_MARKER_RE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(kw_only=True)
class ParsedJson:
    """A validated JSON answer, as a decision."""

    decision: Decision
    confidence: float | None


@dataclass(kw_only=True)
class JsonTask:
    """A request answered with one JSON object."""

    name: str
    rules: str
    schema: dict[str, Any]
    interpret: Callable[[dict[str, Any]], ParsedJson]
    logprob_key: str | None = None
    """A boolean field whose token probability is the answer's confidence, if available."""
    spoken_key: str | None = None
    """A string field the customer sees (streamed as it is written when someone watches)."""

    @property
    def schema_format(self) -> dict[str, Any]:
        """The ``json_schema`` member of a structured-output ``response_format``."""
        return {"name": self.name, "strict": True, "schema": self.schema}

    def parse(self, content: str) -> ParsedJson:
        """Decode, validate and interpret the model's JSON.

        Raises:
            InvalidCall: not JSON, not matching the schema, or not a usable answer.
        """
        import jsonschema

        fenced = _FENCE_RE.match(content)
        text = fenced.group(1) if fenced else content.strip()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidCall(f"The answer is not a valid JSON object: {exc}") from None
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(self.schema).iter_errors(data)
        )
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the object"
            raise InvalidCall(f"The JSON answer is invalid at {where}: {error.message}")
        return self.interpret(data)


ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answerable": {"type": "boolean"},
        "answer": {"type": "string"},
        "citations": {"type": "array", "items": {"type": "integer"}},
        "confidence": {"type": "number"},
    },
    "required": ["answerable", "answer", "citations", "confidence"],
    "additionalProperties": False,
}

ANSWER_RULES = """\
You answer a customer's question for a customer-service agent, using ONLY the retrieved \
passages in the context, never outside knowledge (policies, prices and dates change).
- Cite each passage you use by its number in square brackets, like [1] or [2, 3], right after \
the sentence it supports, and list the numbers in "citations".
- If the passages do not answer the question, set "answerable" to false and write a short, \
honest reply that says so and asks what else would help; cite nothing.
- "confidence" is your probability, from 0 to 1, that the answer is correct and fully \
supported by the passages.
Respond with one JSON object only, exactly of this shape:
{"answerable": true, "answer": "...", "citations": [1], "confidence": 0.9}"""

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}

SUMMARY_RULES = """\
A human agent is taking over this conversation. Write the handoff summary they read first, so \
the customer never has to repeat themselves: who the customer is and what they want, the \
details collected, what was done and with what result, what is pending, and the suggested \
next step. Be factual and brief (at most 120 words); do not invent anything.
Respond with one JSON object only, exactly of this shape:
{"summary": "..."}"""


def answer_task(request: ModelRequest) -> JsonTask:
    """The grounded-answer task for ``request.query`` (or the latest message)."""
    question = request.query or request.text
    passages = request.passages

    def interpret(data: dict[str, Any]) -> ParsedJson:
        answer = data["answer"].strip()
        if not answer:
            raise InvalidCall('"answer" must not be empty')
        markers = {int(n) for group in _MARKER_RE.findall(answer) for n in group.split(",")}
        cited = markers | set(data["citations"])
        bad = sorted(i for i in cited if not 1 <= i <= len(passages))
        if bad:
            raise InvalidCall(
                f"Citations {bad} match no passage; there are {len(passages)} passage(s), "
                f"numbered from 1"
            )
        decision: Decision
        if data["answerable"]:
            if not cited:
                raise InvalidCall(
                    "An answer must cite the passages it uses, like [1]; if none answers the "
                    'question, set "answerable" to false'
                )
            citations: list[Citation] = []
            for i in sorted(cited):
                citation = _citation(passages[i - 1].citation)
                if citation is not None and citation not in citations:
                    citations.append(citation)
            decision = Reply(text=answer, citations=citations)
        elif "ask_clarification" in request.allowed:
            decision = AskClarification(text=answer)
        else:
            decision = Reply(text=answer)
        return ParsedJson(decision=decision, confidence=read_confidence(data["confidence"]))

    rules = ANSWER_RULES + "\n\nThe question to answer:\n" + wrap("question", question)
    return JsonTask(
        name="grounded_answer",
        rules=rules,
        schema=ANSWER_SCHEMA,
        interpret=interpret,
        logprob_key="answerable",
        spoken_key="answer",
    )


def summary_task(request: ModelRequest) -> JsonTask:
    """The handoff-summary task."""

    def interpret(data: dict[str, Any]) -> ParsedJson:
        summary = data["summary"].strip()
        if not summary:
            raise InvalidCall('"summary" must not be empty')
        return ParsedJson(decision=Reply(text=summary), confidence=None)

    return JsonTask(
        name="handoff_summary", rules=SUMMARY_RULES, schema=SUMMARY_SCHEMA, interpret=interpret
    )


def _citation(value: Any) -> Citation | None:
    if value is None or isinstance(value, Citation):
        return value
    if isinstance(value, dict):
        return Citation.model_validate(value)
    raise UserError(
        f"Passage.citation must be a Citation, a dict or None, not {type(value).__name__}"
    )
