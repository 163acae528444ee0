from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from resolvekit.exceptions import UnexpectedModelBehavior, UserError
from resolvekit.knowledge import Document, KnowledgeBase, calibrate_threshold
from resolvekit.knowledge.answers import Answer, Hit, extract_answer, ground
from resolvekit.knowledge.chunking import Chunk
from resolvekit.messages import Citation, Escalate, Reply
from resolvekit.models import ModelRequest
from resolvekit.models.function import FunctionModel
from resolvekit.playbooks import KnowledgeAnswer, KnowledgeSource

from .samples import CountingEmbedder


@pytest.fixture
def kb(corpus: Path, embedder: CountingEmbedder) -> KnowledgeBase:
    base = KnowledgeBase(embedder=embedder, threshold=0.3)
    base.add(corpus)
    return base


def test_extractive_answer_is_the_best_passage_with_its_citation(kb: KnowledgeBase) -> None:
    answer = kb.ask("How long do card refunds take to appear on my statement?")
    assert answer.answerable and answer.mode == "extractive"
    assert answer.text == "Card refunds take 5 to 10 business days to appear on your statement."
    assert answer.citations == [answer.hits[0].citation]
    assert answer.citations[0].heading == "Refund policy > Timing"
    assert answer.answerability == pytest.approx(answer.hits[0].score)


def test_long_passages_are_cut_to_the_best_sentence_window() -> None:
    filler = " ".join(f"Unrelated sentence {i} about store layouts." for i in range(30))
    text = f"{filler} Gift cards never expire and can be used online. {filler}"
    hit = Hit(chunk=Chunk(id="c", doc_id="d", text=text), score=1.0)
    span = extract_answer("do gift cards expire", hit, max_chars=120)
    assert "Gift cards never expire" in span
    # The cut is marked at both ends; the window itself stays within max_chars.
    assert span.startswith("… ") and span.endswith(" …")
    assert len(span.strip("… ")) <= 120
    assert extract_answer("anything", Hit(chunk=Chunk(id="c", doc_id="d", text="Short."), score=1))


def test_a_cut_answer_keeps_every_warning_sentence_and_marks_each_gap() -> None:
    filler = [f"Unrelated sentence {i} about store layouts." for i in range(12)]
    text = " ".join(
        [
            "Warning: unplug the charger before you clean the device.",
            *filler[:6],
            "Clean the screen with a dry cloth once a week.",
            *filler[6:],
            "Do not use alcohol wipes on the coating.",
        ]
    )
    hit = Hit(chunk=Chunk(id="c", doc_id="d", text=text), score=1.0)
    span = extract_answer("how do I clean the screen", hit, max_chars=80)
    assert span == (
        "Warning: unplug the charger before you clean the device. … Clean the screen with a "
        "dry cloth once a week. … Do not use alcohol wipes on the coating."
    )


def test_extractive_answers_say_when_they_are_cut(embedder: CountingEmbedder) -> None:
    filler = " ".join(f"Unrelated sentence {i} about store layouts." for i in range(40))
    kb = KnowledgeBase(embedder=embedder, threshold=-1.0)
    kb.add(
        [
            Document(id="long", text=f"Gift cards never expire. {filler}"),
            Document(id="short", text="Parcels ship within two days."),
        ]
    )
    cut = kb.ask("do gift cards expire")
    assert cut.truncated and cut.text.endswith("…")
    whole = kb.ask("when do parcels ship")
    assert not whole.truncated and whole.text == "Parcels ship within two days."


def test_below_threshold_the_answer_declines_and_logs_a_gap(kb: KnowledgeBase) -> None:
    answer = kb.ask("What is the airspeed velocity of an unladen swallow?")
    assert not answer.answerable
    assert answer.text == "" and answer.citations == [] and answer.mode == "none"
    assert answer.answerability < kb.threshold
    (gap,) = kb.gaps.gaps()
    assert gap.query == "what is the airspeed velocity of an unladen swallow"
    assert gap.reasons == {"unanswered": 1}


def test_threshold_controls_answerability(corpus: Path, embedder: CountingEmbedder) -> None:
    strict = KnowledgeBase(embedder=embedder, threshold=0.99)
    strict.add(corpus)
    assert not strict.ask("How long do card refunds take?").answerable
    lenient = KnowledgeBase(embedder=embedder, threshold=-1.0)
    lenient.add(corpus)
    assert lenient.ask("How long do card refunds take?").answerable


def _llm(text: str, citations: list[Citation] | None = None) -> FunctionModel:
    model = FunctionModel(lambda request: Reply(text=text, citations=citations or []))
    model.capabilities = frozenset({"answer"})
    return model


async def test_generated_answer_keeps_only_sentences_citing_retrieved_passages(
    kb: KnowledgeBase,
) -> None:
    model = _llm(
        "Card refunds take 5 to 10 business days [1]. We also sell unicorns. "
        "Shipping is always free [9].",
        citations=[Citation(doc_id="made-up-doc", chunk_id="made-up#c0")],
    )
    answer = await kb.aanswer("How long do card refunds take?", model, k=3)
    assert answer.mode == "generated" and answer.answerable
    assert answer.text == "Card refunds take 5 to 10 business days [1]."
    assert answer.citations == [answer.hits[0].citation]
    assert answer.dropped == ["We also sell unicorns.", "Shipping is always free."]
    assert [c.doc_id for c in answer.rejected_citations] == ["made-up-doc"]
    (request,) = model.requests
    assert request.task == "answer" and request.allowed == frozenset({"reply"})
    assert request.query == "How long do card refunds take?"
    assert [p.citation for p in request.passages] == [h.citation for h in answer.hits]
    assert "[1]" in request.instructions


async def test_markers_are_renumbered_to_index_the_answer_citations(kb: KnowledgeBase) -> None:
    model = _llm("Second passage says this [2]. Both agree. [1, 2]")
    answer = await kb.aanswer("How long do card refunds take?", model, k=3)
    assert answer.text == "Second passage says this [1]. Both agree [1, 2]."
    assert answer.citations == [answer.hits[1].citation, answer.hits[0].citation]


async def test_reply_without_valid_markers_is_not_answerable_and_logged(
    kb: KnowledgeBase,
) -> None:
    answer = await kb.aanswer("How long do card refunds take?", _llm("It takes a while [9]."))
    assert not answer.answerable and answer.mode == "none"
    assert answer.text == "" and answer.citations == []
    assert answer.dropped == ["It takes a while."]
    assert [g.reasons for g in kb.gaps.gaps()] == [{"unanswered": 1}]


async def test_unanswerable_questions_never_reach_the_llm(kb: KnowledgeBase) -> None:
    model = _llm("Made up [1].")
    answer = await kb.aanswer("unladen swallow airspeed", model)
    assert not answer.answerable and model.requests == []


async def test_a_model_that_does_not_reply_is_an_error(kb: KnowledgeBase) -> None:
    model = FunctionModel(lambda request: Escalate(reason="no"))
    model.capabilities = frozenset({"answer"})
    with pytest.raises(UnexpectedModelBehavior, match="escalate"):
        await kb.aanswer("How long do card refunds take?", model)


async def test_sync_ask_with_an_llm_inside_a_loop_points_to_aanswer(kb: KnowledgeBase) -> None:
    with pytest.raises(UserError, match="aanswer"):
        kb.ask("How long do card refunds take?", _llm("x [1]."))


def test_sync_ask_runs_the_llm_outside_a_loop(kb: KnowledgeBase) -> None:
    answer = kb.ask("How long do card refunds take?", _llm("Five to ten days [1]."))
    assert answer.mode == "generated" and answer.text == "Five to ten days [1]."


async def test_models_without_the_answer_capability_get_extractive_answers(
    kb: KnowledgeBase,
) -> None:
    def refuse(request: ModelRequest) -> Reply:
        raise AssertionError("must not be called")

    model = FunctionModel(refuse)
    assert "answer" not in model.capabilities
    assert kb.ask("How long do card refunds take?", model).mode == "extractive"
    assert (await kb.aanswer("How long do card refunds take?", model)).mode == "extractive"


def test_a_knowledge_base_is_a_knowledge_source(kb: KnowledgeBase) -> None:
    assert isinstance(kb, KnowledgeSource)
    parameters = inspect.signature(kb.answer).parameters
    assert list(parameters) == ["query", "k", "model"]
    assert parameters["k"].default == 3
    assert parameters["model"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["model"].default is None
    assert inspect.iscoroutinefunction(kb.answer)


def _as_agent_saw_it(answer: Answer) -> KnowledgeAnswer:
    """What ``Agent.answer_from_knowledge`` made of :meth:`KnowledgeBase.aanswer`."""
    return KnowledgeAnswer(
        query=answer.query,
        text=answer.text,
        answerable=answer.answerable,
        score=answer.answerability,
        citations=list(answer.citations),
    )


@pytest.mark.parametrize(
    "question",
    [
        "How long do card refunds take?",
        "reset my password",
        "What is the airspeed velocity of an unladen swallow?",
    ],
)
@pytest.mark.parametrize("llm", [False, True])
async def test_the_knowledge_source_answer_is_the_aanswer_one(
    kb: KnowledgeBase, question: str, llm: bool
) -> None:
    model = _llm("The passage says so [1].") if llm else None
    expected = _as_agent_saw_it(await kb.aanswer(question, model, k=3))
    found = await kb.answer(question, model=model)
    assert found == expected
    assert found == await kb.answer(question, 3, model=model)
    if llm and found.answerable:
        assert found.text == "The passage says so [1]." and len(found.citations) == 1


async def test_the_knowledge_source_answer_is_extractive_without_the_answer_capability(
    kb: KnowledgeBase,
) -> None:
    def refuse(request: ModelRequest) -> Reply:
        raise AssertionError("must not be called")

    found = await kb.answer("How long do card refunds take?", model=FunctionModel(refuse))
    assert found.answerable
    assert found.text == "Card refunds take 5 to 10 business days to appear on your statement."
    assert found.score >= kb.threshold
    assert [c.heading for c in found.citations] == ["Refund policy > Timing"]


async def test_the_knowledge_source_answer_takes_the_model_by_keyword(kb: KnowledgeBase) -> None:
    with pytest.raises(UserError, match="model="):
        await kb.answer("How long do card refunds take?", _llm("x [1]."))  # type: ignore[arg-type]


def test_ground_handles_marker_lists_and_split_off_markers() -> None:
    grounded = ground("Alpha holds [2]. Beta too. [1, 2] Gamma [3, 7].", 3)
    assert grounded.text == "Alpha holds [1]. Beta too [1, 2]. Gamma [3]."
    assert grounded.cited == [1, 0, 2]
    assert ground("Nothing cited here.", 3).cited == []


def test_calibrate_threshold_picks_the_lowest_threshold_reaching_the_precision() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    correct = [True, True, False, True, False, False]
    assert calibrate_threshold(scores, correct, target_precision=1.0) == 0.8
    assert calibrate_threshold(scores, correct, target_precision=0.75) == 0.6
    assert calibrate_threshold(scores, [False] * 6, target_precision=0.5) > 0.9
    with pytest.raises(ValueError, match="non-empty"):
        calibrate_threshold([], [])


def test_kb_calibrate_sets_the_threshold_from_labelled_questions(
    embedder: CountingEmbedder,
) -> None:
    kb = KnowledgeBase(embedder=embedder)
    kb.add(
        [
            Document(id="refunds", text="Card refunds take 5 to 10 business days."),
            Document(id="password", text="Reset your password from the sign-in page."),
        ]
    )
    threshold = kb.calibrate(
        [
            ("how long do card refunds take", "refunds"),
            ("reset my password", "password"),
            ("what colour is the sky on mars", None),
        ],
        target_precision=1.0,
    )
    assert kb.threshold == threshold
    assert kb.ask("how long do card refunds take").answerable
    assert not kb.ask("what colour is the sky on mars").answerable
