from __future__ import annotations

import itertools

import pytest

from resolvekit.exceptions import UserError
from resolvekit.knowledge import Document, DocumentError, chunk_document
from resolvekit.knowledge.chunking import is_question
from resolvekit.knowledge.documents import parse_markdown

from .samples import REFUNDS_MD


def _sentences(n: int, prefix: str = "Sentence") -> str:
    return " ".join(f"{prefix} number {i} says something useful." for i in range(n))


def test_markdown_chunks_follow_headings_and_keep_metadata() -> None:
    document = parse_markdown(REFUNDS_MD, id="billing/refunds.md", source="help/refunds.md")
    chunks = chunk_document(document)
    assert [c.heading_path for c in chunks] == [
        ("Refund policy",),
        ("Refund policy", "Timing"),
        ("Refund policy", "Eligibility"),
    ]
    timing = chunks[1]
    assert timing.text == "Card refunds take 5 to 10 business days to appear on your statement."
    assert timing.id == "billing/refunds.md#c1"
    assert timing.doc_id == "billing/refunds.md"
    assert timing.title == "Refund policy"
    assert timing.source == "help/refunds.md"
    assert timing.owner == "billing-team"
    assert str(timing.review_by) == "2030-01-10"
    assert timing.metadata == {"product": "payments"}
    citation = timing.citation
    assert citation.heading == "Refund policy > Timing"
    assert citation.chunk_id == timing.id
    # The body (what is embedded and indexed) carries the heading context.
    assert timing.body.startswith("Refund policy > Timing\n")


def test_heading_levels_pop_back_up_and_code_fences_are_not_headings() -> None:
    text = "# A\n\nintro\n\n## B\n\n```\n# not a heading\n```\n\n### C\n\nc text\n\n## D\n\nd text"
    chunks = chunk_document(Document(id="d", text=text))
    assert [c.heading_path for c in chunks] == [("A",), ("A", "B"), ("A", "B", "C"), ("A", "D")]
    assert "# not a heading" in chunks[1].text


@pytest.mark.parametrize(("max_chars", "overlap"), [(200, 0), (200, 60), (500, 120), (80, 30)])
def test_long_sections_respect_the_size_bound_and_lose_no_sentence(
    max_chars: int, overlap: int
) -> None:
    body = _sentences(40)
    chunks = chunk_document(
        Document(id="d", text=f"# Title\n\n{body}"), max_chars=max_chars, overlap=overlap
    )
    assert len(chunks) > 1
    assert all(len(c.text) <= max_chars for c in chunks)
    joined = " ".join(c.text for c in chunks)
    for i in range(40):
        assert f"Sentence number {i} says" in joined
    assert all(c.heading_path == ("Title",) for c in chunks)


def test_consecutive_pieces_share_up_to_overlap_characters_of_whole_sentences() -> None:
    chunks = chunk_document(Document(id="d", text=_sentences(30)), max_chars=300, overlap=100)
    for before, after in itertools.pairwise(chunks):
        first_sentence = after.text.split(". ")[0] + "."
        assert first_sentence in before.text  # the next piece starts inside the previous one
        shared = before.text[before.text.index(first_sentence) :]
        assert after.text.startswith(shared)
        assert len(shared) <= 100


def test_no_overlap_means_pieces_partition_the_text() -> None:
    body = _sentences(30)
    chunks = chunk_document(Document(id="d", text=body), max_chars=300, overlap=0)
    assert " ".join(c.text for c in chunks) == body


def test_monster_words_are_hard_split_within_the_bound() -> None:
    chunks = chunk_document(Document(id="d", text="x" * 250 + " tail"), max_chars=100, overlap=0)
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == "x" * 250 + "tail"


def test_plain_text_ignores_hash_lines_and_faq_chunks_keep_the_question() -> None:
    (text_chunk,) = chunk_document(Document(id="t", text="# not a heading\nbody", format="text"))
    assert text_chunk.heading_path == ()
    faq = Document(id="f", text=_sentences(20), format="faq", question="Why?")
    chunks = chunk_document(faq, max_chars=200, overlap=0)
    assert len(chunks) > 1
    assert all(c.question == "Why?" and c.body.startswith("Why?\n") for c in chunks)


def test_invalid_parameters_and_empty_faq_answers_are_rejected() -> None:
    with pytest.raises(UserError, match="max_chars"):
        chunk_document(Document(id="d", text="x"), max_chars=10)
    with pytest.raises(UserError, match="overlap"):
        chunk_document(Document(id="d", text="x"), max_chars=100, overlap=60)
    with pytest.raises(DocumentError, match="needs an answer"):
        chunk_document(Document(id="f", text=" ", format="faq", question="Q?"))


def test_a_markdown_heading_that_is_a_question_is_indexed_as_the_question() -> None:
    document = parse_markdown(
        "# Plans\n\n## What plans are there?\nBasic, Pro and Team.\n\n## Prices\nFrom $9.\n",
        id="plans.md",
    )
    faq, prices = chunk_document(document)[-2:]
    assert faq.question == "What plans are there?"
    assert faq.body == "What plans are there?\nBasic, Pro and Team."
    assert faq.citation.heading == "Plans > What plans are there?"
    assert prices.question is None and prices.body.startswith("Plans > Prices\n")


@pytest.mark.parametrize(
    ("heading", "question"),
    [
        ("How long do refunds take?", True),
        ("How to reset your password", True),
        ("Can I change plan mid-cycle", True),
        ("Is my data encrypted", True),
        ("Timing", False),
        ("Refund policy", False),
        ("Resetting a password", False),
        ("", False),
    ],
)
def test_headings_that_read_as_questions_are_indexed_as_questions(
    heading: str, question: bool
) -> None:
    assert is_question(heading) is question
    (chunk,) = chunk_document(Document(id="d", text=f"# {heading or 'x'}\n\nThe answer."))
    assert (chunk.question is not None) is (question and bool(heading))


def test_markup_a_customer_must_not_see_is_cleaned_at_ingestion() -> None:
    text = (
        "Wash your hands often. See [[Symptoms|the symptoms page]] and [[Testing]]."
        "{{citation needed}} Use soap &amp; water."
    )
    (chunk,) = chunk_document(
        Document(id="f", text=text, format="faq", question="How do I stay [[Safety|safe]]?")
    )
    assert chunk.text == (
        "Wash your hands often. See the symptoms page and Testing. Use soap & water."
    )
    assert chunk.question == "How do I stay safe?"
    # Markdown, and tags that may be a code sample, are left alone.
    kept = "**Bold**, [a link](https://x.example) and `x = '<br>'`.\nvar a = [[name, url]];"
    (md,) = chunk_document(Document(id="m", text=kept))
    assert md.text == kept
