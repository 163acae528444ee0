"""Calibrating a knowledge base on your own labelled questions: the answerability threshold,
and whether dense cosines are centred.

Centring (:attr:`~resolvekit.knowledge.fusion.Fusion.center`) removes the common direction of
sentence-embedding vectors. It helped on every StackFAQ split (many similar threads), but on a
knowledge base of a few short, generic entries it can make one of them the best match for
everything; only the questions your customers ask can tell. :func:`calibrate` ranks your
answerable questions both ways, keeps the setting that ranks more of them right first (centring
on a tie), then sets the lowest threshold whose answered questions reach the target precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..exceptions import UserError
from .answers import Hit, calibrate_threshold
from .fusion import Fusion

__all__ = ["Calibration", "calibrate"]

MIN_ANSWERABLE_TO_CHOOSE = 5
"""Fewer answerable questions than this cannot choose centring: the current setting is kept."""


@dataclass(kw_only=True, frozen=True)
class Calibration:
    """What :meth:`KnowledgeBase.calibrate` measured and chose."""

    threshold: float
    center: bool
    """Whether dense cosines are centred from now on."""
    questions: int
    answerable: int
    """Questions with at least one expected document."""
    right_first: dict[bool, int] = field(default_factory=dict)
    """For each centring setting tried: answerable questions whose best hit was expected."""


class Searchable(Protocol):
    """What :func:`calibrate` needs of a knowledge base (a ``KnowledgeBase``)."""

    fusion: Fusion
    threshold: float

    @property
    def embedder_name(self) -> str: ...

    def search(self, query: str, k: int = ..., *, log_gaps: bool = ...) -> list[Hit]: ...


def expected_ids(expected: object) -> frozenset[str]:
    """The expected doc ids of a calibration example: one id, several, or none (``None``)."""
    if expected is None:
        return frozenset()
    if isinstance(expected, str):
        return frozenset((expected,))
    if isinstance(expected, Iterable):
        ids = list(expected)
        if all(isinstance(i, str) for i in ids):
            return frozenset(ids)
    raise UserError(
        f"a calibration example expects a doc id, a list of doc ids or None, not {expected!r}"
    )


def calibrate(
    kb: Searchable,
    examples: Iterable[tuple[str, object]],
    *,
    target_precision: float = 0.9,
    choose_center: bool = True,
) -> Calibration:
    """Calibrate ``kb`` on ``(question, expected)`` pairs (see the module docstring): sets
    ``kb.fusion`` (its ``center``) and ``kb.threshold``.

    Raises:
        UserError: no examples, or an expected value that is not a doc id, a list of doc ids or
            None.
    """
    pairs = [(question, expected_ids(expected)) for question, expected in examples]
    if not pairs:
        raise UserError("calibrate() needs at least one example")
    answerable = sum(1 for _, expected in pairs if expected)
    fusion = kb.fusion
    settings = [fusion.center]
    learned = not kb.embedder_name.startswith("hashing-")
    if choose_center and learned and answerable >= MIN_ANSWERABLE_TO_CHOOSE:
        settings = [True, False]
    measured: dict[bool, tuple[list[float], list[bool]]] = {}
    for center in settings:
        kb.fusion = replace(fusion, center=center)
        scores: list[float] = []
        correct: list[bool] = []
        for question, expected in pairs:
            hits = kb.search(question, k=1, log_gaps=False)
            scores.append(hits[0].score if hits else 0.0)
            correct.append(bool(hits) and hits[0].doc_id in expected)
        measured[center] = (scores, correct)
    best = max(settings, key=lambda center: (sum(measured[center][1]), center))
    kb.fusion = replace(fusion, center=best)
    scores, correct = measured[best]
    threshold = calibrate_threshold(scores, correct, target_precision=target_precision)
    kb.threshold = threshold
    return Calibration(
        threshold=threshold,
        center=best,
        questions=len(pairs),
        answerable=answerable,
        right_first={center: sum(measured[center][1]) for center in settings},
    )
