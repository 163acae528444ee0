"""The durable approval: asked in one process, decided two days later (a simulated clock) in
another, over the same SQLite file; the playbook resumes where it stopped and writes once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DAY = 24 * 3600.0


def run(tmp_path: Path, offset: float, *steps: list[Any]) -> list[dict[str, Any]]:
    config = {
        "store": str(tmp_path / "support.db"),
        "bank": str(tmp_path / "bank.json"),
        "offset": offset,
        "steps": list(steps),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.approvals._worker", json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_an_approval_decided_two_days_later_in_another_process_resumes_the_playbook(
    tmp_path: Path,
) -> None:
    [asked] = run(tmp_path, 0.0, ["say", "c1", "refund CH2002"])
    assert asked["pending"] == "approval" and "team_lead" in asked["reply"]

    # A day later, another process: the customer asks; the conversation is still open
    # (idle_timeout is one day) and still waiting; nothing was refunded.
    [waiting] = run(tmp_path, 1.5 * DAY, ["say", "c1", "any news?"])
    assert "still waiting for approval" in waiting["reply"]
    assert json.loads((tmp_path / "bank.json").read_text()) == []

    # Two days after the request, a third process lists and decides it.
    listed, decided = run(tmp_path, 2 * DAY, ["list"], ["decide", True, "ana", "team_lead"])
    [row] = listed["rows"]
    assert row["role"] == "team_lead" and row["amount"] == 120.0
    assert 2 * DAY - 60 < row["waiting"] < 2 * DAY + 600
    assert decided["decision"] == "approved" and decided["outcome"] == "resolved"
    assert decided["decided_at"] - asked["now"] > 2 * DAY - 60
    assert decided["notified"] == [["c1", "chat", "Refunded 120 on CH2002"]]
    assert json.loads((tmp_path / "bank.json").read_text()) == [["CH2002", 120.0]]

    # A fourth process: deciding again is refused, nothing is refunded twice.
    [again] = run(tmp_path, 3 * DAY, ["list"])
    assert again["rows"] == []
    assert json.loads((tmp_path / "bank.json").read_text()) == [["CH2002", 120.0]]
