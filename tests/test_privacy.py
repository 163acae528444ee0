"""Privacy by default: personal data planted in messages, tool arguments, results and errors
never leaves the engine unmasked: handoffs, queues, exported results, logs and eval outputs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest

import resolvekit as rk
from resolvekit.evals import RunOptions, build_report, print_scorecard, run_suite
from resolvekit.evals.cli import main as eval_main
from resolvekit.evals.records import ConversationRecord, read_records, redact_record
from resolvekit.evals.report import write_html, write_json
from resolvekit.handoffs import build_handoff, redact_handoff
from resolvekit.redaction import Redactor

from . import pii_shop as shop
from .pii_shop import CARD_DOTS, CRASH, EMAIL, HUMAN, IBAN, OPENING, PLANTED, SSN, UK_PHONE, leaks


async def _dispute(agent: rk.Agent[Any]) -> tuple[rk.TurnResult, rk.TurnResult]:
    first = await agent.handle("jane", OPENING)
    second = await agent.handle("jane", HUMAN)
    assert first.outcome == "awaiting_customer" and second.outcome == "escalated"
    return first, second


def _raw_packet() -> rk.Handoff:
    """A packet built outside the engine, every planted value in it."""
    everything = " ".join(PLANTED.values())
    return rk.Handoff(
        conversation_id="elsewhere",
        customer_id="c9",
        channel="email",
        reason=f"forwarded: {everything}",
        slots={"card": CARD_DOTS},
        transcript=[{"role": "customer", "text": everything, "channel": "email", "at": 0.0}],
        resume_token="t",
    )


# -- handoffs --------------------------------------------------------------------------------


async def test_every_field_of_a_handoff_is_redacted_but_its_identifiers() -> None:
    agent = shop.build_agent()
    _, escalated = await _dispute(agent)
    packet = escalated.handoff
    assert packet is not None
    assert leaks(packet.model_dump_json()) == []
    assert packet.slots == {"card": "[card ****1111]", "phone": "[phone ****58]",
                            "email": "j***@example.com"}  # fmt: skip
    assert packet.facts["contact"] == "j***@example.com / [phone ****58]"
    lookup, _, charge = packet.actions
    assert lookup.args == {"phone": "[phone ****58]", "email": "j***@example.com"}
    assert lookup.result["iban"] == "[iban GB** ****5432]"
    assert lookup.result["card_number"] == "[card ****1117]"
    assert charge.error is not None
    assert (
        charge.error["message"]
        == "card [card ****1111] declined; refund to [iban GB** ****5432] instead"
    )
    assert packet.reason == "customer wants a person; SSN [ssn ***-**-6789] given"
    assert (
        packet.pending_action == "Shall I refund to [iban GB** ****5432] and text [phone ****58]?"
    )
    assert packet.knowledge == ["refunds to [iban GB** ****5432] for j***@example.com"]
    assert (
        "[card ****1111]" in packet.summary and "[iban GB** ****5432]" in packet.suggested_next_step
    )
    assert packet.transcript[0]["text"].startswith("My card [card ****1111] was charged twice!")
    assert packet.customer_id == "jane" and packet.conversation_id == escalated.conversation_id
    # The stored conversation keeps the raw transcript (protect the store); redactor=None is raw.
    conv = await agent.store.get(escalated.conversation_id)
    assert conv is not None and conv.transcript[0].text == OPENING
    raw = build_handoff(
        conv,
        reason=f"SSN {SSN}",
        priority="normal",
        confidence=None,
        intent="BillingDispute",
        slots={"card": CARD_DOTS},
        pending_action=None,
        error=None,
        redactor=None,
    )
    assert raw.slots == {"card": CARD_DOTS} and raw.transcript[0]["text"] == OPENING
    assert set(leaks(raw.model_dump_json())) >= {"card with dots", "IBAN", "SSN", "email"}
    masked = redact_handoff(raw)
    assert leaks(masked.model_dump_json()) == []
    assert (masked.resume_token, masked.customer_id) == (raw.resume_token, raw.customer_id)
    assert redact_handoff(raw, None) is raw


async def test_a_playbook_crash_is_handed_over_with_its_error_redacted() -> None:
    crashed = await shop.build_agent().handle("c2", CRASH)
    assert crashed.outcome == "escalated" and crashed.handoff is not None
    assert crashed.handoff.error == (
        "RuntimeError: ledger rejected [card ****1111] for j***@example.com ([ssn ***-**-6789])"
    )


async def test_tool_output_never_appears_in_the_transcript() -> None:
    marker = "TOOL-ONLY-OUTPUT-7f3a"

    def decide(request: rk.ModelRequest) -> Any:
        if request.messages[-1].role == "tool":
            return rk.Escalate(reason="needs a person")
        return rk.CallTool(tool="lookup", args={})

    agent: rk.Agent[Any] = rk.Agent(
        model=rk.FunctionModel(decide), store="memory://", free_mode=True, handoff=[]
    )

    @agent.tool
    def lookup() -> str:
        """Look something up."""
        return marker

    result = await agent.handle("c", "hello")
    assert result.handoff is not None
    conv = await agent.store.get(result.conversation_id)
    assert conv is not None and any(m.role == "tool" for m in conv.transcript)
    assert [m["role"] for m in result.handoff.transcript] == ["customer"]
    assert marker not in json.dumps(result.handoff.transcript)
    assert result.handoff.actions[0].result == marker  # the human sees it as an action


async def test_the_jsonl_queue_redacts_packets_built_elsewhere(tmp_path: Path) -> None:
    queue = rk.JSONLQueue(tmp_path / "q.jsonl")
    await queue.deliver(_raw_packet())
    text = (tmp_path / "q.jsonl").read_text()
    assert leaks(text) == []
    assert queue.read()[0].slots == {"card": "[card ****1111]"}
    raw_queue = rk.JSONLQueue(tmp_path / "raw.jsonl", redactor=None)
    await raw_queue.deliver(_raw_packet())
    assert set(leaks((tmp_path / "raw.jsonl").read_text())) == set(PLANTED) | {"email local part"}


# -- exported results ------------------------------------------------------------------------


async def test_export_is_json_ready_and_redacted_while_the_trace_stays_raw() -> None:
    agent = shop.build_agent()
    first, escalated = await _dispute(agent)
    exported = first.export()
    assert json.loads(json.dumps(exported)) == exported
    assert set(exported) == {
        "reply", "outcome", "confidence", "handoff", "trace", "conversation_id", "intent",
        "slots", "citations", "pending", "question_id", "options", "usage", "error",
        "duplicate",
    }  # fmt: skip
    assert leaks(json.dumps(exported)) == []
    assert exported["reply"] == "Shall I refund to [iban GB** ****5432] and text [phone ****58]?"
    assert exported["slots"]["email"] == "j***@example.com"
    tools = [e["data"] for e in exported["trace"] if e["kind"] == "tool"]
    assert tools[0]["result"]["card_number"] == "[card ****1117]"
    assert exported["conversation_id"] == first.conversation_id
    # In memory the trace is raw; export(None) is raw too.
    raw_tools = [e.data for e in first.trace if e.kind == "tool"]
    assert raw_tools[0]["result"]["iban"] == IBAN
    assert set(leaks(json.dumps(first.export(redactor=None)))) >= {"IBAN", "UK phone", "email"}
    handed = escalated.export()
    assert handed["handoff"]["resume_token"] == escalated.handoff.resume_token  # type: ignore[union-attr]
    crashed = await agent.handle("c2", CRASH)
    assert crashed.error is not None
    assert crashed.export()["error"] == (
        "RuntimeError: ledger rejected [card ****1111] for j***@example.com ([ssn ***-**-6789])"
    )


# -- eval outputs ----------------------------------------------------------------------------


def test_redacted_records_keep_their_key_seed_and_numbers() -> None:
    record = ConversationRecord(
        agent="agent",
        scenario="s-4111111111111111",
        trial=0,
        seed=4111111111111111110,  # 19 digits, Luhn-valid: must not become a card mask
        intent="BillingDispute",
        expected="resolved",
        verdict="failed",
        reason=f"forbidden action called: charge_card(card={CARD_DOTS!r})",
        handoff_reason=f"SSN {SSN}",
        error=f"ToolError: {EMAIL}",
        latencies_ms=[4111111111111111.0],
    )
    masked = redact_record(record, rk.DEFAULT_REDACTOR)
    assert masked.key == record.key and masked.seed == record.seed
    assert masked.latencies_ms == record.latencies_ms
    assert masked.reason == "forbidden action called: charge_card(card='[card ****1111]')"
    assert (
        masked.handoff_reason == "SSN [ssn ***-**-6789]"
        and masked.error == "ToolError: j***@example.com"
    )
    assert redact_record(record, None) is record


def test_a_redacted_results_file_is_resumable(tmp_path: Path) -> None:
    options = RunOptions(trials=2, out_dir=tmp_path, progress=False)
    first = asyncio.run(run_suite(shop.suite(), options))
    lines = (tmp_path / "results.jsonl").read_text()
    assert first.ran == 12 and leaks(lines) == []
    again = asyncio.run(run_suite(shop.suite(), options))
    assert again.ran == 0
    assert again.records == first.records
    assert len(read_records(tmp_path / "results.jsonl")) == 12


def test_report_writers_redact_a_raw_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = asyncio.run(run_suite(shop.suite(), RunOptions(trials=1, redactor=None, progress=False)))
    report = build_report(run)
    assert run.redactor is None and leaks(report.model_dump_json())
    write_json(report, tmp_path / "r.json")
    write_html(report, tmp_path / "r.html")
    print_scorecard(report)
    assert leaks((tmp_path / "r.json").read_text()) == []
    assert leaks((tmp_path / "r.html").read_text()) == []
    assert leaks(capsys.readouterr().out) == []
    write_json(report, tmp_path / "raw.json", redactor=None)
    assert leaks((tmp_path / "raw.json").read_text())


def test_eval_errors_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["tests.pii_shop", "--suite-arg", "variant=broken", "--trials", "1", "--no-progress"]
    assert eval_main(args) == 1
    err = capsys.readouterr().err
    assert "reference action 'charge_card' failed" in err and "[card ****1111]" in err
    assert leaks(err) == []
    assert eval_main([*args, "--no-redact"]) == 1
    assert CARD_DOTS in capsys.readouterr().err


# -- the privacy test ------------------------------------------------------------------------


def test_nothing_planted_leaves_the_engine_unmasked(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Plant cards, an IBAN, phones, an SSN and an email in customer messages, tool arguments,
    results and errors; run an eval suite to an output folder, hand over to a JSONL queue and a
    callback, export the results and capture the logs: no planted value may appear anywhere,
    as written or with its separators stripped."""
    caplog.set_level(logging.INFO)
    eval_args = ["tests.pii_shop", "--trials", "2", "--no-progress"]

    # The scan finds what it looks for: the same suite run raw leaks into every file.
    raw_out = tmp_path_factory.mktemp("raw-eval")
    assert eval_main([*eval_args, "--out", str(raw_out), "--no-redact"]) == 0
    for name in ("results.jsonl", "report.json", "report.html"):
        assert set(leaks((raw_out / name).read_text())) >= {"card with dots", "IBAN", "email"}
    assert leaks(capsys.readouterr().out)

    # 1. Eval outputs: results.jsonl, report.json, report.html and the terminal report.
    out = tmp_path / "eval"
    assert eval_main([*eval_args, "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"results.jsonl", "report.json", "report.html"}
    # ... and report writers given a raw run (a run made with redactor=None).
    raw_run = asyncio.run(
        run_suite(shop.suite(), RunOptions(trials=1, redactor=None, progress=False))
    )
    raw_report = build_report(raw_run)
    write_json(raw_report, tmp_path / "written" / "report.json")
    write_html(raw_report, tmp_path / "written" / "report.html")
    print_scorecard(raw_report)

    # 2. Handoffs to a JSONL queue and a callback; a raw packet from elsewhere on the queue.
    packets: list[rk.Handoff] = []
    queue = rk.JSONLQueue(tmp_path / "handoffs.jsonl")
    agent = shop.build_agent([queue, rk.CallbackTarget(packets.append)])

    async def converse() -> list[rk.TurnResult]:
        results = list(await _dispute(agent))
        results.append(await agent.handle("c2", CRASH))
        await queue.deliver(_raw_packet())
        return results

    results = asyncio.run(converse())
    assert len(packets) == 2 and len(queue.read()) == 3

    # 3. Exported turn results (the raw ones do hold the planted data), one of them carrying a
    # packet built elsewhere.
    foreign = dataclasses.replace(results[1], handoff=_raw_packet())
    exports = [r.export() for r in [*results, foreign]]
    assert set(leaks(json.dumps([r.export(redactor=None) for r in results]))) >= {
        "card with dots", "card with spaces", "card as a number", "IBAN", "UK phone",
        "US phone", "SSN", "email",
    }  # fmt: skip

    # 4. Logs: the retried tool's warning and the crashed playbook's traceback.
    assert "attempt 1/2" in caplog.text and "crashed" in caplog.text

    outputs = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*.*")}
    outputs["exported results"] = json.dumps(exports)
    outputs["handoff packets"] = json.dumps([p.model_dump(mode="json") for p in packets])
    outputs["logs"] = caplog.text
    terminal = capsys.readouterr()
    outputs["terminal"] = terminal.out + terminal.err
    assert len(outputs) == 10, sorted(outputs)
    found = {name: leaks(text) for name, text in outputs.items() if leaks(text)}
    assert found == {}
    assert "RuntimeError: ledger rejected [card ****1111]" in outputs["logs"]
    assert "[card ****1111]" in outputs["eval/report.html"]
    assert "[iban GB** ****5432]" in outputs["handoffs.jsonl"]
    assert UK_PHONE not in outputs["logs"]


def test_a_custom_policy_reaches_every_output(tmp_path: Path) -> None:
    policy = Redactor(extra_patterns=(("name", r"\bJane\b"),))
    first, _ = asyncio.run(_dispute(shop.build_agent()))
    assert "Jane" in json.dumps(first.export()["trace"])
    assert "Jane" not in json.dumps(first.export(policy))
    options = RunOptions(trials=1, out_dir=tmp_path, progress=False, redactor=policy)
    asyncio.run(run_suite(shop.suite(), options))
    results = (tmp_path / "results.jsonl").read_text()
    assert '"name": "[name]"' in results.replace('":"', '": "') and "Jane" not in results


def test_redacting_records_with_a_memo_gives_what_the_plain_path_gives() -> None:
    # The runner redacts each record through a memo shared by the whole run (a faster path);
    # the result must be exactly the general one, record after record.
    run = asyncio.run(run_suite(shop.suite(), RunOptions(trials=2, progress=False, redactor=None)))
    records = [r for label in run.records.values() for r in label]
    call = records[0].tool_calls[0]
    odd = [  # a card number as an int, a tuple: left to the general path
        records[0].model_copy(update={"tool_calls": [call.model_copy(update={"result": result})]})
        for result in ({"card": 4111111111111111, "n": 3}, {"pair": (EMAIL, SSN)})
    ]
    assert leaks(json.dumps([r.model_dump(mode="json") for r in records]))  # raw: PII inside
    memo: dict[str, str] = {}
    for record in [*records, *odd, *records]:  # the second pass hits the memo
        fast = redact_record(record, rk.DEFAULT_REDACTOR, memo=memo)
        plain = redact_record(record, rk.DEFAULT_REDACTOR)
        assert fast.model_dump(mode="json") == plain.model_dump(mode="json")
        assert fast == plain
    assert memo  # the memo was used
    redacted = [redact_record(r, rk.DEFAULT_REDACTOR, memo=memo) for r in [*records, *odd]]
    assert leaks(json.dumps([r.model_dump(mode="json") for r in redacted])) == []
