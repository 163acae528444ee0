"""ScriptedModel: a queue of decisions played back in order (for tests)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from ..exceptions import UnexpectedModelBehavior
from .base import Model, ModelRequest, ModelResponse
from .function import as_response

__all__ = ["ScriptedModel"]

Step = Any
"""A decision, a dict, a :class:`ModelResponse`, or ``callable(request) -> one of those``."""


class ScriptedModel(Model):
    """Answers each request with the next scripted step.

    A request after the script is used up raises :class:`UnexpectedModelBehavior` naming it;
    leaving the ``with`` block (or calling :meth:`assert_done`) with steps unused raises too, so a
    test notices when the engine asked the model less often than expected.

    Example:
        >>> from resolvekit.messages import StartIntent, Confirm
        >>> model = ScriptedModel([StartIntent(intent="CancelOrder"), Confirm(answer="yes")])
    """

    def __init__(self, steps: Iterable[Step], *, name: str = "scripted") -> None:
        self._steps: deque[Step] = deque(steps)
        self.name = name
        self.requests: list[ModelRequest] = []

    @property
    def remaining(self) -> int:
        return len(self._steps)

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if not self._steps:
            raise UnexpectedModelBehavior(
                f"ScriptedModel has no step left for request #{len(self.requests)} "
                f"(task={request.task!r}, customer said {request.text!r})"
            )
        step = self._steps.popleft()
        if isinstance(step, Callable):  # type: ignore[arg-type]
            step = step(request)
        return as_response(step, self.name)

    def assert_done(self) -> None:
        """Raise if scripted steps were never requested."""
        if self._steps:
            raise UnexpectedModelBehavior(
                f"ScriptedModel finished with {len(self._steps)} unused step(s): "
                f"{list(self._steps)!r}"[:500]
            )

    def __enter__(self) -> ScriptedModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.assert_done()
