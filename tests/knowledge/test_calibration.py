"""Calibration on the user's own labelled questions: the threshold, centring, several right
documents per question, and the ``resolvekit index calibrate`` command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.cli import main
from resolvekit.exceptions import UserError
from resolvekit.knowledge import Document, KnowledgeBase

from .samples import CountingEmbedder, planted_vectors


class TableEmbedder:
    """Vectors looked up by text: ``doc-<i>`` is row ``i``, ``query-<j>`` is query ``j``."""

    def __init__(self, rows: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]) -> None:
        self.rows, self.queries = rows, queries

    @property
    def name(self) -> str:
        return "table-v1"

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = []
        for text in texts:
            word = text.split()[0]
            kind, _, number = word.partition("-")
            out.append((self.rows if kind == "doc" else self.queries)[int(number)])
        return np.asarray(out, dtype=np.float32)


def _planted_base() -> tuple[KnowledgeBase, list[tuple[str, str | None]]]:
    rows, queries, targets = planted_vectors(400, dim=48, seed=3)
    # Noisier queries than the planted ones, so that raw and centred cosines rank differently.
    rng = np.random.default_rng(1)
    queries = queries + 1.5 * rng.standard_normal(queries.shape) / np.sqrt(48)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    kb = KnowledgeBase(embedder=TableEmbedder(rows, queries))
    kb.add([Document(id=f"d{i}", text=f"doc-{i}", format="text") for i in range(len(rows))])
    examples: list[tuple[str, str | None]] = [
        (f"query-{j}", f"d{int(t)}") for j, t in enumerate(targets)
    ]
    return kb, examples


def test_calibrate_turns_centring_off_when_raw_cosines_rank_more_questions_right() -> None:
    kb, examples = _planted_base()
    kb.fusion = replace(kb.fusion, center=True, lexical=0.0)
    threshold = kb.calibrate(examples)
    found = kb.calibration
    assert found is not None and found.threshold == threshold == kb.threshold
    # On these vectors centring ranks fewer questions right: it is turned off.
    assert found.right_first[False, True] > found.right_first[True, True]
    assert found.center is False and kb.fusion.center is False
    assert (found.questions, found.answerable) == (len(examples), len(examples))
    # From the other side it stays off: the better setting wins, not the current one.
    kb.calibrate(examples)
    assert kb.fusion.center is False


def test_calibrate_keeps_centring_as_set_when_asked_or_when_it_cannot_tell() -> None:
    kb, examples = _planted_base()
    kb.fusion = replace(kb.fusion, center=True, lexical=0.0)
    kb.calibrate(examples, choose_center=False)
    assert kb.fusion.center is True and kb.calibration is not None
    assert [center for center, _ in kb.calibration.right_first] == [True, True]
    kb.calibrate(examples[:4])  # fewer than 5 answerable questions: nothing to choose from
    assert kb.fusion.center is True


def test_a_question_several_documents_answer_is_right_on_any_of_them(
    embedder: CountingEmbedder,
) -> None:
    kb = KnowledgeBase(embedder=embedder)
    kb.add(
        [
            Document(id="refunds", text="Refunds take five days to reach your card."),
            Document(id="returns", text="Returns are free within thirty days."),
        ]
    )
    question = "how many days do refunds take"
    top = kb.search(question, k=1)[0].doc_id
    kb.calibrate([(question, ["elsewhere", top]), ("what is the weather", None)])
    assert kb.calibration is not None and kb.calibration.right_first == {
        (kb.fusion.center, True): 1
    }
    # The only right answer clears the threshold: it is answered.
    assert kb.ask(question).answerable
    with pytest.raises(UserError, match="doc id, a list of doc ids or None"):
        kb.calibrate([(question, 42)])  # type: ignore[list-item]
    with pytest.raises(UserError, match="at least one example"):
        kb.calibrate([])


def test_index_calibrate_and_ranking_options_on_the_command_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "index"
    build = ["index", "build", str(corpus), "--out", str(out), "--embedder", "hashing"]
    assert main([*build, "--lexical", "0.4", "--threshold", "0.2"]) == 0
    assert KnowledgeBase.load(out).fusion.lexical == 0.4
    assert KnowledgeBase.load(out).threshold == 0.2
    examples = tmp_path / "questions.jsonl"
    examples.write_text(
        "\n".join(
            json.dumps(e)
            for e in (
                {"question": "How do I reset my password?", "expected": "faq-password"},
                {"question": "what is the airspeed of a swallow", "expected": None},
            )
        )
    )
    capsys.readouterr()
    assert main(["index", "calibrate", str(out), str(examples)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Calibrated on 2 questions (1 answerable): threshold ")
    loaded = KnowledgeBase.load(out)
    assert loaded.threshold != 0.2 and loaded.fusion.lexical == 0.4
    csv_file = tmp_path / "questions.csv"
    csv_file.write_text("question,expected\nHow do I reset my password?,faq-password|other\n")
    assert main(["index", "calibrate", str(out), str(csv_file)]) == 0
    query = ["index", "query", str(out), "How do I reset my password?"]
    assert main([*query, "--threshold", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] != ""
    assert main([*query, "--threshold", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answerable"] is False
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert main(["index", "calibrate", str(out), str(bad)]) == 1
    assert "bad.jsonl:1: expected a JSON object" in capsys.readouterr().err
    assert main([*build, "--lexical", "-1"]) == 1
    assert "non-negative" in capsys.readouterr().err
