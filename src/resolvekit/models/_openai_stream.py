"""Streamed chat completions: chunks assembled into the body a non-streamed request returns, and
the customer-visible reply text pulled out of the partial output as it arrives.

- :class:`Assembler` validates each ``chat.completion.chunk`` and accumulates the first
  choice's content, tool calls, log-probabilities, finish reason, the model and the usage; at
  the end it builds the same JSON body a non-streamed request answers, so the completion goes
  through the very same :func:`~._openai_wire.parse_completion` (and so the same parsing,
  validation, correction and usage accounting) as without a stream.
- :class:`StringField` pulls the string value of one top-level key out of a JSON text fed in
  pieces (escapes and surrogate pairs decoded correctly across piece boundaries).
- :class:`Speaker` knows which part of an answer the customer would see (the ``text`` of a
  ``reply`` or ``ask_clarification`` call, the ``answer`` of a grounded answer) and emits it
  as live ``token`` events; a retried attempt that had emitted some first emits ``retract``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic

from ..live import TurnObserver
from ._openai_wire import BadBody, _Wire, arguments_text

__all__ = ["Assembler", "Speaker", "StringField"]

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WHITESPACE = " \t\r\n"


class StringField:
    """The string value of top-level key ``key`` of a JSON object, decoded as it is fed.

    ``feed`` returns the newly decoded characters of the value; their concatenation is exactly
    ``json.loads(text)[key]`` for a well-formed object whose first ``key`` holds a string.
    Text before the object's ``{`` (a Markdown fence) is skipped; a value that is not a string,
    and anything after the value, gives nothing.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.state = "value"
        """At depth 1: ``key`` (expecting one), ``in_key``, ``colon``, ``value`` (expecting
        one, or inside a non-captured one)."""
        self.raw_key: list[str] = []
        self.target = False
        """The key just read is ``key``: its value is captured if it is a string."""
        self.capturing = False
        self.done = False
        self.escape = ""
        """An escape sequence read only in part (``\\``, ``\\u00``...)."""
        self.high = ""
        """A high surrogate waiting for the low one that may follow."""

    def feed(self, text: str) -> str:
        out: list[str] = []
        for char in text:
            if self.done:
                break
            if self.capturing:
                self._capture(char, out)
            else:
                self._scan(char)
        return "".join(out)

    def _scan(self, char: str) -> None:
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = False
                if self.state == "in_key":
                    self.state = "colon"
                    self.target = _decoded_key(self.raw_key) == self.key
                    return
            if self.state == "in_key":
                self.raw_key.append(char)
            return
        if char in _WHITESPACE:
            return
        if self.depth == 1 and self.state == "colon":
            self.state = "value" if char == ":" else "key"
            return
        if self.depth == 1 and self.state == "value" and self.target:
            self.target = False
            if char == '"':
                self.capturing = True
                return
        if char == '"':
            self.in_string = True
            if self.depth == 1 and self.state == "key":
                self.state, self.raw_key = "in_key", []
        elif char in "{[":
            self.depth += 1
            if self.depth == 1:
                self.state = "key"
        elif char in "}]":
            self.depth -= 1
            if self.depth <= 0:
                self.done = True  # the object ended without (another) string value for key
        elif char == "," and self.depth == 1:
            self.state = "key"

    def _capture(self, char: str, out: list[str]) -> None:
        if self.escape:
            self.escape += char
            if self.escape[1] != "u":
                self._flush_high(out)
                out.append(_ESCAPES.get(char, char))
                self.escape = ""
            elif len(self.escape) == 6:
                code = int(self.escape[2:], 16) if _is_hex(self.escape[2:]) else 0xFFFD
                self.escape = ""
                if 0xDC00 <= code <= 0xDFFF and self.high:
                    pair = 0x10000 + ((ord(self.high) - 0xD800) << 10) + (code - 0xDC00)
                    self.high = ""
                    out.append(chr(pair))
                    return
                self._flush_high(out)
                if 0xD800 <= code <= 0xDBFF:
                    self.high = chr(code)
                else:
                    out.append(chr(code))
            return
        if char == "\\":
            self.escape = char
            return
        self._flush_high(out)
        if char == '"':
            self.capturing = False
            self.done = True
            return
        out.append(char)

    def _flush_high(self, out: list[str]) -> None:
        if self.high:
            out.append(self.high)  # a lone surrogate, as json.loads keeps it
            self.high = ""


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _decoded_key(raw: list[str]) -> str | None:
    try:
        key = json.loads('"' + "".join(raw) + '"')
    except ValueError:
        return None
    return key if isinstance(key, str) else None


class Speaker:
    """Emits the customer-visible part of a streamed answer as live ``token`` events.

    Args:
        observer: where the events go (already made safe: it never raises).
        functions: function name -> the argument the customer sees (``{"reply": "text"}``);
            only the first tool call of an answer is read.
        content_key: the key of a JSON answer the customer sees (``"answer"``), if any.
    """

    def __init__(
        self,
        observer: TurnObserver,
        *,
        functions: Mapping[str, str] | None = None,
        content_key: str | None = None,
    ) -> None:
        self.observer = observer
        self.functions = dict(functions or {})
        self.content_key = content_key
        self.emitted = False
        """Tokens were emitted since the last :meth:`begin` or :meth:`retract`."""
        self._content: StringField | None = None
        self._call: StringField | None = None
        self._call_decided = False

    def begin(self) -> None:
        """A new attempt starts: what an earlier one emitted is retracted."""
        self.retract()
        self._content = StringField(self.content_key) if self.content_key else None
        self._call, self._call_decided = None, False

    def retract(self) -> None:
        """Tell the observer to drop the tokens emitted so far (if any were)."""
        if self.emitted:
            self.emitted = False
            self.observer("retract", {})

    def content(self, piece: str) -> None:
        if self._content is not None:
            self._say(self._content.feed(piece))

    def call_arguments(self, name: str, piece: str) -> None:
        """A piece of the arguments of the answer's first tool call, ``name``."""
        if not self._call_decided:
            self._call_decided = True  # the name is complete once its arguments start
            field = self.functions.get(name)
            self._call = StringField(field) if field else None
        if self._call is not None:
            self._say(self._call.feed(piece))

    def _say(self, text: str) -> None:
        if text:
            self.emitted = True
            self.observer("token", {"text": text})


# --- chunks ------------------------------------------------------------------------------------


class _ChunkFunction(_Wire):
    name: str | None = None
    arguments: str | None = None

    @pydantic.field_validator("arguments", mode="before")
    @classmethod
    def _object_arguments(cls, value: Any) -> Any:
        return arguments_text(value)


class _ChunkToolCall(_Wire):
    index: int = 0
    id: str | None = None
    function: _ChunkFunction | None = None


class _ChunkDelta(_Wire):
    content: str | None = None
    tool_calls: list[_ChunkToolCall] | None = None


class _ChunkChoice(_Wire):
    index: int = 0
    delta: _ChunkDelta | None = None
    finish_reason: str | None = None
    logprobs: Any = None


class _Chunk(_Wire):
    choices: list[_ChunkChoice] = pydantic.Field(default_factory=list)
    model: Any = None
    usage: Any = None


class Assembler:
    """Accumulates the chunks of one streamed completion into a completion body.

    Args:
        speaker: told of content and first-call argument pieces as they arrive.
    """

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.content: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.tokens: list[Any] = []
        self.logprobs = False
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks = 0

    def feed(self, data: Any) -> None:
        """One decoded chunk.

        Raises:
            BadBody: the chunk is not a ``chat.completion.chunk`` (retried like a bad body).
        """
        self.chunks += 1
        try:
            chunk = _Chunk.model_validate(data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'chunk'}: {error['msg']}"
                for error in exc.errors(include_url=False)[:3]
            )
            raw = json.dumps(data, default=str).encode()
            raise BadBody(
                f"stream chunk {self.chunks} is not a chat completion chunk ({problems})"[:300],
                raw,
                "text/event-stream",
            ) from None
        if isinstance(chunk.model, str) and chunk.model and self.model is None:
            self.model = chunk.model
        if isinstance(chunk.usage, dict):
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index == 0:
                self._choice(choice)

    def _choice(self, choice: _ChunkChoice) -> None:
        delta = choice.delta or _ChunkDelta()
        if delta.content:
            self.content.append(delta.content)
            self.speaker.content(delta.content)
        for call in delta.tool_calls or []:
            entry = self.calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            if call.id and not entry["id"]:
                entry["id"] = call.id
            if call.function is not None:
                entry["name"] += call.function.name or ""
                if call.function.arguments:
                    entry["arguments"] += call.function.arguments
                    if call.index == min(self.calls):
                        self.speaker.call_arguments(entry["name"], call.function.arguments)
        if isinstance(choice.logprobs, dict):
            content = choice.logprobs.get("content")
            if isinstance(content, list):
                self.logprobs = True
                self.tokens.extend(content)
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason

    def body(self) -> bytes:
        """The completion as a non-streamed request would have answered it.

        Raises:
            BadBody: the stream ended before the answer was complete (no finish reason).
        """
        if self.finish_reason is None:
            raise BadBody(
                f"the stream ended before the answer was complete ({self.chunks} chunk(s), "
                "no finish_reason)",
                "".join(self.content).encode(),
                "text/event-stream",
            )
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for _, call in sorted(self.calls.items())
            ]
        body: dict[str, Any] = {
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": self.finish_reason,
                    "logprobs": {"content": self.tokens} if self.logprobs else None,
                }
            ],
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return json.dumps(body).encode()
