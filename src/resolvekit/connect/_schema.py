"""Tools described by JSON Schemas and run by a connected system (an MCP server, an HTTP API).

A :class:`SchemaTool` is a :class:`~resolvekit.Tool` like any other: the engine validates its
arguments (with ``jsonschema``, before anything is sent), journals it, asks the customer before a
confirmed write, passes the idempotency key, times it out, retries it and types its failures.
What differs is one attempt: :attr:`SchemaTool.send` talks to the system, and the exceptions
below say what happened on the wire, which :meth:`SchemaTool.failure` turns into typed errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

from ..exceptions import RetryableToolError, ToolError
from ..tools import Tool

__all__ = [
    "BadResult",
    "Dropped",
    "SchemaTool",
    "Send",
    "Unreachable",
    "check_result",
]

Send = Callable[[Any, dict[str, Any], "str | None"], Awaitable[Any]]
"""``send(ctx, args, idempotency_key)``: one attempt of the call; returns the result data."""


class Unreachable(ConnectionError):
    """The request never reached the system (connection refused, not started): nothing was
    done, so any call may be tried again."""


class Dropped(ConnectionError):
    """The request was sent but the connection broke before the answer: a write may or may not
    have taken effect."""


class BadResult(Exception):
    """The system answered with something that is not a valid result (malformed, or not what
    its output schema promises)."""


def _no_function(*args: Any, **kwargs: Any) -> Any:
    raise TypeError("a connected tool has no Python function; call it through ctx.call")


@dataclass(kw_only=True)
class SchemaTool(Tool[Any]):
    """A connected tool: JSON Schemas in and out, one attempt made by :attr:`send`."""

    input_schema: dict[str, Any]
    """The system's JSON Schema of the arguments."""
    output_schema: dict[str, Any] | None = None
    """The system's JSON Schema of results, checked on every answer when given."""
    send: Send
    key_param: str | None = None
    """The argument that carries the idempotency key (hidden from models, filled by the
    engine), when the system declares one."""
    remote_name: str = ""
    """The tool's name on the system (the local name may be prefixed or renamed)."""
    function: Callable[..., Any] = _no_function
    takes_ctx: bool = True
    args_model: type[BaseModel] = BaseModel
    result_adapter: TypeAdapter[Any] = field(default_factory=lambda: TypeAdapter(Any))
    _validator: Any = field(default=None, repr=False)
    _fingerprint: str = field(default="", repr=False)

    @property
    def parameters(self) -> dict[str, Any]:
        if not self._schema:
            schema = dict(self.input_schema)
            if self.key_param:
                properties = dict(schema.get("properties") or {})
                properties.pop(self.key_param, None)
                schema["properties"] = properties
                required = [r for r in schema.get("required") or [] if r != self.key_param]
                schema["required"] = required
            schema.setdefault("type", "object")
            self._schema = schema
        return self._schema

    @property
    def fingerprint(self) -> str | None:
        if not self._fingerprint:
            shape = {"in": self.input_schema, "out": self.output_schema}
            digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
            self._fingerprint = digest[:16]
        return self._fingerprint

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the input schema; return them as JSON data.

        Raises:
            ToolError: kind ``invalid_arguments``, with every problem listed.
        """
        try:
            data = json.loads(json.dumps(args))
        except (TypeError, ValueError) as exc:
            raise ToolError(self.name, "invalid_arguments", f"not JSON data: {exc}") from exc
        if self._validator is None:
            self._validator = _validator(self.parameters)
        problems = [
            f"{'.'.join(str(p) for p in error.absolute_path) or 'arguments'}: {error.message}"
            for error in self._validator.iter_errors(data)
        ]
        if problems:
            raise ToolError(self.name, "invalid_arguments", "; ".join(sorted(problems)))
        if not isinstance(data, dict):
            raise ToolError(self.name, "invalid_arguments", "arguments must be an object")
        return data

    def dump_result(self, value: Any) -> Any:
        """Results arrive as JSON data and are journaled as they came."""
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        return value

    def call_once(self, ctx: object | None, args: dict[str, Any], key: str | None) -> Any:
        return self.send(ctx, args, key)

    def failure(self, exc: Exception) -> ToolError:
        if isinstance(exc, Unreachable):
            return ToolError(self.name, "unavailable", f"the system could not be reached: {exc}")
        if isinstance(exc, Dropped) and self.effect == "write":
            return ToolError(
                self.name,
                "unknown_outcome",
                f"the connection broke before the answer ({exc}); the write may have taken "
                "effect, so it is not repeated; a human must check whether it did",
            )
        if isinstance(exc, Dropped | ConnectionError):
            return ToolError(self.name, "unavailable", f"the connection broke: {exc}")
        if isinstance(exc, RetryableToolError):
            return ToolError(self.name, "unavailable", f"the system is busy: {exc}")
        if isinstance(exc, BadResult):
            if self.effect == "write":
                return ToolError(
                    self.name,
                    "unknown_outcome",
                    f"the system's answer to a write is not valid ({exc}); a human must check "
                    "whether it took effect",
                )
            return ToolError(self.name, "bad_result", str(exc))
        return super().failure(exc)


def check_result(schema: dict[str, Any] | None, value: Any) -> Any:
    """``value`` if it fits the output ``schema`` (anything fits None).

    Raises:
        BadResult: it does not.
    """
    if schema is None:
        return value
    validator = _validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "result"
        raise BadResult(f"the result does not fit the output schema: {where}: {errors[0].message}")
    return value


_VALIDATORS: dict[str, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    """A compiled validator for ``schema`` (JSON Schema 2020-12 unless it says otherwise)."""
    key = json.dumps(schema, sort_keys=True)
    found = _VALIDATORS.get(key)
    if found is None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        found = _VALIDATORS[key] = cls(schema)
    return found
