"""Tools: typed Python functions the agent can call on the systems that hold the truth.

``@tool`` (or ``@agent.tool``) turns a sync or async function into a :class:`Tool`: a JSON Schema
from its signature and docstring, arguments validated before every call, a declared effect
(``read`` or ``write``), an optional customer confirmation, a timeout and a retry policy::

    @agent.tool(effect="write", confirm=True)
    def cancel_order(ctx: rk.Context, order_id: str, reason: Literal["no longer needed"]) -> Order:
        \"\"\"Cancel a pending order.

        Args:
            order_id: the order to cancel, e.g. W1234567.
            reason: why the customer cancels.
        \"\"\"

A parameter named ``idempotency_key`` is filled by the engine with a deterministic key
(conversation + journal step) and is not shown to models; a write that declares it may be
retried and recovered after a crash without running twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import (
    Any,
    Generic,
    Literal,
    TypeAlias,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    get_type_hints,
    overload,
)

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from ._json import detached
from .exceptions import RetryableToolError, ToolError, ToolRefusal, UserError, WriteInCheck
from .specs import ToolSpec

__all__ = ["Effect", "RetryPolicy", "Tool", "ToolOptions", "forbid_writes", "read_only", "tool"]

R = TypeVar("R")
Effect = Literal["read", "write"]
IDEMPOTENCY_PARAM = "idempotency_key"
Authorize: TypeAlias = Callable[[Any, dict[str, Any]], Awaitable[None] | None]
"""``authorize(ctx, args)``: raise :class:`ToolRefusal` to refuse a call."""


@dataclass(kw_only=True)
class _ReadOnly:
    check: str
    attempts: list[str] = field(default_factory=list)
    """Every write refused, kept even when the code that tried it swallowed the error."""


_READ_ONLY: ContextVar[_ReadOnly | None] = ContextVar("resolvekit_read_only", default=None)


@contextlib.contextmanager
def read_only(check: str) -> Iterator[list[str]]:
    """While inside, in this task and the tasks and threads it starts, every write is refused
    with :class:`WriteInCheck` (an early check, ``@agent.check``, runs inside). Yields the list
    of the writes tried, so a check that caught the error is still caught afterwards."""
    guard = _ReadOnly(check=check)
    token = _READ_ONLY.set(guard)
    try:
        yield guard.attempts
    finally:
        _READ_ONLY.reset(token)


def forbid_writes(action: str, effect: str = "write") -> None:
    """Raise :class:`WriteInCheck` when ``action`` (a write tool's name, ``ctx.confirm``...)
    is tried inside :func:`read_only`; nothing otherwise, nor for a read."""
    guard = _READ_ONLY.get()
    if guard is not None and effect != "read":
        guard.attempts.append(action)
        raise WriteInCheck(guard.check, action)


@dataclass(kw_only=True, frozen=True)
class RetryPolicy:
    """How a failing tool call is retried (jittered exponential backoff)."""

    attempts: int = 3
    """Total attempts, the first included."""
    initial: float = 0.2
    """Seconds before the first retry."""
    max_wait: float = 2.0
    """Longest wait between attempts, in seconds."""
    retry_on: tuple[type[BaseException], ...] = (
        RetryableToolError,
        TimeoutError,
        ConnectionError,
    )
    """Exception types worth another attempt; anything else fails at once."""


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(kw_only=True)
class Tool(Generic[R]):
    """A function the engine validates, journals, times out and retries; see :func:`tool`."""

    name: str
    description: str
    function: Callable[..., Any]
    """The wrapped function (sync or async)."""
    effect: Effect
    confirm: bool
    """A write that needs the customer's explicit yes in the journal before it runs."""
    timeout: float | None
    retry: RetryPolicy
    takes_ctx: bool
    idempotent: bool
    """True when the function accepts ``idempotency_key``."""
    args_model: type[BaseModel]
    result_adapter: TypeAdapter[Any]
    authorize: Authorize | None = None
    """Called before every attempt with the context and the validated arguments; raising
    :class:`ToolRefusal` refuses the call (set with :class:`~resolvekit.toolsets.ToolOverride`)."""
    _schema: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def fingerprint(self) -> str | None:
        """A digest of what the tool accepts and returns, journaled with each call of a tool
        whose shape can change under a running conversation (a connected system's); None for
        Python functions, whose shape changes only with a deploy."""
        return None

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON Schema of the arguments (without ``ctx`` and ``idempotency_key``)."""
        if not self._schema:
            self._schema = self.args_model.model_json_schema()
        return self._schema

    def max_duration(self) -> float:
        """Seconds by which a call's outcome is known: every attempt's timeout and the waits
        between them, plus a margin (300 s per attempt when the tool has no timeout)."""
        retry = self.retry if (self.effect == "read" or self.idempotent) else NO_RETRY
        per_attempt = self.timeout if self.timeout is not None else 300.0
        return retry.attempts * per_attempt + (retry.attempts - 1) * retry.max_wait + 5.0

    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name,
            description=self.description,
            parameters=self.parameters,
            effect=self.effect,
            confirm=self.confirm,
        )

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate and convert arguments; return them as JSON-compatible data.

        Raises:
            ToolError: kind ``invalid_arguments``, with every problem listed.
        """
        try:
            model = self.args_model.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ToolError(self.name, "invalid_arguments", problems) from exc
        return model.model_dump(mode="json")

    def dump_result(self, value: Any) -> Any:
        return self.result_adapter.dump_python(value, mode="json")

    def load_result(self, data: Any) -> Any:
        """The tool's result as its declared type, from journal data (a copy: the playbook may
        change it in place without changing the journal)."""
        return self.result_adapter.validate_python(detached(data))

    async def invoke(
        self, ctx: object | None, args: dict[str, Any], idempotency_key: str | None
    ) -> Any:
        """Run the tool with validated ``args``: timeout, retries, errors made typed.

        Returns:
            The result as JSON-compatible data (what the journal stores).

        Raises:
            ToolError: any failure, with its kind.
            WriteInCheck: a write inside an early check (:func:`read_only`).
        """
        forbid_writes(self.name, self.effect)
        retry = self.retry if (self.effect == "read" or self.idempotent) else NO_RETRY

        async def attempt() -> Any:
            if self.authorize is not None:
                verdict = self.authorize(ctx, args)
                if inspect.isawaitable(verdict):
                    await verdict
            coro = self.call_once(ctx, args, idempotency_key)
            if self.timeout is None:
                return await coro
            async with asyncio.timeout(self.timeout):
                return await coro

        from ._retry import retry_async

        try:
            result = await retry_async(
                attempt,
                attempts=retry.attempts,
                retry_on=lambda exc: isinstance(exc, retry.retry_on),
                initial=retry.initial,
                max_wait=retry.max_wait,
                retry_after=lambda exc: getattr(exc, "retry_after", None),
            )
        except TimeoutError as exc:
            if self.effect == "write":
                # The call may still land: a sync tool's thread cannot be stopped, and a
                # cancelled request may already have reached the backend. Saying "failed"
                # would invite a second, duplicate write.
                raise ToolError(
                    self.name,
                    "unknown_outcome",
                    f"no answer after {self.timeout:g}s; the write may still take effect, so it "
                    "is not repeated; a human must check whether it did",
                ) from exc
            raise ToolError(self.name, "timeout", f"no answer after {self.timeout:g}s") from exc
        except ToolRefusal as exc:
            raise ToolError(self.name, "refused", str(exc)) from exc
        except ToolError:
            raise
        except Exception as exc:  # a tool's failure must never crash the customer's turn
            raise self.failure(exc) from exc
        try:
            return self.dump_result(result)
        except Exception as exc:
            raise ToolError(
                self.name, "exception", f"result does not match the declared return type: {exc}"
            ) from exc

    def call_once(
        self, ctx: object | None, args: dict[str, Any], key: str | None
    ) -> Awaitable[Any]:
        """One attempt of the call with validated ``args``: the function, on the loop or in a
        worker thread. Tools that are not Python functions override this."""
        model = self.args_model.model_validate(args)
        kwargs = {name: getattr(model, name) for name in type(model).model_fields}
        if self.idempotent:
            kwargs[IDEMPOTENCY_PARAM] = key
        call = (
            functools.partial(self.function, ctx, **kwargs)
            if self.takes_ctx
            else functools.partial(self.function, **kwargs)
        )
        if inspect.iscoroutinefunction(self.function):
            return cast(Awaitable[Any], call())
        return asyncio.to_thread(call)

    def failure(self, exc: Exception) -> ToolError:
        """The typed error for an exception that ended the call (retries used up)."""
        return ToolError(self.name, "exception", f"{type(exc).__name__}: {exc}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (tests, scripts): no journal, no checks."""
        return self.function(*args, **kwargs)


class ToolOptions(TypedDict, total=False):
    """How a tool is declared (the keyword arguments of :func:`tool` and ``@agent.tool``)."""

    effect: Effect
    """``"read"`` (no side effects; retried; the default) or ``"write"``."""
    confirm: bool
    """The write needs the customer's explicit yes, recorded in the journal (default False)."""
    timeout: float | None
    """Seconds per attempt (default 30); None for no limit."""
    retry: RetryPolicy | None
    """The retry policy for reads and idempotent writes (default: 3 attempts)."""
    name: str | None
    """The tool's name; the function's name by default."""
    description: str | None
    """For models; the docstring's first paragraph by default."""


@overload
def tool(function: Callable[..., Any], /) -> Tool[Any]: ...


@overload
def tool(**options: Unpack[ToolOptions]) -> Callable[[Callable[..., Any]], Tool[Any]]: ...


def tool(
    function: Callable[..., Any] | None = None, /, **options: Unpack[ToolOptions]
) -> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]:
    """Make a :class:`Tool` from a typed function (usable bare: ``@tool``).

    Args:
        function: the function, when used bare.
        **options: :class:`ToolOptions`: ``effect``, ``confirm``, ``timeout``, ``retry``,
            ``name``, ``description``.

    Raises:
        UserError: a parameter or the return value has no type hint, ``confirm`` on a read,
            an unknown effect, or an unknown option.
    """
    unknown = set(options) - set(ToolOptions.__annotations__)
    if unknown:
        raise UserError(f"tool() got unknown options {sorted(unknown)}")

    def build(func: Callable[..., Any]) -> Tool[Any]:
        return _build_tool(
            func,
            effect=options.get("effect", "read"),
            confirm=options.get("confirm", False),
            timeout=options.get("timeout", 30.0),
            retry=options.get("retry"),
            name=options.get("name"),
            description=options.get("description"),
        )

    return build(function) if function is not None else build


def _build_tool(
    func: Callable[..., Any],
    *,
    effect: Effect,
    confirm: bool,
    timeout: float | None,
    retry: RetryPolicy | None,
    name: str | None,
    description: str | None,
) -> Tool[Any]:
    tool_name = name or func.__name__
    if effect not in ("read", "write"):
        raise UserError(f"Tool {tool_name!r}: effect must be 'read' or 'write', not {effect!r}")
    if confirm and effect != "write":
        raise UserError(f"Tool {tool_name!r}: confirm=True only makes sense for effect='write'")
    hints = _type_hints(func, tool_name)
    signature = inspect.signature(func)
    doc_summary, param_docs = _parse_docstring(inspect.getdoc(func) or "")
    fields: dict[str, Any] = {}
    takes_ctx = False
    idempotent = False
    for index, (param_name, param) in enumerate(signature.parameters.items()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise UserError(f"Tool {tool_name!r}: *args/**kwargs are not supported")
        if index == 0 and _is_context(param_name, hints.get(param_name)):
            takes_ctx = True
            continue
        if param_name == IDEMPOTENCY_PARAM:
            idempotent = True
            continue
        if param_name not in hints:
            raise UserError(
                f"Tool {tool_name!r}: parameter {param_name!r} has no type hint; "
                f"annotate it so its JSON Schema can be built"
            )
        from pydantic import Field

        default = ... if param.default is param.empty else param.default
        fields[param_name] = (
            hints[param_name],
            Field(default, description=param_docs.get(param_name)),
        )
    if "return" not in hints:
        raise UserError(
            f"Tool {tool_name!r} has no return type hint; annotate it (use -> None if it "
            f"returns nothing) so results can be journaled and replayed"
        )
    args_model = create_model(
        _model_name(tool_name), __config__=ConfigDict(extra="forbid"), **fields
    )
    return Tool(
        name=tool_name,
        description=description or doc_summary,
        function=func,
        effect=effect,
        confirm=confirm,
        timeout=timeout,
        retry=retry or RetryPolicy(),
        takes_ctx=takes_ctx,
        idempotent=idempotent,
        args_model=args_model,
        result_adapter=TypeAdapter(hints["return"]),
    )


def _type_hints(func: Callable[..., Any], tool_name: str) -> dict[str, Any]:
    """Resolve annotations, including names local to the function that defined the tool."""
    try:
        return get_type_hints(func, include_extras=True)
    except NameError:
        pass
    localns: dict[str, Any] = {}
    frame = sys._getframe(1)
    for _ in range(8):  # the decorator's caller is a few frames up
        if frame.f_back is None:
            break
        frame = frame.f_back
        localns = {**frame.f_locals, **localns}
    try:
        return get_type_hints(func, localns=localns, include_extras=True)
    except Exception as exc:
        raise UserError(f"Tool {tool_name!r}: cannot resolve its type hints: {exc}") from exc


def _is_context(param_name: str, hint: Any) -> bool:
    """A first parameter annotated with the playbook context (any class marked
    ``__resolvekit_context__``, as :class:`resolvekit.Context` is), or named ``ctx``."""
    origin = getattr(hint, "__origin__", hint)
    return bool(getattr(origin, "__resolvekit_context__", False)) or (
        hint is None and param_name == "ctx"
    )


def _model_name(tool_name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9a-zA-Z]+", tool_name)) + "Args"


_HEADER_AFTER_TEXT = re.compile(
    r"(?<=\S)\n(?="
    r"(?:Args|Arguments|Parameters|Keyword Args|Returns|Raises|Yields|Examples?|Notes?):[ \t]*\n)"
)
"""A Google section header right below text, which griffe wants a blank line above."""


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and per-argument descriptions.

    Google style first (``Args:`` with optional ``name (type):`` items, multi-line
    descriptions); NumPy and Sphinx styles are recognised too. Parsed by griffe, imported here
    because it takes longer to import than ``import resolvekit`` may (a tool is defined once).

    Args:
        doc: the cleaned docstring (``inspect.getdoc``).

    Returns:
        The first paragraph as one line, and each documented argument's description as one
        line. A docstring griffe cannot parse gives its first paragraph and no arguments.
    """
    if not doc.strip():
        return "", {}
    import griffe

    doc = _HEADER_AFTER_TEXT.sub("\n\n", doc)
    quiet: griffe.PerStyleOptions = {
        "google": {"warnings": False},
        "numpy": {"warnings": False},
        "sphinx": {"warnings": False},
    }
    try:
        # The leading newline keeps griffe's own cleaning (inspect.cleandoc) from dedenting
        # the lines below a header on the first line; the docstring is clean already.
        sections = griffe.parse_auto(
            griffe.Docstring("\n" + doc), default="google", per_style_options=quiet
        )
    except Exception:  # a docstring must never make defining a tool fail
        return _first_paragraph(doc), {}
    summary = ""
    params: dict[str, str] = {}
    for index, section in enumerate(sections):
        if index == 0 and isinstance(section, griffe.DocstringSectionText):
            summary = _first_paragraph(section.value)
        elif isinstance(
            section, griffe.DocstringSectionParameters | griffe.DocstringSectionOtherParameters
        ):
            for param in section.value:
                params.setdefault(param.name, _one_line(param.description))
    return summary, params


def _first_paragraph(text: str) -> str:
    return _one_line(re.split(r"\n[ \t]*\n", text.strip(), maxsplit=1)[0])


def _one_line(text: str) -> str:
    return " ".join(text.split())
