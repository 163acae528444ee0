from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from resolvekit.knowledge import Document, DocumentError, load_documents, load_file
from resolvekit.knowledge.documents import parse_faq_csv, parse_faq_json, parse_html

from .samples import FAQ_CSV, SHIPPING_HTML


def test_folder_loads_every_supported_format_with_relative_ids(corpus: Path) -> None:
    documents = load_documents(corpus)
    ids = [d.id for d in documents]
    assert ids == [
        "billing/refunds.md",
        "faq-password",
        "faq-agent-override",
        "faq.json#3",
        "shipping.html",
        "store-hours.txt",
        "subscriptions.csv#1",
        "subscriptions.csv#2",
    ]


def test_markdown_front_matter_fills_review_and_filter_metadata(corpus: Path) -> None:
    (refunds,) = load_file(corpus / "billing" / "refunds.md")
    assert refunds.title == "Refund policy"
    assert refunds.owner == "billing-team"
    assert refunds.reviewed_at == date(2024, 1, 10)
    assert refunds.review_by == date(2030, 1, 10)
    assert refunds.metadata == {"product": "payments"}
    assert not refunds.text.startswith("---")
    assert refunds.text.startswith("# Refund policy")


def test_passed_metadata_is_a_default_that_front_matter_overrides(corpus: Path) -> None:
    (refunds,) = load_file(
        corpus / "billing" / "refunds.md", metadata={"product": "other", "locale": "en"}
    )
    assert refunds.metadata == {"product": "payments", "locale": "en"}


def test_html_drops_boilerplate_and_keeps_headings() -> None:
    document = parse_html(SHIPPING_HTML, id="shipping.html")
    assert document.title == "Shipping | Help"
    assert "# Shipping" in document.text
    assert "## Delivery times" in document.text
    assert "Standard delivery takes 3 to 5 days." in document.text
    for boilerplate in ("Help centre menu", "track(", "Copyright", "color:red"):
        assert boilerplate not in document.text


def test_faq_json_entries_with_list_answers_and_metadata() -> None:
    documents = parse_faq_json(
        [
            {"question": "Q1?", "answer": ["Part one.", "Part two."], "product": "app"},
            {"id": "custom", "question": "Q2?", "answer": "A2.", "review_by": "2020-01-01"},
        ],
        id="faq.json",
    )
    first, second = documents
    assert first.id == "faq.json#1" and first.format == "faq"
    assert first.question == "Q1?" and first.text == "Part one.\n\nPart two."
    assert first.metadata == {"product": "app"}
    assert second.id == "custom" and second.review_by == date(2020, 1, 1)


def test_faq_json_accepts_an_object_holding_the_list() -> None:
    documents = parse_faq_json('{"faq": [{"question": "Q?", "answer": "A."}]}', id="f")
    assert [d.question for d in documents] == ["Q?"]


def test_faq_csv_reads_question_answer_and_extra_columns() -> None:
    documents = parse_faq_csv(FAQ_CSV, id="subs.csv")
    assert [d.question for d in documents] == [
        "How do I cancel my subscription?",
        "Can I pause my subscription?",
    ]
    assert documents[1].text == "Yes, for up to three months from Settings > Plan."
    assert documents[0].metadata == {"product": "subscriptions"}


def test_python_objects_documents_and_mappings() -> None:
    documents = load_documents(
        [
            Document(id="a", text="Alpha text."),
            {"id": "b", "title": "Beta", "text": "# Beta\n\nBeta text.", "locale": "fr"},
            {"id": "c", "text": "<h1>Gamma</h1><p>Gamma text.</p>", "format": "html"},
            {"question": "Delta?", "answer": "Delta."},
        ]
    )
    assert [d.id for d in documents] == ["a", "b", "c", "record-4"]
    assert documents[1].metadata == {"locale": "fr"} and documents[1].title == "Beta"
    assert documents[2].title == "Gamma" and "Gamma text." in documents[2].text
    assert documents[3].question == "Delta?"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("---\ntitle Refunds\n---\nbody", ".md", "not 'key: value'"),
        ("---\nreview_by: soon\n---\nbody", ".md", "ISO date"),
        ("---\naudience: everyone\n---\nbody", ".md", "audience must be"),
        ("[{]", ".json", "invalid JSON"),
        ('[{"question": "Q?"}]', ".json", "'answer'"),
        ('[{"question": "", "answer": "A"}]', ".json", "'question'"),
        ("q,a\nx,y\n", ".csv", "'question' and 'answer' columns"),
        ("stuff", ".docx", "unsupported file type"),
    ],
)
def test_bad_input_raises_a_document_error_naming_the_file(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(DocumentError, match=message) as caught:
        load_file(path)
    assert str(path) in str(caught.value)


def test_missing_path_duplicate_ids_and_unsupported_objects(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        load_documents(tmp_path / "nope")
    with pytest.raises(DocumentError, match="duplicate id 'x'"):
        load_documents([Document(id="x", text="1"), Document(id="x", text="2")])
    with pytest.raises(DocumentError, match="cannot ingest a int"):
        load_documents([42])
