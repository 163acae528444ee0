"""LocalModel's visible settings and its fit report.

:class:`FitSettings` holds what a developer may set on :class:`~resolvekit.models.local.LocalModel`
(the out-of-scope and confirmation thresholds, negative examples, a validation set, masking),
checked when set. :class:`LocalFitReport` is what ``LocalModel.fit_report(intents)`` and
``resolvekit fit-report module:agent`` show: held-out accuracy per intent, the top confusions,
out-of-scope recall and in-scope rejections at the threshold in force, how the threshold was
chosen, and warnings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, cast, overload

from ..exceptions import UserError

if TYPE_CHECKING:
    from ..understanding.classifier import FitReport, IntentClassifier

__all__ = [
    "CONFIDENT",
    "FEW_EXAMPLES",
    "IN_SCOPE_LOSS",
    "Confusion",
    "FitSettings",
    "IntentScore",
    "LocalFitReport",
    "Setting",
    "build_report",
    "choose_threshold",
    "format_report",
    "print_report",
]

CONFIDENT = 0.9
"""Default ``confident_threshold``: at this calibrated confidence the label is right about 90%
of the time, so the out-of-scope gate does not overrule it."""
IN_SCOPE_LOSS = 0.01
"""Default ``in_scope_loss``: the out-of-scope gate may cost 1% of the right answers."""
FEW_EXAMPLES = 10
"""Intents with fewer examples than this get a warning (see the curves in docs/models.md)."""
_COLLIDE = 0.25
"""A pair of intents collides when this share of one's held-out messages is taken for the other."""


def _fraction(name: str, value: float | None, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UserError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


@dataclass(kw_only=True, frozen=True)
class FitSettings:
    """LocalModel's settings that shape its intent classifier (see its constructor)."""

    oos_threshold: float | None = None
    """In-scope score below which a message is out of scope; ``None``: the fit's choice."""
    confirm_threshold: float | None = None
    """Confidence below which an intent is confirmed instead of started; ``None``: the engine's
    ``EscalationPolicy.confidence_floor``."""
    confident_threshold: float | None = CONFIDENT
    """Confidence at or above which the out-of-scope gate never sends an intent away
    (``None``: the gate alone decides)."""

    def confident(self, confidence: float) -> bool:
        """Whether ``confidence`` reaches ``confident_threshold``."""
        return self.confident_threshold is not None and confidence >= self.confident_threshold

    negative_examples: tuple[str, ...] = ()
    """Off-topic messages of the domain, trained as out of scope."""
    validation: tuple[tuple[str, str | None], ...] = ()
    """Held-out ``(message, intent or None)`` pairs to calibrate and choose the threshold on."""
    mask: bool = True
    """Mask ids, numbers, postcodes, emails and phones before classifying."""
    in_scope_loss: float = IN_SCOPE_LOSS
    """When the fit chooses the threshold: the share of held-out in-scope messages, labelled
    right, that it may send away (the highest threshold within it is taken)."""
    typos: bool = True
    """Read typos and chat shorthand where the message is not understood as written (not part
    of the fit)."""
    known_words: tuple[str, ...] = ()
    """Domain words beyond the intents' own, for typo correction (not part of the fit)."""

    def __post_init__(self) -> None:
        # Any sequences given are kept as tuples (the settings are hashed into the fit key).
        object.__setattr__(self, "negative_examples", tuple(self.negative_examples))
        given: object = self.known_words
        if isinstance(given, str):
            raise UserError("known_words must be a list of words, not one string")
        object.__setattr__(self, "known_words", tuple(self.known_words))
        object.__setattr__(
            self,
            "validation",
            tuple(p if isinstance(p, str) else tuple(p) for p in self.validation),
        )
        threshold = self.oos_threshold
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or math.isnan(threshold)
        ):
            raise UserError(f"oos_threshold must be a number or None, got {threshold!r}")
        _fraction("confirm_threshold", self.confirm_threshold)
        _fraction("confident_threshold", self.confident_threshold)
        _fraction("in_scope_loss", self.in_scope_loss, optional=False)
        if not isinstance(self.typos, bool):
            raise UserError(f"typos must be True or False, got {self.typos!r}")
        for word in self.known_words:
            if not isinstance(word, str) or not word.strip():
                raise UserError(f"known_words must be non-empty strings, got {word!r}")
        for text in self.negative_examples:
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"negative_examples must be non-empty strings, got {text!r}")
        for pair in self.validation:
            if (
                not isinstance(pair, tuple | list)
                or len(pair) != 2
                or not isinstance(pair[0], str)
                or not pair[0].strip()
                or not (pair[1] is None or (isinstance(pair[1], str) and pair[1]))
            ):
                raise UserError(
                    f"validation must hold (message, intent name or None) pairs, got {pair!r}"
                )

    def replace(self, **changes: Any) -> FitSettings:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)

    def fit_key(self, intents_key: str) -> str:
        """What the classifier depends on: the intents' training data plus these settings (the
        thresholds apply at prediction time and are left out)."""
        parts = repr(
            (intents_key, self.negative_examples, self.validation, self.mask, self.in_scope_loss)
        )
        return hashlib.sha256(parts.encode()).hexdigest()

    def check_validation(self, intents: set[str]) -> None:
        """Raise when a validation pair names an intent the agent does not have."""
        unknown = sorted({v for _, v in self.validation if v is not None and v not in intents})
        if unknown:
            raise UserError(
                f"validation names intents the agent does not have: {', '.join(unknown[:5])}"
            )


_V = TypeVar("_V")


class _Owner(Protocol):
    settings: FitSettings


class Setting(Generic[_V]):
    """A LocalModel attribute kept in its :class:`FitSettings`: read from them, and set through
    :meth:`FitSettings.replace`, so a bad value is a ``UserError`` and changes nothing."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Setting[_V]: ...
    @overload
    def __get__(self, obj: _Owner, owner: type) -> _V: ...
    def __get__(self, obj: _Owner | None, owner: type) -> Setting[_V] | _V:
        if obj is None:
            return self
        return cast("_V", getattr(obj.settings, self.name))

    def __set__(self, obj: _Owner, value: _V) -> None:
        obj.settings = obj.settings.replace(**{self.name: value})


@dataclass(kw_only=True, frozen=True)
class IntentScore:
    """One intent's line of the fit report."""

    intent: str
    examples: int
    """Training phrases (examples, plus its name and description)."""
    heldout: int
    """Held-out messages of this intent the figures are measured on."""
    accuracy: float
    """Share of them whose top intent was this one (``nan`` without held-out messages)."""
    accepted: float
    """Share of them taken in scope *and* labelled right at the threshold in force."""


@dataclass(kw_only=True, frozen=True)
class Confusion:
    """Held-out messages of ``intent`` taken for ``predicted``."""

    intent: str
    predicted: str
    count: int
    share: float
    """``count`` over the intent's held-out messages."""


@dataclass(kw_only=True, frozen=True)
class LocalFitReport:
    """How LocalModel's classifier does on held-out messages (``LocalModel.fit_report``)."""

    intents: tuple[IntentScore, ...]
    """Per intent, worst first."""
    confusions: tuple[Confusion, ...]
    """The most frequent mistakes, largest first (at most 10)."""
    accuracy: float
    """Top-1 accuracy on all held-out in-scope messages."""
    in_scope_accuracy: float
    """Held-out in-scope messages accepted and labelled right at the threshold in force."""
    in_scope_rejected: float
    """Held-out in-scope messages the out-of-scope gate sends away at the threshold in force."""
    oos_recall: float
    """Held-out out-of-scope messages rejected at the threshold in force (``nan``: none)."""
    oos_messages: int
    """Held-out out-of-scope messages (cross-validation: whole intents held out, plus held-out
    negative examples)."""
    threshold: float
    """The out-of-scope threshold in force."""
    threshold_source: Literal["set", "validation", "cross-validation", "none"]
    """``set`` by you, chosen on your ``validation`` set, or by cross-validation."""
    threshold_rule: str
    """How the threshold was chosen, in words."""
    confident_threshold: float | None
    confirm_threshold: float | None
    block_weight: float | None
    """Weight of the embedder's lower-layer block the fit chose (0: off)."""
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``nan`` and infinities as ``None``)."""
        from pydantic import TypeAdapter

        data: dict[str, Any] = _finite(TypeAdapter(LocalFitReport).dump_python(self, mode="json"))
        return data


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class _View(Protocol):
    texts: list[str]
    labels: list[str]


def choose_threshold(fit: FitReport, settings: FitSettings) -> float:
    """The out-of-scope threshold LocalModel uses when none is set: the highest one that sends
    away at most ``in_scope_loss`` of the held-out in-scope messages the classifier labelled
    right (messages at ``confident_threshold`` or above are never sent away). The classifier's
    own choice (in-scope accuracy + out-of-scope recall) cost 4-5% of right answers in the
    agent; this rule puts the agent within a point of the classifier and leaves the
    out-of-domain and described off-topic messages to the threshold and the negative examples
    (docs/models.md). Without held-out messages: the classifier's threshold."""
    gated = sorted(
        score
        for score, confidence, true, predicted in zip(
            fit.heldout_scores,
            fit.heldout_confidence,
            fit.heldout_true,
            fit.heldout_predicted,
            strict=False,
        )
        if true == predicted and not settings.confident(confidence)
    )
    if not fit.heldout_scores or not fit.heldout_oos_scores:
        return fit.threshold
    allowed = int(settings.in_scope_loss * len(fit.heldout_scores))
    if allowed >= len(gated):
        return max(gated, default=fit.threshold) + 1e-6
    # Below the (allowed + 1)-th lowest right score: at most ``allowed`` of them fall under it.
    below = gated[allowed - 1] if allowed > 0 else gated[0] - 1.0
    return (below + gated[allowed]) / 2 if allowed > 0 else gated[0] - 1e-6


def build_report(
    classifier: IntentClassifier, view: _View, settings: FitSettings, threshold: float
) -> LocalFitReport:
    """The report of a fitted classifier at ``threshold`` and the settings' other thresholds."""
    fit = classifier.report
    if fit is None:
        raise UserError("The intent classifier is not fitted")
    classes = classifier.classes

    def accepted(score: float, confidence: float) -> bool:
        return score >= threshold or settings.confident(confidence)

    true, predicted = fit.heldout_true, fit.heldout_predicted
    taken = [
        accepted(s, c) for s, c in zip(fit.heldout_scores, fit.heldout_confidence, strict=True)
    ]
    if len(taken) != len(true):  # no out-of-scope side: nothing is rejected
        taken = [True] * len(true)
    examples = Counter(view.labels)
    per: dict[int, list[tuple[bool, bool]]] = {}
    for t, p, ok in zip(true, predicted, taken, strict=True):
        per.setdefault(t, []).append((t == p, ok and t == p))
    nan = float("nan")
    scores = sorted(
        (
            IntentScore(
                intent=name,
                examples=examples[name],
                heldout=len(per.get(i, [])),
                accuracy=_mean([r for r, _ in per.get(i, [])]),
                accepted=_mean([a for _, a in per.get(i, [])]),
            )
            for i, name in enumerate(classes)
        ),
        key=lambda s: (s.accuracy if s.heldout else -1.0, s.intent),
    )
    pairs = Counter((t, p) for t, p in zip(true, predicted, strict=True) if t != p)
    confusions = tuple(
        Confusion(
            intent=classes[t],
            predicted=classes[p],
            count=n,
            share=n / max(len(per.get(t, [])), 1),
        )
        for (t, p), n in pairs.most_common(10)
    )
    oos = [
        not accepted(s, c)
        for s, c in zip(fit.heldout_oos_scores, fit.heldout_oos_confidence, strict=True)
    ]
    source: Literal["set", "validation", "cross-validation", "none"] = (
        "set" if settings.oos_threshold is not None else fit.threshold_source
    )
    return LocalFitReport(
        intents=tuple(scores),
        confusions=confusions,
        accuracy=_mean([t == p for t, p in zip(true, predicted, strict=True)]),
        in_scope_accuracy=_mean(
            [ok and t == p for t, p, ok in zip(true, predicted, taken, strict=True)]
        ),
        in_scope_rejected=_mean([not ok for ok in taken]),
        oos_recall=_mean(oos) if oos else nan,
        oos_messages=len(oos),
        threshold=threshold,
        threshold_source=source,
        threshold_rule=(
            "set by you (LocalModel(oos_threshold=...))"
            if source == "set"
            else "none: no held-out out-of-scope messages"
            if source == "none"
            else f"the highest sending away at most {settings.in_scope_loss:.1%} of the held-out "
            f"in-scope messages labelled right ({source})"
        ),
        confident_threshold=settings.confident_threshold,
        confirm_threshold=settings.confirm_threshold,
        block_weight=fit.block_weight,
        warnings=_warnings(scores, confusions, source),
    )


def _mean(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _warnings(
    scores: Sequence[IntentScore], confusions: Sequence[Confusion], source: str
) -> tuple[str, ...]:
    out: list[str] = []
    few = [s for s in scores if s.examples < FEW_EXAMPLES]
    if few:
        names = ", ".join(f"{s.intent} ({s.examples})" for s in few[:8])
        more = f" and {len(few) - 8} more" if len(few) > 8 else ""
        out.append(
            f"{len(few)} intent(s) have fewer than {FEW_EXAMPLES} examples: {names}{more}; "
            "accuracy grows with examples up to ~40 per intent (docs/models.md)"
        )
    for c in confusions:
        if c.share >= _COLLIDE and c.count >= 2:
            out.append(
                f"{c.intent} collides with {c.predicted}: {c.count} of its held-out messages "
                f"({c.share:.0%}) were taken for it; add examples that tell them apart or merge "
                "them"
            )
    if source == "none":
        out.append(
            "the out-of-scope threshold could not be chosen (no held-out out-of-scope "
            "messages): every message is in scope; add negative_examples or a validation set"
        )
    return tuple(out)


def format_report(report: LocalFitReport) -> str:
    """The report as plain text (the CLI prints a rich table instead when rich is installed)."""
    floor = report.confirm_threshold
    lines = [
        f"held-out top-1 accuracy {report.accuracy:.1%}; accepted and right "
        f"{report.in_scope_accuracy:.1%}; in-scope rejected {report.in_scope_rejected:.1%}",
        f"out-of-scope recall {report.oos_recall:.1%} of {report.oos_messages} held-out "
        f"messages; threshold {report.threshold:.3f}: {report.threshold_rule}",
        f"confident (never sent away) at {report.confident_threshold}; confirmed below "
        f"{floor if floor is not None else 'the engine floor'}",
        "",
        f"{'intent':<40} {'examples':>8} {'held-out':>8} {'accuracy':>8} {'accepted':>8}",
    ]
    for s in report.intents:
        lines.append(
            f"{s.intent[:40]:<40} {s.examples:>8} {s.heldout:>8} {s.accuracy:>8.1%} "
            f"{s.accepted:>8.1%}"
        )
    if report.confusions:
        lines += ["", "top confusions:"]
        lines += [
            f"  {c.intent} -> {c.predicted}: {c.count} ({c.share:.0%})" for c in report.confusions
        ]
    if report.warnings:
        lines += ["", "warnings:"] + [f"  - {w}" for w in report.warnings]
    return "\n".join(lines)


def print_report(report: LocalFitReport) -> None:
    """Print the report: rich tables when ``rich`` is installed, else :func:`format_report`."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(format_report(report))
        return
    head = format_report(report).partition("\n\n")[0]
    console = Console()
    console.print(head)
    table = Table("intent", "examples", "held-out", "accuracy", "accepted", title="per intent")
    for s in report.intents:
        table.add_row(
            s.intent, str(s.examples), str(s.heldout), f"{s.accuracy:.1%}", f"{s.accepted:.1%}"
        )
    console.print(table)
    if report.confusions:
        confusions = Table("intent", "taken for", "messages", "share", title="top confusions")
        for c in report.confusions:
            confusions.add_row(c.intent, c.predicted, str(c.count), f"{c.share:.0%}")
        console.print(confusions)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
