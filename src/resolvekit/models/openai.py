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
  a chat completion) are retried by :func:`resolvekit._retry.retry_async`; the openai client's own
  retries are disabled. The body is read raw and validated here, so whatever the server or the
  client does, a request fails only with a :class:`~resolvekit.exceptions.ModelError`.

``openai`` is imported lazily: ``import resolvekit`` never loads it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from .._retry import retry_async
from ..exceptions import (
    ModelConnectionError,
    ModelError,
    ModelHTTPError,
    ModelTimeout,
    ResolvekitError,
    UnexpectedModelBehavior,
    UserError,
)
from ..messages import Usage
from ._openai_json import JsonTask, answer_task, summary_task
from ._openai_tools import InvalidCall, Toolset, build_toolset, span_probability
from ._pricing import DEFAULT_PRICES, Price, price_for
from ._prompt import PromptBudget, build_messages
from .base import Model, ModelRequest, ModelResponse, Signals, check_allow_model_requests

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["DEFAULT_MODEL", "DEFAULT_PRICES", "OpenAIModel", "OpenAISettings", "Price"]

DEFAULT_MODEL = "gpt-4.1-mini"


@dataclass(kw_only=True)
class OpenAISettings:
    """How :class:`OpenAIModel` talks to the server."""

    timeout: float = 60.0
    """Seconds one HTTP request may take."""
    max_retries: int = 2
    """Retries after the first attempt, on 429, 5xx, timeouts, connection errors and 200
    responses whose body is not a chat completion (empty, truncated, not JSON)."""
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
                body=completion.body,
            ) from None

    def _turn_response(
        self, completion: _Completion, toolset: Toolset, usage: Usage
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
        confidence = _name_confidence(completion.tokens, function.name)
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
                body=completion.body,
            ) from None

    def _json_response(
        self, completion: _Completion, task: JsonTask, usage: Usage
    ) -> ModelResponse:
        content = completion.message.content or ""
        parsed = task.parse(content)
        confidence = parsed.confidence
        if task.logprob_key is not None:
            from_logprobs = _value_confidence(completion.tokens, task.logprob_key)
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
    ) -> _Completion:
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

    async def _send(self, params: dict[str, Any]) -> _Completion:
        """One chat completion, retried on transient failures; every failure a ModelError."""
        import openai

        check_allow_model_requests()
        client = self._client()
        settings = self.settings

        async def call() -> _Completion:
            # The raw response: the body is parsed and validated here (_parse_completion), not
            # by the client, which raises bare json/pydantic errors or returns a str on garbage.
            raw = await client.chat.completions.with_raw_response.create(
                **params, timeout=settings.timeout
            )
            response = raw.http_response
            return _parse_completion(response.content, response.headers.get("content-type", ""))

        attempts = settings.max_retries + 1
        server = self.base_url or "api.openai.com"
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
        except ResolvekitError:
            raise  # ModelRequestsBlocked, UserError: as they are
        except _BadBody as exc:
            raise UnexpectedModelBehavior(
                f"Model server {server} returned an unusable response for {self.model!r} "
                f"({attempts} attempt(s)): {exc}",
                body=exc.excerpt,
            ) from None
        except openai.APITimeoutError:
            raise ModelTimeout(
                f"Model {self.model!r} did not answer within {settings.timeout}s "
                f"({attempts} attempt(s))"
            ) from None
        except openai.APIStatusError as exc:
            raise ModelHTTPError(exc.status_code, exc.body, self.model) from None
        except openai.APIConnectionError as exc:
            raise ModelConnectionError(
                f"Could not reach the model server {server} "
                f"for {self.model!r} ({attempts} attempt(s)): {exc}"
            ) from exc
        except openai.APIResponseValidationError as exc:
            raise UnexpectedModelBehavior(
                f"Model server returned an invalid response: {exc}", body=_excerpt(exc.body)
            ) from None
        except Exception as exc:  # anything the client lets through: never escapes untyped
            raise _foreign_error(exc, model=self.model, server=server, attempts=attempts) from exc

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

    def _usage(self, completion: _Completion) -> Usage:
        prompt, output = completion.prompt_tokens, completion.completion_tokens
        price = price_for(self.model, self.settings.prices) or price_for(
            completion.model or "", self.settings.prices
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
    """Worth another attempt: 429, 5xx, timeouts, connection failures, garbage 200 bodies."""
    import openai

    if isinstance(exc, ResolvekitError):
        return False
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, _BadBody | openai.APIResponseValidationError):
        return True
    return _is_timeout(exc) or _is_transport_failure(exc)


# --- failures the openai client does not wrap ------------------------------------------------


def _http_error_classes(*names: str) -> tuple[type[BaseException], ...]:
    """Classes called ``names`` in whichever of httpx / httpx2 / anyio are loaded.

    Looked up in ``sys.modules`` rather than imported: resolvekit does not depend on them, and
    the openai client uses httpx or httpx2 depending on its version.
    """
    found: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2", "anyio"):
        module = sys.modules.get(module_name)
        for name in names:
            cls = getattr(module, name, None) if module is not None else None
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.append(cls)
    return tuple(found)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (TimeoutError, *_http_error_classes("TimeoutException")))


def _is_transport_failure(exc: BaseException) -> bool:
    """A network-level failure (retried): OSError, httpx request errors, broken anyio streams."""
    network = _http_error_classes(
        "RequestError", "BrokenResourceError", "ClosedResourceError", "EndOfStream"
    )
    return isinstance(exc, (OSError, *network))


def _foreign_error(exc: Exception, *, model: str, server: str, attempts: int) -> ModelError:
    """The ModelError for an exception the openai client let through unwrapped."""
    what = f"{type(exc).__name__}: {exc}"[:300]
    if _is_timeout(exc):
        return ModelTimeout(f"Model {model!r} did not answer ({attempts} attempt(s)): {what}")
    if _is_transport_failure(exc) or isinstance(
        exc, _http_error_classes("HTTPError", "StreamError")
    ):
        return ModelConnectionError(
            f"The connection to the model server {server} failed for {model!r} "
            f"({attempts} attempt(s)): {what}"
        )
    return UnexpectedModelBehavior(
        f"The request to {model!r} failed in a way the openai client did not classify: {what}"
    )


# --- the response body -------------------------------------------------------------------------

_EXCERPT_BYTES = 500
"""At most this much of an unusable body is kept in ``UnexpectedModelBehavior.body``."""


class _BadBody(Exception):
    """A 2xx response whose body is not a usable chat completion (retried like a 5xx)."""

    def __init__(self, problem: str, content: bytes, content_type: str) -> None:
        self.excerpt = _excerpt(content)
        kind = f"content-type {content_type!r}, " if content_type else ""
        shown = self.excerpt if len(self.excerpt) <= 80 else self.excerpt[:80] + "..."
        super().__init__(f"{problem} ({kind}{len(content)} bytes: {shown!r})")


def _excerpt(body: object) -> str:
    """The start of a body as text, at most :data:`_EXCERPT_BYTES` plus a size note."""
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        raw = bytes(body)
    else:
        raw = (body if isinstance(body, str) else json.dumps(body, default=str)).encode()
    text = raw[:_EXCERPT_BYTES].decode("utf-8", errors="replace")
    if len(raw) > _EXCERPT_BYTES:
        text += f"... [{len(raw)} bytes in all]"
    return text


class _Wire(pydantic.BaseModel):
    """The parts of a chat completion that are used, type-checked; the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


class _WireFunction(_Wire):
    name: str
    arguments: str | None = None

    @pydantic.field_validator("arguments", mode="before")
    @classmethod
    def _object_arguments(cls, value: Any) -> Any:
        # A few servers send the arguments as an object instead of a JSON string.
        return json.dumps(value) if isinstance(value, dict) else value


class _WireToolCall(_Wire):
    id: str = ""
    """Only replayed in a correction: a missing or odd id is replaced, not an error."""
    function: _WireFunction | None = None
    """None for non-function tool calls (refused as an invalid call, not a bad body)."""

    @pydantic.field_validator("id", mode="before")
    @classmethod
    def _any_id(cls, value: Any) -> Any:
        return value if isinstance(value, str) else ""


class _WireMessage(_Wire):
    content: str | None = None
    tool_calls: list[_WireToolCall] | None = None


class _WireChoice(_Wire):
    message: _WireMessage
    logprobs: Any = None


class _WireCompletion(_Wire):
    choices: list[_WireChoice] = pydantic.Field(min_length=1)
    model: Any = None
    usage: Any = None


@dataclass(frozen=True, kw_only=True)
class _Completion:
    """A validated chat completion: its first choice, plus what usage and confidence need."""

    message: _WireMessage
    tokens: list[tuple[str, float]]
    """``(token, logprob)`` pairs of the first choice; empty when absent or malformed."""
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    body: dict[str, Any]
    """The decoded response, for ``UnexpectedModelBehavior.body``."""


def _parse_completion(content: bytes, content_type: str) -> _Completion:
    """Decode and validate a 2xx body.

    Only what is used is checked (choices, the first message, its content and tool calls):
    servers that omit or add other fields still work. Malformed usage or log-probabilities are
    ignored rather than failing a usable decision. The content type is not required to be JSON
    (the openai client does not require it either); the body is.

    Raises:
        _BadBody: empty, not UTF-8 JSON, not an object, or not a chat completion with a message.
    """
    if not content.strip():
        raise _BadBody("empty body", content, content_type)
    try:
        data = json.loads(content)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _BadBody(f"not JSON ({exc})"[:200], content, content_type) from None
    if not isinstance(data, dict):
        raise _BadBody(
            f"JSON {type(data).__name__}, not a chat completion object", content, content_type
        )
    try:
        wire = _WireCompletion.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_url=False)[:3]
        )
        raise _BadBody(f"not a chat completion ({problems})"[:300], content, content_type) from None
    choice = wire.choices[0]
    usage = wire.usage if isinstance(wire.usage, dict) else {}
    return _Completion(
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


def _correction(completion: _Completion, error: str) -> list[dict[str, Any]]:
    """The assistant's invalid answer replayed, followed by the error it must fix."""
    message = completion.message
    calls: list[tuple[str, _WireFunction]] = [
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


def _name_confidence(tokens: list[tuple[str, float]], name: str) -> float | None:
    """Joint probability of the function-name tokens, if the server returned them."""
    text = "".join(t for t, _ in tokens)
    start = text.find(name)
    return span_probability(tokens, start, start + len(name)) if start >= 0 else None


def _value_confidence(tokens: list[tuple[str, float]], key: str) -> float | None:
    """Probability of the value tokens of ``"key": <value>`` in a JSON answer."""
    text = "".join(t for t, _ in tokens)
    match = re.search(rf'"{re.escape(key)}"\s*:\s*(true|false)', text)
    if match is None:
        return None
    return span_probability(tokens, match.start(1), match.end(1))
