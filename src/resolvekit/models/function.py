"""FunctionModel: a Python function plays the model (for tests and custom rules)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..messages import decision_adapter
from .base import Model, ModelRequest, ModelResponse

__all__ = ["FunctionModel"]

DecisionFunction = Callable[[ModelRequest], Any]
"""``function(request)`` returning a ModelResponse, a decision or a dict (or awaiting one)."""


class FunctionModel(Model):
    """A model whose decisions come from ``function(request)``.

    The function may be sync or async and may return a :class:`ModelResponse`, a bare decision
    (confidence 1.0), or a plain dict that validates as a decision (``{"kind": "reply", ...}``).
    Every request is kept in :attr:`requests` for assertions.

    Example:
        >>> from resolvekit.messages import Reply
        >>> model = FunctionModel(lambda request: Reply(text="hi"))
    """

    def __init__(self, function: DecisionFunction, *, name: str = "function") -> None:
        self.function = function
        self.name = name
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        result = self.function(request)
        if inspect.isawaitable(result):
            result = await result
        return as_response(result, self.name)


def as_response(result: Any, model_name: str) -> ModelResponse:
    """Normalise what a test double returned into a :class:`ModelResponse`."""
    if isinstance(result, ModelResponse):
        return result
    if isinstance(result, dict):
        result = decision_adapter.validate_python(result)
    return ModelResponse(decision=result, confidence=1.0, model_name=model_name)
