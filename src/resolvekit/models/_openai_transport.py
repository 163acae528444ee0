"""The transport: the openai client, and one chat completion sent with retries.

Transport failures (429, 5xx, timeouts, connection errors, and 200 responses whose body is not a
chat completion) are retried by :func:`resolvekit._retry.retry_async`; the openai client's own
retries are disabled. The body is read raw and validated by :mod:`._openai_wire`, so whatever
the server or the client does, :func:`send` fails only with a
:class:`~resolvekit.exceptions.ModelError` (or the :class:`~resolvekit.exceptions.UserError` /
:class:`~resolvekit.exceptions.ModelRequestsBlocked` it was given).

``openai`` is imported lazily, on the first request.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any

from .._retry import parse_retry_after, retry_async
from ..exceptions import (
    ModelConnectionError,
    ModelError,
    ModelHTTPError,
    ModelTimeout,
    ResolvekitError,
    UnexpectedModelBehavior,
    UserError,
)
from ._openai_wire import BadBody, Completion, excerpt, parse_completion

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from ._openai_settings import OpenAISettings
    from ._openai_stream import Speaker

__all__ = ["OPENAI_URL", "Clients", "send"]

OPENAI_URL = "https://api.openai.com/v1"
"""Where requests go without a base URL (the openai client's default)."""


class Clients:
    """The openai client to send with: the one injected, else one built per event loop.

    Args:
        injected: a client to use instead of building one; a copy with ``max_retries=0`` is
            used, since retries happen in :func:`send`.
    """

    def __init__(self, injected: AsyncOpenAI | None = None) -> None:
        self._injected = injected.with_options(max_retries=0) if injected is not None else None
        self._built: dict[int, AsyncOpenAI] = {}

    def get(self, *, base_url: str | None, api_key: str | None, timeout: float) -> AsyncOpenAI:
        """The client for the running event loop (an httpx client belongs to one loop, and
        ``handle_sync`` may run a new loop per call).

        Args:
            base_url: the server; None reads ``OPENAI_BASE_URL``, else OpenAI's.
            api_key: None reads ``OPENAI_API_KEY``; optional when there is a base URL.
            timeout: seconds one HTTP request may take.

        Raises:
            UserError: no API key and no base URL.
        """
        if self._injected is not None:
            return self._injected
        loop = id(asyncio.get_running_loop())
        client = self._built.get(loop)
        if client is None:
            from openai import AsyncOpenAI

            base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
            api_key = api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                if base_url is None:
                    raise UserError(
                        "No API key for OpenAI: set OPENAI_API_KEY or pass api_key=...; for a "
                        "local server pass base_url=... (e.g. 'openai:<model>@http://localhost:8000/v1')"
                    )
                api_key = "not-needed"  # local servers ignore it; the client insists on one
            self._built.clear()
            client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
            self._built[loop] = client
        return client

    def url(self, base_url: str | None) -> str:
        """The server requests go to: the injected client's, else ``base_url``, else
        ``OPENAI_BASE_URL``, else OpenAI's."""
        if self._injected is not None:
            return str(self._injected.base_url)
        return base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL

    async def aclose(self) -> None:
        """Close the clients built here; an injected client is left to its owner."""
        built, self._built = list(self._built.values()), {}
        for client in built:
            await client.close()


async def send(
    client: AsyncOpenAI,
    params: dict[str, Any],
    *,
    settings: OpenAISettings,
    model: str,
    server: str,
    speaker: Speaker | None = None,
) -> Completion:
    """One chat completion, retried on transient failures.

    Args:
        client: the openai client.
        params: the ``chat.completions.create`` arguments.
        settings: the timeout and the retry policy.
        model: the model's name, for messages.
        server: the server's name, for messages.
        speaker: when given, the completion is streamed (``stream=True``, usage included)
            and the speaker emits the customer-visible text as it arrives; each attempt
            starts with :meth:`Speaker.begin`, which retracts what a failed one emitted.

    Raises:
        ModelError: every failure, typed (see ``docs/models.md``).
    """
    import openai

    async def call() -> Completion:
        if speaker is not None:
            return await _streamed(client, params, settings, speaker)
        # The raw response: the body is parsed and validated here (parse_completion), not
        # by the client, which raises bare json/pydantic errors or returns a str on garbage.
        raw = await client.chat.completions.with_raw_response.create(
            **params, timeout=settings.timeout
        )
        response = raw.http_response
        return parse_completion(response.content, response.headers.get("content-type", ""))

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
            what=f"model {model!r} request",
        )
    except ResolvekitError:
        raise  # ModelRequestsBlocked, UserError: as they are
    except BadBody as exc:
        raise UnexpectedModelBehavior(
            f"Model server {server} returned an unusable response for {model!r} "
            f"({attempts} attempt(s)): {exc}",
            body=exc.excerpt,
        ) from None
    except openai.APITimeoutError:
        raise ModelTimeout(
            f"Model {model!r} did not answer within {settings.timeout}s ({attempts} attempt(s))"
        ) from None
    except openai.APIStatusError as exc:
        raise ModelHTTPError(exc.status_code, exc.body, model) from None
    except openai.APIConnectionError as exc:
        raise ModelConnectionError(
            f"Could not reach the model server {server} "
            f"for {model!r} ({attempts} attempt(s)): {exc}"
        ) from exc
    except openai.APIResponseValidationError as exc:
        raise UnexpectedModelBehavior(
            f"Model server returned an invalid response: {exc}", body=excerpt(exc.body)
        ) from None
    except Exception as exc:  # anything the client lets through: never escapes untyped
        raise _foreign_error(exc, model=model, server=server, attempts=attempts) from exc


async def _streamed(
    client: AsyncOpenAI, params: dict[str, Any], settings: OpenAISettings, speaker: Speaker
) -> Completion:
    """One streamed attempt: the chunks assembled into the body a plain request answers, then
    parsed by the same :func:`parse_completion`.

    Raises:
        BadBody: a chunk that is not JSON or not a chunk, an error event in the stream, or a
            stream that ended before its finish reason (all retried like a bad body).
    """
    import openai

    from ._openai_stream import Assembler

    speaker.begin()
    assembler = Assembler(speaker)
    stream = await client.chat.completions.create(**params, stream=True, timeout=settings.timeout)
    content_type = stream.response.headers.get("content-type", "")
    if not content_type.startswith("text/event-stream"):
        # A server (or proxy) that ignores ``stream``: its plain answer is used, unstreamed.
        try:
            body = await stream.response.aread()
        finally:
            await stream.close()
        return parse_completion(body, content_type)
    try:
        async for chunk in stream:
            to_dict = getattr(chunk, "to_dict", None)
            assembler.feed(to_dict(warnings=False) if callable(to_dict) else chunk)
    except ValueError as exc:  # a data line that is not JSON (json.JSONDecodeError)
        problem = f"a stream chunk is not JSON ({exc})"[:200]
        raise BadBody(problem, b"", "text/event-stream") from None
    except openai.APIStatusError:
        raise
    except openai.APIError as exc:  # an error event in the stream, after a 200
        if isinstance(exc, openai.APIConnectionError | openai.APIResponseValidationError):
            raise
        raise BadBody(
            f"an error event in the stream: {exc.message}"[:200],
            excerpt(exc.body).encode(),
            "text/event-stream",
        ) from None
    finally:
        await stream.close()
    body = assembler.body()
    return parse_completion(body, "application/json")


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: 429, 5xx, timeouts, connection failures, garbage 200 bodies."""
    import openai

    if isinstance(exc, ResolvekitError):
        return False
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, BadBody | openai.APIResponseValidationError):
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
    return parse_retry_after(headers.get("retry-after"))
