"""The reasoning model: one small interface over provider-neutral requests.

A :class:`Model` receives a :class:`ModelRequest` (the transcript, the agent's intents and tools,
what the agent is waiting for) and returns a :class:`ModelResponse` holding exactly one decision
from the closed set in :mod:`resolvekit.messages`, restricted to ``request.allowed``.

Models are named by string and resolved by :func:`infer_model`:

- ``"local"``: :class:`~resolvekit.models.local.LocalModel`, offline sentence embeddings.
- ``"test"``: ``LocalModel`` on the deterministic hashing embedder (no model download).
- ``"openai:<model>"`` or ``"openai:<model>@<base_url>"``: any OpenAI-compatible server.
"""

from __future__ import annotations

import difflib
import os
import sys
import types
from typing import Any

from ..exceptions import UserError
from ..specs import DecisionKind, IntentSpec, Passage, Pending, SlotKind, SlotSpec, ToolSpec
from . import base
from .base import Model, ModelRequest, ModelResponse, Signals, check_allow_model_requests

ALLOW_MODEL_REQUESTS = base.ALLOW_MODEL_REQUESTS
"""When false, models that talk to a network refuse to send requests (tests set this).

``resolvekit.models.ALLOW_MODEL_REQUESTS = False`` switches the flag the models read
(:data:`resolvekit.models.base.ALLOW_MODEL_REQUESTS`); the environment variable
``RESOLVEKIT_ALLOW_MODEL_REQUESTS=0`` sets it at start-up."""


class _ModelsPackage(types.ModuleType):
    """Forwards assignments of ``ALLOW_MODEL_REQUESTS`` to :mod:`resolvekit.models.base`,
    so the documented switch works although the flag lives below this package."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "ALLOW_MODEL_REQUESTS":
            base.ALLOW_MODEL_REQUESTS = value
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ModelsPackage

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "DecisionKind",
    "IntentSpec",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "Passage",
    "Pending",
    "Signals",
    "SlotKind",
    "SlotSpec",
    "ToolSpec",
    "check_allow_model_requests",
    "infer_model",
]

_NAMED = ("local", "test", "openai")


def infer_model(model: Model | str | None) -> Model:
    """Resolve a model instance or name.

    Args:
        model: a :class:`Model`; ``"local"``; ``"test"``; ``"openai:<model>[@<base_url>]"``;
            or None to read ``RESOLVEKIT_MODEL`` (default ``"local"``).

    Raises:
        UserError: the name is not known (with a "did you mean" suggestion).
    """
    if isinstance(model, Model):
        return model
    if model is None:
        model = os.environ.get("RESOLVEKIT_MODEL", "local")
    if not isinstance(model, str):
        raise UserError(f"model must be a Model or a name, not {type(model).__name__}")
    provider, _, rest = model.partition(":")
    if provider == "local" and not rest:
        from .local import LocalModel

        return LocalModel()
    if provider == "test" and not rest:
        from .local import LocalModel

        return LocalModel.for_tests()
    if provider == "openai":
        from .openai import OpenAIModel

        return OpenAIModel.from_name(rest)
    guess = difflib.get_close_matches(provider, _NAMED, n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    raise UserError(
        f"Unknown model {model!r}: use 'local', 'test', 'openai:<model>' or a Model instance{hint}"
    )
