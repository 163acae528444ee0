"""OpenAIModel: any OpenAI-compatible Chat Completions server (OpenAI, Azure, vLLM, Ollama...).

- ``turn`` requests are function calling: the functions are derived from the request (see
  :mod:`resolvekit.models._openai_tools`), the model must call exactly one, and the call is
  validated before it becomes a decision. An invalid call is sent back once with the error.
- ``answer`` and ``summarize`` requests ask for a JSON object, with structured outputs
  (``response_format: json_schema``) where the server supports them, else JSON mode, else the
  prompt alone; the step down happens once per model instance, on a 400 that names the feature.
- Confidence comes from token log-probabilities when the server returns them, else from the
  model's own ``confidence`` field (clipped to [0.05, 0.95]); see ``docs/models.md``.
- Transport failures (429, 5xx, timeouts, connection errors) are retried by
  :func:`resolvekit._retry.retry_async`; the openai client's own retries are disabled.

``openai`` is imported lazily: ``import resolvekit`` never loads it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._retry import retry_async
from ..exceptions import (
    ModelConnectionError,
    ModelHTTPError,
    ModelTimeout,
    UnexpectedModelBehavior,
    UserError,
)
from ..messages import Usage
from . import Model, ModelRequest, ModelResponse, Signals, check_allow_model_requests
from ._openai_json import JsonTask, answer_task, summary_task
from ._openai_tools import InvalidCall, Toolset, build_toolset, span_probability
from ._pricing import DEFAULT_PRICES, Price, price_for
from ._prompt import PromptBudget, build_messages

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

__all__ = ["DEFAULT_MODEL", "DEFAULT_PRICES", "OpenAIModel", "OpenAISettings", "Price"]

DEFAULT_MODEL = "gpt-4.1-mini"


@dataclass(kw_only=True)
class OpenAISettings:
    """How :class:`OpenAIModel` talks to the server."""

    timeout: float = 60.0
    """Seconds one HTTP request may take."""
    max_retries: int = 2
    """Retries after the first attempt, on 429, 5xx, timeouts and connection errors."""
    retry_initial: float = 0.5
    """First backoff wait in seconds; doubles with each retry, plus jitter."""
    retry_max_wait: float = 20.0
    """Cap of any wait, including one a ``Retry-After`` header asks for."""
    retry_jitter: float = 0.5
    """Random extra wait, as a fraction of the backoff."""
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    """Per-1M-token prices by model name; unknown models cost 0."""
    structured_outputs: bool | Literal["auto"] = "auto"
    """``"auto"``: JSON Schema outputs, stepping down to JSON mode then plain prompting if the
    server rejects them; ``True``: JSON Schema or fail; ``False``: JSON mode (or plain)."""
    logprobs: bool = True
    """Ask for token log-probabilities (dropped automatically if the server rejects them)."""
    temperature: float | None = None
    """Sampling temperature; None leaves the server's default (reasoning models need that)."""
    max_tokens: int | None = None
    """Cap on completion tokens per request; None leaves the server's default."""
    budget: PromptBudget = field(default_factory=PromptBudget)
    """Prompt size limits."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise UserError(f"timeout must be > 0 seconds, got {self.timeout!r}")
        if self.max_retries < 0:
            raise UserError(f"max_retries must be >= 0, got {self.max_retries!r}")
        if self.retry_initial < 0 or self.retry_max_wait < 0 or self.retry_jitter < 0:
            raise UserError("retry_initial, retry_max_wait and retry_jitter must be >= 0")


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
        self._injected = client.with_options(max_retries=0) if client is not None else None
        self._clients: dict[int, AsyncOpenAI] = {}
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
            ModelConnectionError: the server could not be reached (after retries).
            UnexpectedModelBehavior: the model's output stayed invalid after one correction.
            UserError: nothing can be offered (``request.allowed`` is empty or unusable).
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
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

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
        usage = Usage()
        completion = await self._complete(messages, {"tools": toolset.to_openai()}, usage)
        try:
            return self._turn_response(completion, toolset, usage)
        except InvalidCall as exc:
            first_error = exc
        messages = messages + _correction(completion, str(first_error))
        completion = await self._complete(messages, {"tools": toolset.to_openai()}, usage)
        try:
            return self._turn_response(completion, toolset, usage)
        except InvalidCall as exc:
            raise UnexpectedModelBehavior(
                f"Model {self.model!r} made no valid decision after one correction: "
                f"first {first_error}; then {exc}",
                body=_dump(completion),
            ) from None

    def _turn_response(
        self, completion: ChatCompletion, toolset: Toolset, usage: Usage
    ) -> ModelResponse:
        choice = completion.choices[0]
        calls = choice.message.tool_calls or []
        if not calls:
            raise InvalidCall(
                "You must call exactly one of the functions offered; you answered with text."
            )
        call = calls[0]
        function = getattr(call, "function", None)
        if function is None:
            raise InvalidCall("Only function tool calls are supported.")
        parsed = toolset.parse(function.name, function.arguments)
        confidence = _name_confidence(choice, function.name)
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
        usage = Usage()
        completion = await self._complete(messages, {"response_format": task}, usage)
        try:
            return self._json_response(completion, task, usage)
        except InvalidCall as exc:
            first_error = exc
        messages = messages + _correction(completion, str(first_error))
        completion = await self._complete(messages, {"response_format": task}, usage)
        try:
            return self._json_response(completion, task, usage)
        except InvalidCall as exc:
            raise UnexpectedModelBehavior(
                f"Model {self.model!r} gave no valid {task.name} after one correction: "
                f"first {first_error}; then {exc}",
                body=_dump(completion),
            ) from None

    def _json_response(
        self, completion: ChatCompletion, task: JsonTask, usage: Usage
    ) -> ModelResponse:
        choice = completion.choices[0]
        content = choice.message.content or ""
        parsed = task.parse(content)
        confidence = parsed.confidence
        if task.logprob_key is not None:
            from_logprobs = _value_confidence(choice, task.logprob_key)
            if from_logprobs is not None:
                confidence = from_logprobs
        return ModelResponse(
            decision=parsed.decision,
            confidence=confidence,
            usage=usage,
            model_name=completion.model or self.model,
        )

    # --- transport ---------------------------------------------------------------------------

    async def _complete(
        self, messages: list[dict[str, Any]], extra: dict[str, Any], usage: Usage
    ) -> ChatCompletion:
        """One completion, stepping down unsupported optional features on a 400."""
        while True:
            params = self._params(messages, extra)
            try:
                completion = await self._send(params)
            except ModelHTTPError as exc:
                if self._degrade(exc, params):
                    continue
                raise
            usage.add(self._usage(completion))
            choices = getattr(completion, "choices", None)
            if not choices or getattr(choices[0], "message", None) is None:
                raise UnexpectedModelBehavior(
                    f"Model {self.model!r} returned no choices", body=_dump(completion)
                )
            return completion

    def _params(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": messages}
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
        for key in ("logprobs", "parallel_tool_calls", "temperature", "max_tokens"):
            if key in params and key in text:
                self._dropped.add(key)
                return True
        return False

    async def _send(self, params: dict[str, Any]) -> ChatCompletion:
        import openai

        check_allow_model_requests()
        client = self._client()
        settings = self.settings

        async def call() -> ChatCompletion:
            completion: ChatCompletion = await client.chat.completions.create(
                **params, timeout=settings.timeout
            )
            return completion

        attempts = settings.max_retries + 1
        try:
            return await retry_async(
                call,
                attempts=attempts,
                retry_on=_transient,
                initial=settings.retry_initial,
                max_wait=settings.retry_max_wait,
                jitter=settings.retry_jitter,
                retry_after=_retry_after,
                what=f"model {self.model!r} request",
            )
        except openai.APITimeoutError:
            raise ModelTimeout(
                f"Model {self.model!r} did not answer within {settings.timeout}s "
                f"({attempts} attempt(s))"
            ) from None
        except openai.APIStatusError as exc:
            raise ModelHTTPError(exc.status_code, exc.body, self.model) from None
        except openai.APIConnectionError as exc:
            raise ModelConnectionError(
                f"Could not reach the model server {self.base_url or 'api.openai.com'} "
                f"for {self.model!r} ({attempts} attempt(s)): {exc}"
            ) from exc
        except openai.APIResponseValidationError as exc:
            raise UnexpectedModelBehavior(
                f"Model server returned an invalid response: {exc}", body=exc.body
            ) from None

    def _client(self) -> AsyncOpenAI:
        if self._injected is not None:
            return self._injected
        # An httpx client belongs to one event loop; handle_sync may run a new loop per call.
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            from openai import AsyncOpenAI

            base_url = self.base_url or os.environ.get("OPENAI_BASE_URL") or None
            api_key = self.api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                if base_url is None:
                    raise UserError(
                        "No API key for OpenAI: set OPENAI_API_KEY or pass api_key=...; for a "
                        "local server pass base_url=... (e.g. 'openai:<model>@http://localhost:8000/v1')"
                    )
                api_key = "not-needed"  # local servers ignore it; the client insists on one
            self._clients.clear()
            client = AsyncOpenAI(
                api_key=api_key, base_url=base_url, max_retries=0, timeout=self.settings.timeout
            )
            self._clients[loop] = client
        return client

    def _usage(self, completion: ChatCompletion) -> Usage:
        reported = getattr(completion, "usage", None)
        prompt = int(getattr(reported, "prompt_tokens", 0) or 0)
        output = int(getattr(reported, "completion_tokens", 0) or 0)
        price = price_for(self.model, self.settings.prices) or price_for(
            getattr(completion, "model", "") or "", self.settings.prices
        )
        cost = (prompt * price.input + output * price.output) / 1e6 if price else 0.0
        return Usage(requests=1, prompt_tokens=prompt, completion_tokens=output, cost=cost)


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


def _transient(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After``), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _correction(completion: ChatCompletion, error: str) -> list[dict[str, Any]]:
    """The assistant's invalid answer replayed, followed by the error it must fix."""
    message = completion.choices[0].message
    calls: list[tuple[str, Any]] = [
        (call.id, function)
        for call in message.tool_calls or []
        if (function := getattr(call, "function", None)) is not None
    ]
    replay: dict[str, Any] = {"role": "assistant", "content": message.content}
    if not calls:
        fix = f"Error: {error} Try again, answering in the required format."
        return [replay, {"role": "user", "content": fix}]
    replay["tool_calls"] = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": function.name, "arguments": function.arguments},
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


def _tokens(choice: Any) -> list[tuple[str, float]]:
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) or []
    return [(t.token, t.logprob) for t in content if math.isfinite(t.logprob)]


def _name_confidence(choice: Any, name: str) -> float | None:
    """Joint probability of the function-name tokens, if the server returned them."""
    tokens = _tokens(choice)
    text = "".join(t for t, _ in tokens)
    start = text.find(name)
    return span_probability(tokens, start, start + len(name)) if start >= 0 else None


def _value_confidence(choice: Any, key: str) -> float | None:
    """Probability of the value tokens of ``"key": <value>`` in a JSON answer."""
    tokens = _tokens(choice)
    text = "".join(t for t, _ in tokens)
    match = re.search(rf'"{re.escape(key)}"\s*:\s*(true|false)', text)
    if match is None:
        return None
    return span_probability(tokens, match.start(1), match.end(1))


def _dump(completion: Any) -> Any:
    try:
        return completion.model_dump(mode="json", warnings=False)
    except Exception:
        return repr(completion)
