"""``resolvekit report``: the scorecard from a store agrees with the eval report over the same
conversations; date ranges, first-contact resolution, formats; empty and damaged stores."""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
from pathlib import Path

import pytest

import resolvekit as rk
from resolvekit.messages import Message
from resolvekit.report import ConversationFacts, compute_scorecard, load_conversations
from resolvekit.sessions.conversation import Conversation, PlaybookRun

from .conftest import cli

DAY = 86400.0


def _records(folder: Path) -> list[dict]:  # type: ignore[type-arg]
    lines = (folder / "out" / "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_report_agrees_with_the_eval_report(eval_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, metrics, folder = eval_run
    out = tmp_path / "card.json"
    assert cli(["report", url, "--format", "json", "--out", str(out)]) == 0
    card = json.loads(out.read_text())
    verdicts = metrics["verdicts"]
    records = _records(folder)
    assert card["conversations"] == metrics["conversations"] == len(records)
    assert card["outcomes"]["open"] == 0  # the eval closes each conversation at its end
    # Who a human got, and containment, are the same conversations in both.
    escalated = verdicts["escalated_correctly"] + verdicts["escalated_wrongly"]
    escalated += sum(1 for r in records if r["verdict"] == "failed" and r["escalated"])
    assert card["escalation"]["count"] == escalated
    assert card["containment"]["rate"] == pytest.approx(metrics["containment"])
    # Resolution: the eval's "resolved" is a playbook's goal or a knowledge answer where the
    # customer needed one; the store sees every answer. The only difference allowed is an
    # answer given where a fix was needed (the eval scores it 'deflected'), counted here.
    answered_instead = sum(
        1 for r in records if r["verdict"] == "deflected" and r["final_outcome"] == "answered"
    )
    assert card["resolved_or_answered"]["count"] == verdicts["resolved"] + answered_instead
    assert card["outcomes"]["refused"] == verdicts["refused_correctly"]
    playbook_resolved = sum(
        1 for r in records if r["verdict"] == "resolved" and r["final_outcome"] == "resolved"
    )
    assert card["outcomes"]["resolved"] == playbook_resolved
    assert card["unresolved"]["count"] == verdicts["deflected"] - answered_instead
    # Customer effort, measured the same way.
    effort = metrics["effort"]
    assert card["customer_turns_mean"] == pytest.approx(effort["customer_turns_mean"])
    assert card["customer_turns_max"] == effort["customer_turns_max"]
    assert card["repeated_questions"] == effort["repeated_questions"]


def test_formats_csv_and_table(eval_run, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, metrics, _ = eval_run
    assert cli(["report", url, "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "section,key,count,rate"
    assert f"total,conversations,{metrics['conversations']}," in rows
    assert cli(["report", url]) == 0
    table = capsys.readouterr().out
    assert "containment (no human)" in table and "Escalation reasons" in table


def test_an_empty_store_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    rk.SQLiteStore(tmp_path / "empty.db")  # creates the file and its tables
    assert cli(["report", url]) == 0
    assert capsys.readouterr().err.strip() == f"No conversations in {url} for this date range."
    assert cli(["report", f"sqlite:///{tmp_path / 'missing.db'}"]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_a_damaged_row_is_one_clear_line_and_a_failing_status(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.db"
    conversation = Conversation.new("c1", "chat")
    conversation.transcript.append(Message(role="customer", text="hello"))

    async def fill() -> None:
        store = rk.SQLiteStore(path)
        await store.save(conversation)
        await store.close()

    asyncio.run(fill())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE conversations SET data = '{not json'")
    status = cli(["report", f"sqlite:///{path}"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("error: damaged store:") and conversation.id in err
    assert len(err.splitlines()) == 1


async def test_every_store_lists_its_conversations(tmp_path: Path) -> None:
    key = rk.EncryptedStore.new_key()
    for store in (
        rk.MemoryStore(),
        rk.SQLiteStore(tmp_path / "a.db"),
        rk.EncryptedStore(rk.SQLiteStore(tmp_path / "b.db"), key),
    ):
        first, second = Conversation.new("c1", "chat"), Conversation.new("c2", "voice")
        await store.save(second)
        await store.save(first)
        ids = await store.conversation_ids()  # type: ignore[attr-defined]
        assert ids == [second.id, first.id]  # saved (so updated) in this order
        assert await store.conversation_ids(updated_since=1e18) == []  # type: ignore[attr-defined]
        facts = await load_conversations(store)
        assert {f.channel for f in facts} == {"chat", "voice"}
        await store.close()


def _facts(n: str, customer: str, created: float, outcome: str, **kw) -> ConversationFacts:  # type: ignore[no-untyped-def]
    return ConversationFacts(
        id=n,
        customer_id=customer,
        channel=kw.pop("channel", "chat"),
        created_at=created,
        updated_at=created + 60,
        outcome=outcome,  # type: ignore[arg-type]
        **kw,
    )


def test_first_contact_resolution_counts_a_reopen_within_n_days() -> None:
    facts = [
        _facts("a", "ann", 0.0, "resolved", intents=["refund"]),
        _facts("b", "ann", 3 * DAY, "escalated", escalation_reason="still broken"),
        _facts("c", "bob", 0.0, "resolved", intents=["refund"]),
        _facts("d", "bob", 9 * DAY, "resolved"),
        _facts("e", "cy", 0.0, "answered", unanswered=["where is my parcel?"]),
        _facts("f", "dee", 0.0, "open"),
    ]
    card = compute_scorecard(facts, reopen_days=7)
    assert card.conversations == 6 and card.outcomes["open"] == 1
    assert card.resolution.count == 3 and card.resolution.rate == pytest.approx(3 / 5)
    assert card.first_contact_resolution.count == 2  # ann came back on day 3
    assert compute_scorecard(facts, reopen_days=10).first_contact_resolution.count == 1
    assert card.containment.rate == pytest.approx(4 / 5)
    assert card.deflection.count == 1 and card.escalation_reasons == {"still broken": 1}
    assert card.knowledge_gaps == {"where is my parcel?": 1}
    assert card.by_intent["refund"] == 2 and card.approval_turnaround_s is None
    assert any("Approval turnaround is empty" in n for n in card.notes)
    empty = compute_scorecard([])
    assert empty.conversations == 0 and empty.resolution.rate is None


async def test_date_range_and_archived_runs(tmp_path: Path) -> None:
    store = rk.MemoryStore()
    old, new = Conversation.new("c1", "chat"), Conversation.new("c2", "chat")
    old.created_at = old.updated_at = 1_000.0
    old.status = "closed"
    new.created_at = new.updated_at = 5 * DAY
    new.status = "closed"
    new.runs.append(PlaybookRun(id="r1", intent="refund", status="resolved"))
    new.archive_out.append(
        {
            "kind": "run",
            "run": {"id": "r0", "intent": "cancel", "status": "resolved", "started_at": 1.0},
        }
    )
    await store.save(old)
    await store.save(new)
    facts = await load_conversations(store, since=2 * DAY, until=6 * DAY)
    assert [f.id for f in facts] == [new.id]
    assert facts[0].intents == ["cancel", "refund"] and facts[0].outcome == "resolved"


def test_bad_dates_are_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli(["report", "memory://", "--since", "last week"]) == 1
    assert "--since: not a date" in capsys.readouterr().err


def test_an_encrypted_store_needs_its_key(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    key = rk.EncryptedStore.new_key()
    path = tmp_path / "enc.db"

    async def fill() -> None:
        store = rk.EncryptedStore(rk.SQLiteStore(path), key)
        conversation = Conversation.new("c1", "email")
        conversation.transcript.append(Message(role="customer", text="hello"))
        await store.save(conversation)
        await store.close()

    asyncio.run(fill())
    url = f"sqlite:///{path}"
    assert cli(["report", url, "--format", "json"]) == 2  # without the key: unreadable
    assert "encrypted" in capsys.readouterr().err
    monkeypatch.setenv("RK_KEY", key)
    assert cli(["report", url, "--format", "json", "--key-env", "RK_KEY"]) == 0
    assert json.loads(capsys.readouterr().out)["by_channel"] == {"email": 1}
    assert cli(["report", url, "--key-env", "RK_MISSING"]) == 1


def test_table_to_a_file(eval_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, metrics, _ = eval_run
    out = tmp_path / "card.txt"
    assert cli(["report", url, "--out", str(out)]) == 0
    text = out.read_text()
    assert "resolved + answered" in text and str(metrics["conversations"]) in text


async def test_approval_turnaround_comes_from_the_journaled_decisions(tmp_path: Path) -> None:
    from tests.approvals.refunds import Bank, build

    store = rk.SQLiteStore(tmp_path / "approvals.db")
    agent = build(Bank(), store=store)
    await agent.handle("ann", "refund CH1001")  # 20: under the automatic tier, no wait
    await agent.handle("bob", "refund CH2002")  # 120: waits for a team lead
    [row] = await agent.approvals()
    await asyncio.sleep(0.05)
    await agent.decide(row.id, approve=True, approver="ana", role="team_lead")
    facts = await load_conversations(store)
    waits = {f.customer_id: f.approvals for f in facts}
    assert waits["ann"] == []  # automatic: nobody waited
    (wait,) = waits["bob"]
    assert 0.05 <= wait < 60
    card = compute_scorecard(facts)
    assert card.approvals == 1 and card.approval_turnaround_s == wait


async def test_stale_articles_are_listed_with_the_answers_that_cited_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from resolvekit.knowledge import Document, KnowledgeBase
    from resolvekit.understanding.embedders import HashingEmbedder

    kb = KnowledgeBase(embedder=HashingEmbedder(), threshold=0.3)
    kb.add(
        [
            Document(id="returns", text="Returns are free within 30 days of delivery."),
            Document(
                id="shipping",
                text="Parcels ship within two days by standard post.",
                review_by=datetime.date(2020, 1, 1),
                owner="logistics",
            ),
        ]
    )
    kb.save(tmp_path / "kb")
    store = rk.SQLiteStore(tmp_path / "kb.db")
    agent = rk.Agent("Shop", model=rk.FunctionModel(_to_knowledge), knowledge=kb, store=store)
    answered = await agent.handle("ann", "how do parcels ship")
    assert answered.outcome == "answered" and answered.citations[0].doc_id == "shipping"
    await agent.handle("bob", "how do parcels ship by post")
    await agent.close()
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    assert await asyncio.to_thread(cli, ["report", url, "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["articles_cited"] == {"shipping": 2} and plain["stale_articles"] is None
    assert any("--knowledge" in note for note in plain["notes"])
    args = ["report", url, "--format", "json", "--knowledge", str(tmp_path / "kb")]
    assert await asyncio.to_thread(cli, args) == 0
    card = json.loads(capsys.readouterr().out)
    (stale,) = card["stale_articles"]
    assert (stale["doc_id"], stale["cited"], stale["owner"]) == ("shipping", 2, "logistics")
    assert stale["review_by"] == "2020-01-01" and stale["days_overdue"] > 0
    assert await asyncio.to_thread(cli, ["report", url, "--knowledge", str(tmp_path / "kb")]) == 0
    assert "Stale articles" in capsys.readouterr().out


def _to_knowledge(request: rk.ModelRequest) -> rk.ModelResponse:
    return rk.ModelResponse(decision=rk.AnswerFromKnowledge(query=request.text))
