"""The response body of a chat completion: decoded, validated, and read for confidence.

Only what is used is checked (the first choice's message, its content and tool calls, usage,
log-probabilities), so servers that omit or add other fields still work; anything else is a
:class:`BadBody`, which the transport retries like a 5xx.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pydantic

from ._openai_tools import span_probability

__all__ = [
    "EXCERPT_BYTES",
    "BadBody",
    "Completion",
    "WireFunction",
    "WireMessage",
    "WireToolCall",
    "arguments_text",
    "excerpt",
    "name_confidence",
    "parse_completion",
    "value_confidence",
]

EXCERPT_BYTES = 500
"""At most this much of an unusable body is kept in ``UnexpectedModelBehavior.body``."""


class BadBody(Exception):
    """A 2xx response whose body is not a usable chat completion (retried like a 5xx)."""

    def __init__(self, problem: str, content: bytes, content_type: str) -> None:
        self.excerpt = excerpt(content)
        kind = f"content-type {content_type!r}, " if content_type else ""
        shown = self.excerpt if len(self.excerpt) <= 80 else self.excerpt[:80] + "..."
        super().__init__(f"{problem} ({kind}{len(content)} bytes: {shown!r})")


def excerpt(body: object) -> str:
    """The start of a body as text, at most :data:`EXCERPT_BYTES` plus a size note."""
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        raw = bytes(body)
    else:
        raw = (body if isinstance(body, str) else json.dumps(body, default=str)).encode()
    text = raw[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    if len(raw) > EXCERPT_BYTES:
        text += f"... [{len(raw)} bytes in all]"
    return text


class _Wire(pydantic.BaseModel):
    """The parts of a chat completion that are used, type-checked; the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


def arguments_text(value: Any) -> Any:
    """A function call's arguments as the JSON string the wire format specifies: a few servers
    send them as an object (whole, or in a streamed chunk) instead."""
    return json.dumps(value) if isinstance(value, dict) else value


class WireFunction(_Wire):
    """A function call: its name and its arguments as a JSON string."""

    name: str
    arguments: str | None = None

    @pydantic.field_validator("arguments", mode="before")
    @classmethod
    def _object_arguments(cls, value: Any) -> Any:
        return arguments_text(value)


class WireToolCall(_Wire):
    """One tool call of the message."""

    id: str = ""
    """Only replayed in a correction: a missing or odd id is replaced, not an error."""
    function: WireFunction | None = None
    """None for non-function tool calls (refused as an invalid call, not a bad body)."""

    @pydantic.field_validator("id", mode="before")
    @classmethod
    def _any_id(cls, value: Any) -> Any:
        return value if isinstance(value, str) else ""


class WireMessage(_Wire):
    """The message of the first choice: text, tool calls, or both."""

    content: str | None = None
    tool_calls: list[WireToolCall] | None = None


class _WireChoice(_Wire):
    message: WireMessage
    logprobs: Any = None


class _WireCompletion(_Wire):
    choices: list[_WireChoice] = pydantic.Field(min_length=1)
    model: Any = None
    usage: Any = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A validated chat completion: its first choice, plus what usage and confidence need."""

    message: WireMessage
    tokens: list[tuple[str, float]]
    """``(token, logprob)`` pairs of the first choice; empty when absent or malformed."""
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    body: dict[str, Any]
    """The decoded response, for ``UnexpectedModelBehavior.body``."""


def parse_completion(content: bytes, content_type: str) -> Completion:
    """Decode and validate a 2xx body.

    Only what is used is checked (choices, the first message, its content and tool calls):
    servers that omit or add other fields still work. Malformed usage or log-probabilities are
    ignored rather than failing a usable decision. The content type is not required to be JSON
    (the openai client does not require it either); the body is.

    Raises:
        BadBody: empty, not UTF-8 JSON, not an object, or not a chat completion with a message.
    """
    if not content.strip():
        raise BadBody("empty body", content, content_type)
    try:
        data = json.loads(content)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BadBody(f"not JSON ({exc})"[:200], content, content_type) from None
    if not isinstance(data, dict):
        raise BadBody(
            f"JSON {type(data).__name__}, not a chat completion object", content, content_type
        )
    try:
        wire = _WireCompletion.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_url=False)[:3]
        )
        raise BadBody(f"not a chat completion ({problems})"[:300], content, content_type) from None
    choice = wire.choices[0]
    usage = wire.usage if isinstance(wire.usage, dict) else {}
    return Completion(
        message=choice.message,
        tokens=_tokens(choice.logprobs),
        model=wire.model if isinstance(wire.model, str) and wire.model else None,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        body=data,
    )


def _count(value: Any) -> int:
    """A token count from a usage member; 0 unless it is a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(int(value), 0)


def _tokens(logprobs: Any) -> list[tuple[str, float]]:
    """``(token, logprob)`` pairs of a choice's ``logprobs``; [] unless they are well-formed.

    Tokens with a non-finite logprob are skipped; a positive one (impossible, but a rounding
    server may send it) counts as 0, so a probability never exceeds 1.
    """
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return []
    tokens: list[tuple[str, float]] = []
    for entry in content:
        token = entry.get("token") if isinstance(entry, dict) else None
        logprob = entry.get("logprob") if isinstance(entry, dict) else None
        if (
            not isinstance(token, str)
            or isinstance(logprob, bool)
            or not isinstance(logprob, int | float)
        ):
            return []  # not log-probabilities: no confidence from them rather than a wrong one
        if math.isfinite(logprob):
            tokens.append((token, min(float(logprob), 0.0)))
    return tokens


def name_confidence(tokens: list[tuple[str, float]], name: str) -> float | None:
    """Joint probability of the function-name tokens, if the server returned them."""
    text = "".join(t for t, _ in tokens)
    start = text.find(name)
    return span_probability(tokens, start, start + len(name)) if start >= 0 else None


def value_confidence(tokens: list[tuple[str, float]], key: str) -> float | None:
    """Probability of the value tokens of ``"key": <value>`` in a JSON answer."""
    text = "".join(t for t, _ in tokens)
    match = re.search(rf'"{re.escape(key)}"\s*:\s*(true|false)', text)
    if match is None:
        return None
    return span_probability(tokens, match.start(1), match.end(1))
