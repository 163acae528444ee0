"""What an embedder is (the protocol every embedder satisfies) and the input check they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..exceptions import UserError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Embedder", "check_texts"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    @property
    def name(self) -> str:
        """Identifies the model and version; stored with indexes to detect mismatches."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into a ``(len(texts), dim)`` float32 matrix of unit rows."""
        ...


def check_texts(texts: Sequence[str]) -> None:
    """Reject input that is not a sequence of strings.

    Raises:
        UserError: ``texts`` is a single string (a common slip that would embed each character) or
            holds something other than a string.
    """
    if isinstance(texts, str | bytes):
        raise UserError("embed() takes a sequence of texts, not a single string: wrap it in a list")
    for text in texts:
        if not isinstance(text, str):
            raise UserError(f"embed() takes strings, got {type(text).__name__}: {text!r:.60}")
