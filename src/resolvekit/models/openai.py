"""OpenAIModel: any OpenAI-compatible Chat Completions server (OpenAI, Azure, vLLM, Ollama...).

- ``turn`` requests are function calling: the functions are derived from the request (see
  :mod:`resolvekit.models._openai_tools`), the model must call exactly one, and the call is
  validated before it becomes a decision. An invalid call is sent back once with the error.
- ``answer`` and ``summarize`` requests ask for a JSON object, with structured outputs
  (``response_format: json_schema``) where the server supports them, else JSON mode, else the
  prompt alone; the step down happens once per model instance, on a 400 that names the feature.
- Confidence comes from token log-probabilities when the server returns them, else from the
  model's own ``confidence`` field (clipped to [0.05, 0.95]); see ``docs/models.md``.
- Transport failures (429, 5xx, timeouts, connection errors, and 200 responses whose body is not
  a chat completion) are retried, and every failure is a
  :class:`~resolvekit.exceptions.ModelError` (see :mod:`resolvekit.models._openai_transport`).
- When a live observer watches (:mod:`resolvekit.live`) and the answer may hold text for the
  customer (a ``reply`` or ``ask_clarification`` call, a grounded answer), the completion is
  streamed and that text is emitted as ``token`` events as it arrives; a retry or correction
  after some tokens emits ``retract`` first (see :mod:`resolvekit.models._openai_stream`). The
  assembled completion is parsed exactly as a non-streamed one.

The parts: :mod:`._openai_settings` (the settings), :mod:`._openai_transport` (the client,
retries, errors), :mod:`._openai_wire` (the response body), :mod:`._openai_stream` (streamed
answers), :mod:`._openai_tools` and
:mod:`._openai_json` (the tasks), :mod:`._prompt` (the messages), :mod:`._pricing` (the cost).

``openai`` is imported lazily: ``import resolvekit`` never loads it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..exceptions import ModelHTTPError, UnexpectedModelBehavior, UserError
from ..live import current_observer, safe
from ..messages import Usage
from ._openai_json import JsonTask, answer_task, summary_task
from ._openai_settings import OpenAISettings
from ._openai_stream import Speaker
from ._openai_tools import InvalidCall, Toolset, build_toolset
from ._openai_transport import Clients, send
from ._openai_wire import Completion, WireFunction, name_confidence, value_confidence
from ._pricing import DEFAULT_PRICES, Price, cost
from ._prompt import build_messages
from .base import Model, ModelRequest, ModelResponse, Signals, check_allow_model_requests

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["DEFAULT_MODEL", "DEFAULT_PRICES", "OpenAIModel", "OpenAISettings", "Price"]

DEFAULT_MODEL = "gpt-4.1-mini"


TURN_RULES = """\
You are the decision step of a customer-service agent. Read the conversation and choose the \
single next step by calling exactly one of the functions offered. Act on the customer's latest \
message, in the light of the context.
- Start the request the customer wants, passing only details they actually gave (or that are \
in the known facts); never invent order numbers, emails, dates or amounts.
- When the agent is waiting for an answer, prefer the function that records it.
- Hand over to a human when the customer asks for one or the request needs human judgement.
- Set `confidence` to your honest probability that this call is the right next step."""

JsonMode = Literal["json_schema", "json_object", "prompt"]


class OpenAIModel(Model):
    """A model served by an OpenAI-compatible Chat Completions endpoint.

    Args:
        model: the model (or Azure deployment) name; None reads ``RESOLVEKIT_MODEL``
            (``openai:<model>[@<base_url>]``), else :data:`DEFAULT_MODEL`.
        base_url: the server, e.g. ``http://localhost:8000/v1`` for vLLM; None reads
            ``OPENAI_BASE_URL``, else OpenAI's.
        api_key: None reads ``OPENAI_API_KEY``; optional when ``base_url`` is set.
        client: an ``openai.AsyncOpenAI`` (or ``AsyncAzureOpenAI``) to use instead of building
            one; a copy with ``max_retries=0`` is used, since retries happen here.
        settings: timeouts, retries, prices, structured outputs, logprobs, prompt budget.

    Example:
        >>> model = OpenAIModel("qwen2.5-7b-instruct", base_url="http://localhost:8000/v1")
        >>> model.model
        'qwen2.5-7b-instruct'
    """

    capabilities = frozenset({"answer", "summarize"})

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: AsyncOpenAI | None = None,
        settings: OpenAISettings | None = None,
    ) -> None:
        if model is None:
            env = os.environ.get("RESOLVEKIT_MODEL", "")
            env_model, env_url = (
                _split_name(env.partition(":")[2]) if env.startswith("openai:") else ("", None)
            )
            model = env_model or DEFAULT_MODEL
            base_url = base_url or env_url
        if not model.strip():
            raise UserError("OpenAIModel needs a model name, e.g. 'gpt-4.1-mini'")
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = base_url
        self.api_key = api_key
        self.settings = settings or OpenAISettings()
        self._clients = Clients(client)
        self._json_mode: JsonMode = (
            "json_object" if self.settings.structured_outputs is False else "json_schema"
        )
        self._dropped: set[str] = set()
        self._tool_choice = "required"

    @classmethod
    def from_name(cls, name: str) -> OpenAIModel:
        """Build from the part after ``openai:``: ``<model>`` or ``<model>@<base_url>``."""
        model, base_url = _split_name(name)
        return cls(model or None, base_url=base_url)

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"OpenAIModel({self.model!r}{where})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Return one validated decision for ``request``.

        Raises:
            ModelRequestsBlocked: ``resolvekit.models.ALLOW_MODEL_REQUESTS`` is false.
            ModelHTTPError: the server answered with an error (after retries for 429/5xx).
            ModelTimeout: no answer within ``settings.timeout`` (after retries).
            ModelConnectionError: the server could not be reached or the connection failed
                (after retries).
            UnexpectedModelBehavior: a 200 body that stayed unusable (empty, truncated, not JSON,
                not a chat completion; after retries, with an excerpt as ``body``), the model's
                output stayed invalid after one correction, or the client failed in a way that
                fits nothing above.
            UserError: nothing can be offered (``request.allowed`` is empty or unusable), or no
                API key for OpenAI (raised before any request).
        """
        check_allow_model_requests()
        match request.task:
            case "turn":
                return await self._turn(request)
            case "answer":
                return await self._json(request, answer_task(request))
            case "summarize":
                return await self._json(request, summary_task(request))

    async def aclose(self) -> None:
        """Close the HTTP client this model built; an injected client is left to its owner.

        The model stays usable: a later request builds a new client.
        """
        await self._clients.aclose()

    # --- turn: function calling -------------------------------------------------------------

    async def _turn(self, request: ModelRequest) -> ModelResponse:
        toolset = build_toolset(request)
        if not toolset.functions:
            raise UserError(
                f"Nothing to offer the model: allowed={sorted(request.allowed)} gives no function "
                "(no intents for start_intent, no slot for fill_slots, no tools for call_tool?)"
            )
        messages = build_messages(
            request,
            rules=TURN_RULES,
            budget=self.settings.budget,
            tool_function=toolset.tool_function,
        )
        return await self._ask(
            messages,
            {"tools": toolset.to_openai()},
            lambda completion, usage: self._turn_response(completion, toolset, usage),
            failure="made no valid decision",
            speaker=_speaker(
                functions={
                    name: "text"
                    for name, function in toolset.functions.items()
                    if function.kind in _SPOKEN
                }
            ),
        )

    def _turn_response(
        self, completion: Completion, toolset: Toolset, usage: Usage
    ) -> ModelResponse:
        calls = completion.message.tool_calls or []
        if not calls:
            raise InvalidCall(
                "You must call exactly one of the functions offered; you answered with text."
            )
        function = calls[0].function
        if function is None:
            raise InvalidCall("Only function tool calls are supported.")
        parsed = toolset.parse(function.name, function.arguments or "")
        confidence = name_confidence(completion.tokens, function.name)
        return ModelResponse(
            decision=parsed.decision,
            confidence=confidence if confidence is not None else parsed.confidence,
            signals=Signals(human_request=parsed.human_request),
            usage=usage,
            model_name=completion.model or self.model,
        )

    # --- answer / summarize: JSON outputs ----------------------------------------------------

    async def _json(self, request: ModelRequest, task: JsonTask) -> ModelResponse:
        messages = build_messages(request, rules=task.rules, budget=self.settings.budget)
        return await self._ask(
            messages,
            {"response_format": task},
            lambda completion, usage: self._json_response(completion, task, usage),
            failure=f"gave no valid {task.name}",
            speaker=_speaker(content_key=task.spoken_key),
        )

    def _json_response(self, completion: Completion, task: JsonTask, usage: Usage) -> ModelResponse:
        content = completion.message.content or ""
        parsed = task.parse(content)
        confidence = parsed.confidence
        if task.logprob_key is not None:
            from_logprobs = value_confidence(completion.tokens, task.logprob_key)
            if from_logprobs is not None:
                confidence = from_logprobs
        return ModelResponse(
            decision=parsed.decision,
            confidence=confidence,
            usage=usage,
            model_name=completion.model or self.model,
        )

    # --- one question, with one correction ---------------------------------------------------

    async def _ask(
        self,
        messages: list[dict[str, Any]],
        extra: dict[str, Any],
        respond: Callable[[Completion, Usage], ModelResponse],
        *,
        failure: str,
        speaker: Speaker | None = None,
    ) -> ModelResponse:
        """Ask, and on an invalid answer ask once more with the error.

        Args:
            messages: the chat messages.
            extra: ``{"tools": ...}`` or ``{"response_format": task}``.
            respond: the answer as a response; raises :class:`InvalidCall` when it is unusable.
            failure: what went wrong, for the error, e.g. ``"made no valid decision"``.
            speaker: streams the answer's customer-visible text (None: no stream).

        Raises:
            UnexpectedModelBehavior: the answer was still invalid after the correction.
        """
        try:
            return await self._ask_twice(messages, extra, respond, failure, speaker)
        except BaseException:
            if speaker is not None:
                speaker.retract()  # nothing streamed is said when the request fails
            raise

    async def _ask_twice(
        self,
        messages: list[dict[str, Any]],
        extra: dict[str, Any],
        respond: Callable[[Completion, Usage], ModelResponse],
        failure: str,
        speaker: Speaker | None,
    ) -> ModelResponse:
        usage = Usage()
        completion = await self._complete(messages, extra, usage, speaker)
        try:
            return respond(completion, usage)
        except InvalidCall as exc:
            first_error = exc
        messages = messages + _correction(completion, str(first_error))
        completion = await self._complete(messages, extra, usage, speaker)
        try:
            return respond(completion, usage)
        except InvalidCall as exc:
            raise UnexpectedModelBehavior(
                f"Model {self.model!r} {failure} after one correction: "
                f"first {first_error}; then {exc}",
                body=completion.body,
            ) from None

    # --- transport ---------------------------------------------------------------------------

    async def _complete(
        self,
        messages: list[dict[str, Any]],
        extra: dict[str, Any],
        usage: Usage,
        speaker: Speaker | None = None,
    ) -> Completion:
        """One completion, stepping down unsupported optional features on a 400."""
        while True:
            params = self._params(messages, extra, stream=speaker is not None)
            try:
                completion = await self._send(params, speaker)
            except ModelHTTPError as exc:
                if self._degrade(exc, params):
                    continue
                raise
            usage.add(self._usage(completion))
            return completion

    def _params(
        self, messages: list[dict[str, Any]], extra: dict[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        if stream:  # the usage arrives in a last chunk, as it does in a plain answer's body
            params["stream_options"] = {"include_usage": True}
        if "tools" in extra:
            params["tools"] = extra["tools"]
            params["tool_choice"] = self._tool_choice
            params["parallel_tool_calls"] = False
            if self.settings.logprobs:
                params["logprobs"] = True
        if "response_format" in extra:
            task: JsonTask = extra["response_format"]
            if self._json_mode == "json_schema":
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": task.schema_format,
                }
            elif self._json_mode == "json_object":
                params["response_format"] = {"type": "json_object"}
            if self.settings.logprobs:
                params["logprobs"] = True
        if self.settings.temperature is not None:
            params["temperature"] = self.settings.temperature
        if self.settings.max_tokens is not None:
            params["max_tokens"] = self.settings.max_tokens
        for key in self._dropped:
            params.pop(key, None)
        return params

    def _degrade(self, exc: ModelHTTPError, params: dict[str, Any]) -> bool:
        """Step down an optional feature the server rejected; False if none applies."""
        if exc.status not in (400, 422):
            return False
        text = (
            exc.body if isinstance(exc.body, str) else json.dumps(exc.body, default=str)
        ).lower()
        if "response_format" in params and re.search(
            r"response_format|json_schema|json_object|structured|schema|json", text
        ):
            if self._json_mode == "json_schema" and self.settings.structured_outputs == "auto":
                self._json_mode = "json_object"
                return True
            if self._json_mode == "json_object" and self.settings.structured_outputs is not True:
                self._json_mode = "prompt"
                return True
            return False
        if "tool_choice" in params and "tool_choice" in text and self._tool_choice == "required":
            self._tool_choice = "auto"
            return True
        for key in _OPTIONAL_PARAMS:
            if key in params and key in text:
                self._dropped.add(key)
                return True
        return False

    async def _send(self, params: dict[str, Any], speaker: Speaker | None = None) -> Completion:
        """One chat completion, retried on transient failures; every failure a ModelError.
        Streamed when ``speaker`` is given."""
        check_allow_model_requests()
        return await send(
            self._client(),
            params,
            settings=self.settings,
            model=self.model,
            server=self.base_url or "api.openai.com",
            speaker=speaker,
        )

    def _client(self) -> AsyncOpenAI:
        """The openai client for the running event loop (built on first use)."""
        return self._clients.get(
            base_url=self.base_url, api_key=self.api_key, timeout=self.settings.timeout
        )

    def _usage(self, completion: Completion) -> Usage:
        prompt, output = completion.prompt_tokens, completion.completion_tokens
        spent = cost(
            [self.model, completion.model or ""],
            prompt_tokens=prompt,
            completion_tokens=output,
            prices=self.settings.prices,
            api_url=self._clients.url(self.base_url),
        )
        return Usage(requests=1, prompt_tokens=prompt, completion_tokens=output, cost=spent)


_OPTIONAL_PARAMS = (
    "logprobs",
    "parallel_tool_calls",
    "temperature",
    "max_tokens",
    "stream_options",
)
"""Parameters dropped when a server rejects them by name (with a 400 or 422)."""

_SPOKEN = ("reply", "ask_clarification")
"""Decision kinds whose ``text`` argument the customer would see (streamed as tokens)."""


def _speaker(
    *, functions: dict[str, str] | None = None, content_key: str | None = None
) -> Speaker | None:
    """A speaker for the current live observer, if one watches and there is text to stream."""
    if not functions and content_key is None:
        return None
    observer = safe(current_observer())
    if observer is None:
        return None
    return Speaker(observer, functions=functions, content_key=content_key)


def _split_name(name: str) -> tuple[str, str | None]:
    model, at, url = name.partition("@")
    if not at:
        return model.strip(), None
    url = url.strip()
    if not url:
        raise UserError(f"Missing base URL after '@' in {name!r}")
    if not re.match(r"^https?://", url):
        url = "http://" + url
    return model.strip(), url


def _correction(completion: Completion, error: str) -> list[dict[str, Any]]:
    """The assistant's invalid answer replayed, followed by the error it must fix."""
    message = completion.message
    calls: list[tuple[str, WireFunction]] = [
        (call.id or f"call_{i}", call.function)
        for i, call in enumerate(message.tool_calls or [])
        if call.function is not None
    ]
    replay: dict[str, Any] = {"role": "assistant", "content": message.content}
    if not calls:
        fix = f"Error: {error} Try again, answering in the required format."
        return [replay, {"role": "user", "content": fix}]
    replay["tool_calls"] = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": function.name, "arguments": function.arguments or ""},
        }
        for call_id, function in calls
    ]
    fix = f"Error: {error} Try again: call exactly one valid function with valid arguments."
    answers = [{"role": "tool", "tool_call_id": calls[0][0], "content": fix}]
    answers += [
        {"role": "tool", "tool_call_id": call_id, "content": "Ignored: one call per turn."}
        for call_id, _ in calls[1:]
    ]
    return [replay, *answers]
