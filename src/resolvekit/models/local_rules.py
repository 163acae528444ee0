"""LocalModel's decision rules: an ordered list of named rules, each looking at one message and
either deciding or passing to the next.

``LocalModel().rules`` lists them in order; ``LocalModel(rules=...)`` replaces the list (add your
own :class:`Rule` before or after the defaults, or drop one). A rule gets a :class:`LocalTurn`
(the request, the customer's text, signals and the building blocks of
:class:`~resolvekit.models.local.LocalModel`) and returns a
:class:`~resolvekit.models.base.ModelResponse` or None. The default rules, in order:

========================  ==========================================================================
rule                      decides
========================  ==========================================================================
``human_request``         "talk to a human" (also "lemme tlak 2 sum1", read with typos) -> escalate
``confirmation``          a pending yes/no question: a slot correction, a question (to the knowledge
                          base), a clear yes or no (read by ``read_consent``), unsure, or the old
                          question's value to "Shall we go back...?"
``free_text_answer``      a playbook's free-text ``ctx.ask``: the customer's words, whole, unless
                          they turn away (a question or request read confidently as another
                          intent starts it; a general question: the knowledge base first, the
                          words as the answer when it cannot)
``bare_yes_to_text``      a bare "yes" to a text slot question: ask it again
``slot_answer``           a pending slot or ask: the value; a question (knowledge first); a topic
                          switch; partial corrections
``small_talk``            greetings, thanks, goodbyes
``dont_know``             "I don't know" to a slot question: a kind re-ask
``raw_slot_answer``       a pending slot or ask, nothing recognised: the words, for the engine to
                          validate
``offered_choice``        "the second one" after "did you mean A or B?"
``bare_yes_no``           a lone "yes"/"no thanks" with nothing open
``correction_redo``       "actually, make it annual" right after a request was resolved
``no_intents``            an agent without intents: the knowledge base
``classify``              the intent classifier (a message out of scope or unsure is read again
                          with its typos corrected: :func:`second_look`): out of scope
                          (knowledge; a still likely intent as the fallback), several requests
                          in one message, an information question (knowledge first, the intent
                          as the fallback), or the intent with the slots found in the message
========================  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..messages import (
    AnswerFromKnowledge,
    AskClarification,
    Confirm,
    Decision,
    Escalate,
    FillSlots,
    Reply,
    StartIntent,
)
from ..specs import IntentSpec, Pending, SlotSpec
from .base import ModelRequest, ModelResponse, Signals

if TYPE_CHECKING:
    from ..understanding.typos import Respelling

__all__ = ["DEFAULT_RULES", "LocalTurn", "Prediction", "Rule", "Understanding"]


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


SWITCH_CONFIDENCE = 0.6
"""How sure the classifier must be to read an answer to a pending question as a new request."""
LIKELY_INTENT = 0.5
"""An intent the out-of-scope detector rejects still starts, when the knowledge base cannot
answer, if its calibrated confidence is at least this (more likely right than not)."""
SECOND_LOOK = 0.9
"""Below this confidence (or out of scope) the classifier also reads the message with its typos
corrected (:func:`second_look`)."""
TYPO_CONFIDENCE = 0.9
"""The corrected reading replaces the first only in scope and at this confidence or more (the
default ``confident_threshold``). Chosen on the dev split of ``tools/bench/bench_typos.py``:
0.7 read 1.2-1.7 more points of noisy messages right but let 1.0-3.6 points more noisy
out-of-scope messages in, 0.9 0.2-1.2 (docs/models.md, "Typos and shorthand")."""

_DONT_KNOW = "No problem. If you can't find it, I can pass you to a colleague; just ask."
"""Said before the question again when the customer does not know a slot's value."""
_NO_NAME = "Sorry, I didn't catch the name."
_WHICH = "I want to make sure I help with the right thing."
"""Said before "Did you mean A or B?" when the intent is below ``confirm_threshold``."""
"""Said before a name question again when the answer held no name."""


@dataclass(kw_only=True, frozen=True)
class Prediction:
    """The intent classifier's reading of a text."""

    label: str
    confidence: float
    ranking: list[tuple[str, float]]
    """The best intents with their probabilities, best first."""
    in_scope: bool


class Understanding(Protocol):
    """The building blocks rules use (:class:`~resolvekit.models.local.LocalModel` has them)."""

    name: str

    def fill(
        self, text: str, wanted: SlotSpec, active: IntentSpec | None, request: ModelRequest
    ) -> dict[str, Any] | None:
        """The pending slot's value, and corrections of the active intent's other slots."""
        ...

    def corrections(
        self, text: str, active: IntentSpec, request: ModelRequest
    ) -> dict[str, Any]: ...

    def prefill(self, text: str, spec: IntentSpec) -> dict[str, Any]: ...

    def switch(self, text: str, request: ModelRequest) -> StartIntent | None: ...

    def offered_pick(self, text: str, request: ModelRequest) -> str | None: ...

    def classify(self, text: str, intents: Sequence[IntentSpec]) -> Prediction: ...

    def several(
        self, text: str, intents: Sequence[IntentSpec]
    ) -> list[tuple[StartIntent, float]]: ...

    def redo(self, text: str, request: ModelRequest) -> StartIntent | None: ...


@dataclass(kw_only=True)
class LocalTurn:
    """What a rule sees about one message."""

    model: Understanding
    request: ModelRequest
    text: str
    """The customer's latest message."""
    signals: Signals
    """A request for a person, the sentiment."""
    knowledge_first: bool
    """The message is a general information question the knowledge base should try first."""
    pending: Pending | None = None
    active: IntentSpec | None = None
    """The intent whose playbook is under way, if any."""
    memo: dict[str, Any] = field(default_factory=dict)
    """Results a rule computed for the ones after it (a slot fill, a switch)."""
    respelled: Respelling | None = None
    """The message with typos and shorthand corrected (None: nothing to correct, or the
    model reads messages only as written); rules use it where the text as written fails."""

    def respond(
        self,
        decision: Decision,
        confidence: float | None = 1.0,
        alternatives: list[tuple[str, float]] | None = None,
    ) -> ModelResponse:
        """A response carrying this message's signals."""
        return ModelResponse(
            decision=decision,
            confidence=confidence,
            alternatives=alternatives or [],
            signals=self.signals,
            model_name=self.model.name,
        )

    def intent(self, name: str | None) -> IntentSpec | None:
        """The spec of intent ``name``, if it is one of the request's."""
        return next((s for s in self.request.intents if s.name == name), None) if name else None


@dataclass(frozen=True)
class Rule:
    """One named step of LocalModel's decision: ``decide(turn)`` returns a response or None."""

    name: str
    decide: Callable[[LocalTurn], ModelResponse | None]

    @property
    def description(self) -> str:
        """The first line of the rule function's docstring."""
        return (self.decide.__doc__ or "").strip().splitlines()[0] if self.decide.__doc__ else ""


def human_request(turn: LocalTurn) -> ModelResponse | None:
    """A request for a person ("talk to a human") -> escalate."""
    if turn.signals.human_request:
        return turn.respond(Escalate(reason="customer asked for a human"))
    return None


def confirmation(turn: LocalTurn) -> ModelResponse | None:
    """A pending yes/no question: corrections, questions, a clear yes or no, or unsure."""
    from ..understanding.consent import read_consent
    from ..understanding.extract import detect_correction

    pending, text = turn.pending, turn.text
    if pending is None or pending.kind not in ("confirm", "resume"):
        return None
    reading = read_consent(text, pending.question)
    active = turn.active
    corrected = turn.model.corrections(text, active, turn.request) if active else {}
    if corrected and (detect_correction(text) or reading.answer != "yes"):
        return turn.respond(FillSlots(slots=corrected))
    switch = None
    if reading.answer in ("question", "unclear") and (
        text.rstrip().endswith("?") or _TURNS_AWAY.match(text)
    ):
        # "actually, what's my balance?" instead of a yes or no: another request, if the
        # classifier is sure of it. Never a yes: the question stays open.
        switch = turn.model.switch(text, turn.request)
    if reading.answer == "question" or (pending.kind == "confirm" and turn.knowledge_first):
        # "What's the change fee?" before saying yes: answer it, then the engine asks the
        # confirmation again (or, if the knowledge base cannot, starts the other request).
        return turn.respond(AnswerFromKnowledge(query=text, otherwise=switch))
    if switch is not None:
        return turn.respond(switch, SWITCH_CONFIDENCE)
    if reading.answer in ("yes", "no"):
        return turn.respond(Confirm(answer="yes" if reading.answer == "yes" else "no"))
    if reading.reason != "no consent cue":
        # A hedge, a condition, a pause or words beyond a yes: ask again.
        return turn.respond(Confirm(answer="unsure"))
    if pending.kind == "resume" and pending.slot is not None:
        # Answering the old question is a yes: "Shall we go back to your plan change?" - "team".
        owner = turn.intent(pending.intent)
        filled = turn.model.fill(text, pending.slot, owner, turn.request)
        if filled is not None and pending.slot.name in filled:
            return turn.respond(FillSlots(slots=filled))
    return None


_TURNS_AWAY = re.compile(
    r"^\s*(?:actually|wait|instead|never ?mind|forget (?:it|that|about)|hold on|"
    r"(?:can|could|would) (?:you|i|we)|i (?:want|wanna|need|would like|'d like) to|"
    r"i'd rather|how (?:do|can|long|much|many)|what|when|where|why|which|who|is there|"
    r"are there|do (?:you|i)|does)\b",
    re.IGNORECASE,
)


def free_text_answer(turn: LocalTurn) -> ModelResponse | None:
    """A playbook's own free-text question: it gets the customer's words whole, unless they
    turn away from it: a question or a new request ("is there an outage near S11 8HW?",
    "actually, can I check my bill?") that the classifier confidently reads as another intent
    starts that intent (the question stays open, as for any slot); an information question
    goes to the knowledge base first. Plain statements are always the answer."""
    from ..understanding.extract import is_free_text

    pending = turn.pending
    if (
        pending is None
        or pending.kind != "ask"
        or pending.slot is None
        or not is_free_text(pending.slot)
    ):
        return None
    text = turn.text.strip()
    if text.endswith("?") or _TURNS_AWAY.match(text):
        switch = turn.model.switch(text, turn.request)
        if switch is not None:
            return turn.respond(switch, SWITCH_CONFIDENCE)
    words = FillSlots(slots={pending.slot.name: text})
    if turn.knowledge_first:
        # "Which charge is it?" - "how long does a dispute take?": a general question is
        # answered from the knowledge base and the question asked again; only when the
        # knowledge base cannot answer it are the words the answer.
        return turn.respond(AnswerFromKnowledge(query=text, otherwise=words))
    return turn.respond(words)


def bare_yes_to_text(turn: LocalTurn) -> ModelResponse | None:
    """A bare "yes" is not a name or a reason: ask the question again."""
    pending = turn.pending
    if (
        pending is not None
        and pending.kind == "slot"
        and pending.slot is not None
        and pending.slot.kind == "text"
        and is_bare(turn.text)
    ):
        return turn.respond(AskClarification(text=pending.slot.ask or pending.question))
    return None


def slot_answer(turn: LocalTurn) -> ModelResponse | None:
    """A pending slot or ask: its value, a question, a topic switch, or corrections."""
    pending = turn.pending
    if pending is None or pending.kind not in ("slot", "ask") or pending.slot is None:
        return None
    filled = turn.model.fill(turn.text, pending.slot, turn.active, turn.request)
    if filled is not None and pending.slot.name in filled:
        if turn.knowledge_first and not _ASKS_TO_DO.search(turn.text):
            # "What's the difference between pro and business?" at "Which plan?" names a plan
            # but picks none: the knowledge base answers and the question is asked again;
            # only when it cannot are the values the answer.
            return turn.respond(
                AnswerFromKnowledge(query=turn.text, otherwise=FillSlots(slots=filled))
            )
        return turn.respond(FillSlots(slots=filled))
    switch = turn.model.switch(turn.text, turn.request)
    if turn.knowledge_first:
        # "How long do refunds take?" while a plan question is pending: answer it and come back
        # to the question; only if the knowledge base cannot, switch.
        return turn.respond(
            AnswerFromKnowledge(query=turn.text, otherwise=switch), SWITCH_CONFIDENCE
        )
    if switch is not None:
        return turn.respond(switch, SWITCH_CONFIDENCE)
    if filled:
        return turn.respond(FillSlots(slots=filled))
    return None


def small_talk(turn: LocalTurn) -> ModelResponse | None:
    """Greetings, thanks and goodbyes -> a reply."""
    from ..understanding.extract import detect_small_talk

    kind = detect_small_talk(turn.text)
    return turn.respond(_SMALL_TALK[kind]) if kind is not None else None


def dont_know(turn: LocalTurn) -> ModelResponse | None:
    """ "I don't know" to a slot question is not a wrong value: a kind re-ask."""
    from ..understanding.extract import classify_yes_no

    pending = turn.pending
    if (
        pending is not None
        and pending.kind == "slot"
        and pending.slot is not None
        and classify_yes_no(turn.text) == "unsure"
    ):
        question = pending.slot.ask or pending.question
        return turn.respond(AskClarification(text=f"{_DONT_KNOW} {question}"))
    return None


def raw_slot_answer(turn: LocalTurn) -> ModelResponse | None:
    """Nothing recognisable for a pending slot: the words go to the engine, which validates
    them and asks again with the reason if they do not fit. A name slot is the exception: any
    words would fit it, so an answer with no name in it is asked again instead."""
    from ..understanding.extract import takes_a_name

    pending = turn.pending
    if pending is None or pending.kind not in ("slot", "ask") or pending.slot is None:
        return None
    if takes_a_name(pending.slot):
        question = pending.slot.ask or pending.question
        return turn.respond(AskClarification(text=f"{_NO_NAME} {question}"), confidence=0.3)
    return turn.respond(FillSlots(slots={pending.slot.name: turn.text}), confidence=0.3)


def offered_choice(turn: LocalTurn) -> ModelResponse | None:
    """ "The second one" / "order status" after the agent offered intents to choose from."""
    offered = turn.model.offered_pick(turn.text, turn.request)
    if offered is None:
        return None
    spec = turn.intent(offered)
    slots = turn.model.prefill(turn.text, spec) if spec else {}
    return turn.respond(StartIntent(intent=offered, slots=slots))


def bare_yes_no(turn: LocalTurn) -> ModelResponse | None:
    """A lone "yes" / "no thanks" with no question open is not a request to look up."""
    from ..understanding.extract import classify_yes_no

    if turn.pending is not None or turn.active is not None or len(turn.text.split()) > 4:
        return None
    bare = _bare_answer(turn.text, classify_yes_no(turn.text), turn.request)
    return turn.respond(bare) if bare is not None else None


def correction_redo(turn: LocalTurn) -> ModelResponse | None:
    """ "Actually, make it annual" right after a request was resolved: that request again."""
    from ..understanding.extract import detect_correction

    redo = turn.model.redo(turn.text, turn.request) if detect_correction(turn.text) else None
    return turn.respond(redo) if redo is not None else None


def no_intents(turn: LocalTurn) -> ModelResponse | None:
    """An agent without intents answers from its knowledge base."""
    if not turn.request.intents:
        return turn.respond(AnswerFromKnowledge(query=turn.text), confidence=None)
    return None


def classify(turn: LocalTurn) -> ModelResponse | None:
    """The intent classifier: out of scope, several requests, a question, or the intent."""
    request, text = turn.request, turn.text
    prediction = second_look(turn, turn.model.classify(text, request.intents))
    if not prediction.in_scope:
        if "answer_from_knowledge" in request.allowed:
            # The out-of-scope detector is tuned on held-out *intents* of the agent's own
            # domain, so a new wording of a request ("please block my credit card") can fall
            # below its threshold while the label is still very likely right. The knowledge
            # base answers first; when it cannot, the likely intent starts instead of a dead end.
            spec = turn.intent(prediction.label)
            likely = spec is not None and prediction.confidence >= LIKELY_INTENT
            otherwise = (
                StartIntent(intent=spec.name, slots=turn.model.prefill(text, spec))
                if likely and spec is not None
                else None
            )
            return turn.respond(
                AnswerFromKnowledge(query=text, otherwise=otherwise),
                prediction.confidence,
                prediction.ranking,
            )
        return turn.respond(
            AskClarification(text="Could you tell me a bit more about what you need?"),
            prediction.confidence,
            prediction.ranking,
        )
    several = turn.model.several(text, request.intents)
    if several:
        # "Cancel my subscription and refund CH1001": the first request now, the others queued;
        # each clause fills its own request's slots.
        (first, _), *rest = several
        queued = [start for start, _ in rest]
        return turn.respond(
            StartIntent(intent=first.intent, slots=first.slots, then=queued),
            min(confidence for _, confidence in several),
            prediction.ranking,
        )
    confirm = getattr(turn.model, "confirm_threshold", None)
    if confirm is not None and prediction.confidence < confirm:
        # Not sure enough to start: "Did you mean A or B?" (LocalModel(confirm_threshold=...)).
        options = [label for label, _ in prediction.ranking[:2]]
        return turn.respond(
            AskClarification(text=_WHICH, options=options),
            prediction.confidence,
            prediction.ranking,
        )
    spec = turn.intent(prediction.label)
    start = StartIntent(
        intent=prediction.label, slots=turn.model.prefill(text, spec) if spec else {}
    )
    if turn.knowledge_first and not (
        _ASKS_TO_DO.search(text) and _names_a_choice(start.slots, spec)
    ):
        # A question about how things work ("what happens when I cancel?") shares words with an
        # intent but asks for no action: the knowledge base answers it when it can, else the
        # intent takes it.
        return turn.respond(
            AnswerFromKnowledge(query=text, otherwise=start),
            prediction.confidence,
            prediction.ranking,
        )
    return turn.respond(start, prediction.confidence, prediction.ranking)


def second_look(turn: LocalTurn, prediction: Prediction) -> Prediction:
    """The reading of the message with its typos corrected, when the message as written is out
    of scope or below :data:`SECOND_LOOK` and the corrected one is in scope, at least
    :data:`TYPO_CONFIDENCE` and surer; else ``prediction``. A confident first reading costs
    nothing more. The correction is reported in the response's signals (and so the trace)."""
    fixed = turn.respelled
    if fixed is None or (prediction.in_scope and prediction.confidence >= SECOND_LOOK):
        return prediction
    second = turn.model.classify(fixed.text, turn.request.intents)
    before = prediction.confidence if prediction.in_scope else 0.0
    if not second.in_scope or second.confidence < max(TYPO_CONFIDENCE, before):
        return prediction
    turn.signals.respelled = list(fixed.changes)
    return second


_ASKS_TO_DO = re.compile(
    r"\b(?:can|could|may) (?:i|we)\b|\bis it possible to\b|\b(?:am i|are we) able to\b",
    re.IGNORECASE,
)
"""A question asking to be allowed to do something ("can I switch to business?"), unlike one
about a thing ("what does the pro plan cost?")."""


def _names_a_choice(slots: dict[str, Any], spec: IntentSpec | None) -> bool:
    """Whether the message gave one of the intent's choice slots a value: "can I switch to the
    business plan?" picks a plan, so it asks for the switch, not how switching works (only a
    question asking to do something: "what does the pro plan cost?" asks about the plan)."""
    if spec is None:
        return False
    return any(slot.kind == "choice" and slot.name in slots for slot in spec.slots)


DEFAULT_RULES: tuple[Rule, ...] = tuple(
    Rule(function.__name__, function)
    for function in (
        human_request,
        confirmation,
        free_text_answer,
        bare_yes_to_text,
        slot_answer,
        small_talk,
        dont_know,
        raw_slot_answer,
        offered_choice,
        bare_yes_no,
        correction_redo,
        no_intents,
        classify,
    )
)
"""LocalModel's rules, in the order they are tried (see the module docstring)."""

_SMALL_TALK: dict[str, Decision] = {
    "greeting": Reply(text="Hello! How can I help you today?"),
    "thanks": Reply(text="You're welcome! Is there anything else I can help with?"),
    "goodbye": Reply(text="Goodbye, and thanks for getting in touch!", close=True),
}
_BARE_HEAD = _words("yes yeah yep yup sure ok okay no nope nah")
_BARE_REST = _words(
    "thanks thank you please that's thats it all i'm im good fine for now that is i think , . !"
)
"""A message that is only a yes or a no ("no thanks", "yes please"): a head word, then only
these; "no, cancel my order" is a request."""


def is_bare(text: str) -> bool:
    """Only a yes or a no ("no thanks", "yes please"): nothing else in the message."""
    words = re.findall(r"[a-z']+|\S", text.lower())
    return bool(words) and words[0] in _BARE_HEAD and all(w in _BARE_REST for w in words[1:])


def _bare_answer(text: str, answer: str | None, request: ModelRequest) -> Reply | None:
    """After "Is there anything else I can help you with?", "no" ends the conversation and
    "yes" asks what; otherwise the agent asks what the customer needs."""
    if answer not in ("yes", "no") or not is_bare(text):
        return None
    last = next((m.text for m in reversed(request.messages) if m.role == "agent"), "")
    offered_more = "anything else" in last.lower()
    if answer == "no" and offered_more:
        return Reply(text="Goodbye, and thanks for getting in touch!", close=True)
    if answer == "yes" and offered_more:
        return Reply(text="Sure. What else can I help you with?")
    return Reply(text="What can I help you with?")
