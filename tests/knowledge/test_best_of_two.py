"""``Fusion.best_of_two``: FAQ entries matched on the better of their question's and their
body's cosine, or on the body alone; and ``calibrate()`` choosing between the two."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from resolvekit.cli import main
from resolvekit.knowledge import Document, Fusion, Hit, KnowledgeBase

ENTRIES = 60


class FaqEmbedder:
    """Bodies (``q-<i>`` + newline + answer) get row ``i`` of ``bodies``; questions alone
    (``q-<i>``) row ``i`` of ``questions``; ``query-<j>`` query ``j``."""

    def __init__(
        self,
        bodies: npt.NDArray[np.float32],
        questions: npt.NDArray[np.float32],
        queries: npt.NDArray[np.float32],
    ) -> None:
        self.bodies, self.questions, self.queries = bodies, questions, queries

    @property
    def name(self) -> str:
        return "faq-table-v1"

    @property
    def dim(self) -> int:
        return int(self.bodies.shape[1])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = []
        for text in texts:
            kind, _, number = text.split()[0].partition("-")
            table = self.queries if kind == "query" else self.questions
            out.append((self.bodies if "\n" in text else table)[int(number)])
        return np.asarray(out, dtype=np.float32)


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _topic_label_faq() -> tuple[KnowledgeBase, list[tuple[str, str]]]:
    """Bodies say what each entry is about (queries are noisy copies of them); questions are
    short topic labels: all close to one generic direction, so a question's cosine is high for
    many queries and often beats the right entry's body."""
    dim = 32
    rng = np.random.default_rng(7)
    bodies = _unit(rng.standard_normal((ENTRIES, dim)))
    generic = rng.standard_normal(dim)
    questions = _unit(generic + 0.6 * rng.standard_normal((ENTRIES, dim)) / np.sqrt(dim))
    targets = np.arange(2 * ENTRIES) % ENTRIES
    noisy = bodies[targets] + 1.5 * generic / np.linalg.norm(generic)
    queries = _unit(noisy + 0.9 * rng.standard_normal((len(targets), dim)) / np.sqrt(dim))
    kb = KnowledgeBase(embedder=FaqEmbedder(bodies, questions, queries))
    kb.fusion = Fusion(dense=1.0, center=False)
    kb.add(
        [
            Document(id=f"e{i}", format="faq", question=f"q-{i}", text=f"answer {i}")
            for i in range(ENTRIES)
        ]
    )
    return kb, [(f"query-{j}", f"e{t}") for j, t in enumerate(targets)]


def _right_first(kb: KnowledgeBase, examples: list[tuple[str, str]]) -> int:
    return sum(kb.search(q, k=1, log_gaps=False)[0].doc_id == want for q, want in examples)


def test_body_only_scores_faq_entries_on_their_body_alone() -> None:
    kb, examples = _topic_label_faq()
    best_of_two = _right_first(kb, examples)
    kb.fusion = replace(kb.fusion, best_of_two=False)
    body_only = _right_first(kb, examples)
    assert body_only > best_of_two + len(examples) // 4
    # The hit's dense score is the body's cosine, not the question's.
    hit = kb.search("query-0", k=1)[0]
    assert hit.dense == pytest.approx(float(kb.embedder.embed(["query-0"])[0] @ _body(kb, hit)))


def _body(kb: KnowledgeBase, hit: Hit) -> npt.NDArray[np.float32]:
    number = int(hit.doc_id.removeprefix("e"))
    return kb.embedder.embed([f"q-{number}\nanswer {number}"])[0]


@pytest.mark.parametrize("center", [False, True])
def test_every_scoring_mode_ranks_body_only_the_same(center: bool) -> None:
    kb, examples = _topic_label_faq()
    kb.fusion = Fusion(dense=1.0, lexical=0.1, center=center, best_of_two=False)
    kb.depth = 16
    ranked = {}
    for scoring in ("exact", "int8", "binary"):
        kb.scoring = scoring
        ranked[scoring] = [
            [(h.doc_id, round(h.score, 5)) for h in kb.search(q, k=4)] for q, _ in examples[:30]
        ]
    assert ranked["int8"] == ranked["exact"]
    # k=4 re-scores at least 16 * k = 64 rows of 60: every row, exactly.
    assert ranked["binary"] == ranked["exact"]


def test_the_setting_is_saved_and_old_indexes_keep_best_of_two(tmp_path: Path) -> None:
    fusion = Fusion(dense=1.0, center=True, best_of_two=False)
    assert Fusion.from_json(fusion.to_json()) == fusion
    old = fusion.to_json()
    del old["best_of_two"]
    assert Fusion.from_json(old).best_of_two is True
    assert "best_of_two" not in Fusion().to_json()  # the default: manifests stay as they were
    kb, _ = _topic_label_faq()
    kb.fusion = fusion
    kb.save(tmp_path / "index")
    assert KnowledgeBase.load(tmp_path / "index", embedder=kb.embedder).fusion == fusion


def test_calibrate_chooses_body_only_when_it_ranks_more_questions_right() -> None:
    kb, examples = _topic_label_faq()
    tune, held_out = examples[::2], examples[1::2]
    before = _right_first(kb, held_out)
    kb.calibrate(tune)
    found = kb.calibration
    assert found is not None and found.best_of_two is False and not kb.fusion.best_of_two
    assert set(found.right_first) == {(True, True), (True, False), (False, True), (False, False)}
    assert found.right_first[found.center, False] > found.right_first[found.center, True]
    assert _right_first(kb, held_out) > before
    # Asked to keep it, calibrate() leaves the setting alone.
    kb.fusion = replace(kb.fusion, best_of_two=True)
    kb.calibrate(tune, choose_best_of_two=False)
    assert kb.fusion.best_of_two is True
    assert {best for _, best in kb.calibration.right_first} == {True}


def test_calibrate_keeps_best_of_two_when_questions_are_written_like_the_queries() -> None:
    kb, examples = _topic_label_faq()
    embedder = kb.embedder
    assert isinstance(embedder, FaqEmbedder)
    # Questions now are the queries' own phrasing: the question's cosine is the better signal.
    embedder.questions = embedder.queries[:ENTRIES].copy()
    kb = KnowledgeBase(embedder=embedder, fusion=Fusion(dense=1.0))
    kb.add(
        [
            Document(id=f"e{i}", format="faq", question=f"q-{i}", text=f"answer {i}")
            for i in range(ENTRIES)
        ]
    )
    kb.calibrate(examples)
    assert kb.calibration is not None and kb.fusion.best_of_two is True


def test_the_command_line_sets_and_calibrates_it(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "index"
    build = ["index", "build", str(corpus), "--out", str(out), "--embedder", "hashing"]
    assert main([*build, "--no-best-of-two"]) == 0
    assert KnowledgeBase.load(out).fusion.best_of_two is False
    examples = tmp_path / "questions.csv"
    rows = [f"{q},faq-password" for q in ("How do I reset my password?", "reset password")]
    rows += [
        "Do you ship to Canada?,faq.json#3",
        "password help,faq-password",
        "reset,faq-password",
    ]
    examples.write_text("question,expected\n" + "\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["index", "calibrate", str(out), str(examples), "--keep-best-of-two"]) == 0
    assert KnowledgeBase.load(out).fusion.best_of_two is False
    assert "best of two" not in capsys.readouterr().out  # only body-only was tried
    assert main(["index", "calibrate", str(out), str(examples)]) == 0
    printed = capsys.readouterr().out
    assert "raw cosines, best of two " in printed and "raw cosines, body " in printed
    query = ["index", "query", str(out), "reset password", "--best-of-two", "--json"]
    assert main(query) == 0
