from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import resolvekit
from resolvekit.cli import main


@pytest.fixture
def built(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "index"
    assert main(["index", "build", str(corpus), "--out", str(out), "--embedder", "hashing"]) == 0
    assert "Indexed 8 documents" in capsys.readouterr().out
    return out


def test_build_then_rebuild_embeds_only_what_changed(
    built: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["index", "build", str(corpus), "--out", str(built), "--embedder", "hashing"]
    assert main(args) == 0
    assert "0 texts embedded" in capsys.readouterr().out
    (corpus / "new.md").write_text("# Gift cards\n\nGift cards never expire.")
    assert main(args) == 0
    assert "1 texts embedded" in capsys.readouterr().out


def test_query_prints_the_answer_citations_and_passages(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "query", str(built), "How do I reset my password?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("answerable")
    assert "Click 'Forgot password'" in out
    assert "[1] faq-password" in out
    assert "Passages:" in out


def test_query_json_with_filters(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["index", "query", str(built), "cancel my subscription", "--json"]
    assert main([*args, "--filter", "product=payments", "-k", "10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(not h["doc_id"].startswith("subscriptions") for h in data["hits"])
    assert main([*args, "--filter", "product=subscriptions,payments"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hits"][0]["doc_id"] == "subscriptions.csv#1"
    assert data["citations"][0]["doc_id"] == "subscriptions.csv#1"


def test_stats_shows_stale_documents_and_gaps(
    built: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "old.md").write_text("---\nreview_by: 2020-01-01\nowner: ops\n---\n# Old\n\nOld.")
    main(["index", "build", str(corpus), "--out", str(built), "--embedder", "hashing"])
    main(["index", "query", str(built), "What is the weather on Mars?"])
    main(["index", "query", str(built), "what is the weather on mars"])
    capsys.readouterr()
    assert main(["index", "stats", str(built)]) == 0
    out = capsys.readouterr().out
    assert "Stale documents (past review_by): 1" in out
    assert "old.md  review by 2020-01-01" in out and "owner ops" in out
    assert "2 x  what is the weather on mars" in out
    assert main(["index", "stats", str(built), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"] == 9 and data["gaps"][0]["count"] == 2


def test_errors_are_one_line_messages_with_status_1(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (built / "vectors.npy").unlink()
    assert main(["index", "query", str(built), "anything"]) == 1
    assert "error: Knowledge index at" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["index", "build", str(empty), "--out", str(tmp_path / "x")]) == 1
    assert "No documents found" in capsys.readouterr().err
    assert main(["index", "build", str(empty), "--out", str(built), "--embedder", "hashing"]) == 1
    assert "--rebuild" in capsys.readouterr().err
    assert main(["index", "query", str(built), "q", "--filter", "nokey"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["index"]) == 2


def test_the_console_command_runs_in_a_subprocess(built: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(resolvekit.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "resolvekit.cli", "index", "stats", str(built)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "documents  8" in result.stdout
