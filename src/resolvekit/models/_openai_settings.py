"""OpenAISettings: how :class:`~resolvekit.models.openai.OpenAIModel` talks to its server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..exceptions import UserError
from ._pricing import Price
from ._prompt import PromptBudget

__all__ = ["OpenAISettings"]


@dataclass(kw_only=True)
class OpenAISettings:
    """How :class:`~resolvekit.models.openai.OpenAIModel` talks to the server."""

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
    prices: Mapping[str, Price] = field(default_factory=dict)
    """Your own per-1M-token prices by model name (a dated name such as
    ``gpt-4.1-mini-2025-04-14`` uses the longest key it extends); they win over the
    ``genai-prices`` catalogue. A model priced by neither costs 0."""
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
