from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from resolvekit.knowledge import Document, DocumentError, load_documents, load_file
from resolvekit.knowledge.documents import (
    parse_faq_csv,
    parse_faq_json,
    parse_html,
    parse_markdown,
)

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


def test_front_matter_values_are_kept_as_written() -> None:
    document = parse_markdown(
        "---\n"
        "title: 'Refunds: the basics'   # quoted because of the colon\n"
        'owner: "billing-team"\n'
        "locale: no\n"
        "version: 1.10\n"
        "code: 010\n"
        "enabled: yes\n"
        "note:\n"
        "summary: >\n"
        "  Two lines\n"
        "  folded.\n"
        "---\n"
        "# Heading\n\nBody.",
        id="refunds.md",
    )
    assert document.title == "Refunds: the basics" and document.owner == "billing-team"
    assert document.metadata == {
        "locale": "no",
        "version": "1.10",
        "code": "010",
        "enabled": "yes",
        "note": "",
        "summary": "Two lines folded.",
    }
    assert document.text == "# Heading\n\nBody."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("review_by: 2025-05-01", date(2025, 5, 1)),
        ("review_by: '2025-05-01'", date(2025, 5, 1)),
        ("review_by: 2025-05-01T09:30:00Z", date(2025, 5, 1)),
        ("review_by: !!timestamp 2025-05-01", date(2025, 5, 1)),
    ],
)
def test_front_matter_dates(line: str, expected: date) -> None:
    document = parse_markdown(f"---\n{line}\npublished: 2024-01-02\n---\nBody.", id="a.md")
    assert document.review_by == expected
    assert document.metadata == {"published": "2024-01-02"}


def test_front_matter_lists_become_one_comma_separated_value() -> None:
    document = parse_markdown(
        "---\ntags: [refunds, cards]\nlocales:\n  - en\n  - fr\n---\nBody.", id="a.md"
    )
    assert document.metadata == {"tags": "refunds, cards", "locales": "en, fr"}


def test_front_matter_nested_keys_under_metadata_become_metadata() -> None:
    document = parse_markdown(
        "---\nproduct: app\nmetadata:\n  locale: en\n  product: payments\n---\nBody.",
        id="a.md",
        metadata={"audience": "customer"},
    )
    assert document.metadata == {"audience": "customer", "locale": "en", "product": "payments"}


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("seo:\n  description: Refunds", "key 'seo' holds a mapping"),
        ("metadata:\n  extra:\n    deep: 1", "key 'metadata.extra' holds a mapping"),
        ("tags:\n  - name: a", "key 'tags' holds a list of lists or mappings"),
        ("- title\n- owner", "not 'key: value' lines \\(a YAML mapping\\) but a list"),
        ("just a sentence", "not 'key: value' lines \\(a YAML mapping\\) but text"),
        ("title: Refunds: the basics", "not valid YAML \\(line 2\\).*quote a value"),
        ("title: Refunds\ntags: [a, b", "not valid YAML \\(line 3\\)"),
        ("owner: x\n  bad: indent", "not valid YAML \\(line 3\\)"),
        ("cmd: !!python/object/apply:os.system [ls]", "not valid YAML.*constructor"),
        ("? [a, b]\n: c", "not valid YAML"),
        ("'': empty key", "empty or non-text key"),
    ],
)
def test_malformed_front_matter_is_a_document_error(
    tmp_path: Path, front: str, message: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{front}\n---\n# Title\n\nBody.")
    with pytest.raises(DocumentError, match=message) as caught:
        load_file(path)
    assert str(path) in str(caught.value)


def test_yaml_is_imported_only_when_front_matter_is_read() -> None:
    code = (
        "import sys, resolvekit, resolvekit.knowledge as k; before = 'yaml' in sys.modules; "
        "k.load_documents([{'id': 'a', 'text': '---\\nowner: x\\n---\\nBody.'}]); "
        "print(before, 'yaml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


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
