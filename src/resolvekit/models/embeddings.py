"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (a remote model).

It satisfies :class:`resolvekit.understanding.embedders.Embedder`, so a knowledge base or the
intent classifier can use it like the local sentence model. ``openai`` is imported on first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import ModelError, ModelHTTPError, ModelTimeout, UserError
from ..understanding.embedders import check_texts
from .base import check_allow_model_requests

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import openai

__all__ = ["OpenAIEmbedder"]


_OPENAI_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Args:
        model: the embedding model's name on the server.
        client: an ``openai.OpenAI`` client (inject one for tests or custom transports); by default
            one is built from ``base_url``/``api_key`` or the usual ``OPENAI_*`` environment.
        base_url: server URL, e.g. ``http://localhost:11434/v1`` for Ollama.
        api_key: API key; the client reads ``OPENAI_API_KEY`` when omitted.
        dimensions: ask the server for shorter vectors (text-embedding-3 models).
        batch_size: texts per request.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        client: openai.OpenAI | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
    ) -> None:
        if batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {batch_size}")
        if client is not None and (base_url or api_key):
            raise UserError("Pass either client or base_url/api_key to OpenAIEmbedder, not both")
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._client = client
        self._base_url = base_url
        self._api_key = api_key
        self._dim: int | None = dimensions or _OPENAI_DIMS.get(model)

    @property
    def client(self) -> openai.OpenAI:
        """The OpenAI client, built on first use."""
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise UserError(
                    "OpenAIEmbedder needs openai: pip install 'resolvekit[openai]'"
                ) from exc
            self._client = openai.OpenAI(base_url=self._base_url, api_key=self._api_key)
        return self._client

    @property
    def name(self) -> str:
        """``openai:<model>[:<dimensions>][@<host>]``; the host is omitted for api.openai.com."""
        name = f"openai:{self.model}"
        if self.dimensions:
            name += f":{self.dimensions}"
        base = str(self._client.base_url) if self._client is not None else (self._base_url or "")
        host = re.sub(r"^https?://", "", base).rstrip("/")
        if host and not host.startswith("api.openai.com"):
            name += f"@{host}"
        return name

    @property
    def dim(self) -> int:
        """Vector length; for an unknown model, learnt from one probe request."""
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` in batches of ``batch_size`` requests.

        Raises:
            ModelHTTPError: the server answered with an error status.
            ModelTimeout: the server did not answer in time.
            ModelError: the connection failed or the answer was malformed.
        """
        import numpy as np

        check_texts(texts)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        check_allow_model_requests()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            # Servers reject empty input; a space embeds as "nothing said".
            batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
            rows.extend(self._request(batch))
        out = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: npt.NDArray[np.float32] = (out / norms).astype(np.float32)
        self._dim = int(unit.shape[1])
        return unit

    def _request(self, batch: list[str]) -> list[list[float]]:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "input": batch}
        if self.dimensions:
            kwargs["dimensions"] = self.dimensions
        try:
            response = self.client.embeddings.create(**kwargs)
        except openai.APIStatusError as exc:
            raise ModelHTTPError(exc.status_code, exc.body, self.model) from exc
        except openai.APITimeoutError as exc:
            raise ModelTimeout(f"Embedding model {self.model} timed out") from exc
        except openai.APIError as exc:
            raise ModelError(f"Embedding request to {self.model} failed: {exc}") from exc
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(batch):
            raise ModelError(
                f"Embedding model {self.model} returned {len(data)} vectors for {len(batch)} texts"
            )
        return [list(item.embedding) for item in data]
