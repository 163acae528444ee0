"""Calibrating a knowledge base on your own labelled questions: the answerability threshold,
whether dense cosines are centred, and whether FAQ entries match on the better of question and
body or on the body alone.

Centring (:attr:`~resolvekit.knowledge.fusion.Fusion.center`) removes the common direction of
sentence-embedding vectors. It helped on every StackFAQ split (many similar threads), but on a
knowledge base of a few short, generic entries it can make one of them the best match for
everything. Matching an FAQ entry on the better of its question's and its body's cosine
(:attr:`~resolvekit.knowledge.fusion.Fusion.best_of_two`) wins when the questions are written
the way customers ask (StackFAQ), but when they are short topic labels ("Card arrival") the
question's cosine can beat a better body for many queries (BANKING77 as an FAQ,
``tools/bench/bench_faq2.py``). Only the questions your customers ask can tell. :func:`calibrate`
ranks your answerable questions under each combination, keeps the one that ranks most of them
right first (on a tie: centring, then best of two, the defaults), then sets the lowest threshold
whose answered questions reach the target precision.
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
"""Fewer answerable questions than this cannot choose the ranking: the current one is kept."""


@dataclass(kw_only=True, frozen=True)
class Calibration:
    """What :meth:`KnowledgeBase.calibrate` measured and chose."""

    threshold: float
    center: bool
    """Whether dense cosines are centred from now on."""
    questions: int
    answerable: int
    """Questions with at least one expected document."""
    right_first: dict[tuple[bool, bool], int] = field(default_factory=dict)
    """For each ``(center, best_of_two)`` tried: answerable questions whose best hit was
    expected."""
    best_of_two: bool = True
    """Whether FAQ entries match on the better of question and body from now on
    (:attr:`Fusion.best_of_two`)."""


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
    choose_best_of_two: bool = True,
) -> Calibration:
    """Calibrate ``kb`` on ``(question, expected)`` pairs (see the module docstring): sets
    ``kb.fusion`` (its ``center`` and ``best_of_two``; ``choose_...=False`` keeps the current
    value) and ``kb.threshold``.

    Raises:
        UserError: no examples, or an expected value that is not a doc id, a list of doc ids or
            None.
    """
    pairs = [(question, expected_ids(expected)) for question, expected in examples]
    if not pairs:
        raise UserError("calibrate() needs at least one example")
    answerable = sum(1 for _, expected in pairs if expected)
    fusion = kb.fusion
    enough = answerable >= MIN_ANSWERABLE_TO_CHOOSE
    centers = [fusion.center]
    if choose_center and enough and not kb.embedder_name.startswith("hashing-"):
        centers = [True, False]
    best_of = [fusion.best_of_two]
    if choose_best_of_two and enough:
        best_of = [True, False]
    settings = [(center, best) for center in centers for best in best_of]
    measured: dict[tuple[bool, bool], tuple[list[float], list[bool]]] = {}
    for center, best_of_two in settings:
        kb.fusion = replace(fusion, center=center, best_of_two=best_of_two)
        scores: list[float] = []
        correct: list[bool] = []
        for question, expected in pairs:
            hits = kb.search(question, k=1, log_gaps=False)
            scores.append(hits[0].score if hits else 0.0)
            correct.append(bool(hits) and hits[0].doc_id in expected)
        measured[center, best_of_two] = (scores, correct)
    best = max(settings, key=lambda setting: (sum(measured[setting][1]), *setting))
    kb.fusion = replace(fusion, center=best[0], best_of_two=best[1])
    scores, correct = measured[best]
    threshold = calibrate_threshold(scores, correct, target_precision=target_precision)
    kb.threshold = threshold
    return Calibration(
        threshold=threshold,
        center=best[0],
        best_of_two=best[1],
        questions=len(pairs),
        answerable=answerable,
        right_first={setting: sum(measured[setting][1]) for setting in settings},
    )
