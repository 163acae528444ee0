"""Reports: JSON round trip, the terminal scorecard, the self-contained HTML structure.

About internals: these tests also check private helpers directly (``resolvekit.evals._html``).
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import resolvekit as rk
from resolvekit.evals import (
    Report,
    ReportError,
    RunOptions,
    build_report,
    load_report,
    print_scorecard,
    run_suite,
    write_html,
    write_json,
)
from resolvekit.evals.demo import suite as demo


@pytest.fixture(scope="module")
def report() -> Report:
    import asyncio

    run = asyncio.run(run_suite(demo, RunOptions(trials=3, progress=False)))
    return build_report(run)


def test_report_metrics_of_the_demo(report: Report) -> None:
    assert list(report.agents) == ["agent", "do_nothing", "gold"]
    agent = report.agent.metrics
    assert (agent.conversations, agent.tasks, agent.trials) == (24, 8, 3)
    assert report.agents["gold"].metrics.success_rate == 1.0
    assert report.agents["do_nothing"].metrics.success_rate == 0.0
    # the demo's keyword model misses one of three phrasings of the address change
    assert 0 < agent.verdicts["deflected"] < 3
    assert all(f.verdict == "deflected" and f.scenario == "change-address" for f in report.failures)
    assert [p.k for p in agent.pass_k] == [1, 2, 3]
    assert agent.pass_k[0].value >= agent.pass_k[2].value


def test_json_report_round_trips(report: Report, tmp_path: Path) -> None:
    path = write_json(report, tmp_path / "out" / "report.json")
    loaded = load_report(path)
    assert loaded.agent.metrics == report.agent.metrics
    assert loaded.failures == report.failures


def test_load_report_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="No report"):
        load_report(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("[1, 2")
    with pytest.raises(ReportError, match="not a JSON report"):
        load_report(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(ReportError, match="not a resolvekit eval report"):
        load_report(tmp_path / "other.json")


def test_scorecard_prints_every_agent_and_metric(report: Report) -> None:
    out = io.StringIO()
    print_scorecard(report, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for needle in (
        "resolution rate",
        "deflection rate",
        "escalation precision",
        "containment",
        "pass^3 [95% CI]",
        "do_nothing",
        "gold",
        "agent by intent",
        "ChangeAddress",
        "change-address",
    ):
        assert needle in text


class _Tree(HTMLParser):
    """Collects (tag, attributes, ancestor ids) of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.elements: list[tuple[str, dict[str, str | None], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        ancestors = [a.get("id") or a.get("class") or t for t, a in self.stack]
        self.elements.append((tag, attributes, [str(x) for x in ancestors]))
        if tag not in ("meta", "br"):
            self.stack.append((tag, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def inside(self, ancestor: str, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a, up in self.elements if t == tag and ancestor in up]


def test_html_report_is_self_contained_with_charts_and_drill_down(
    report: Report, tmp_path: Path
) -> None:
    html = write_html(report, tmp_path / "report.html").read_text()
    tree = _Tree()
    tree.feed(html)
    tags = {t for t, _, _ in tree.elements}
    assert not tags & {"script", "link", "img", "iframe"}
    assert not [a for _, a, _ in tree.elements if "src" in a or "href" in a]
    for chart in ("chart-outcomes", "chart-passk", "chart-intents"):
        assert len(tree.inside(chart, "svg")) == 1, chart
    bars = tree.inside("chart-outcomes", "rect")
    assert {a["data-verdict"] for a in bars if a.get("class") == "bar"} >= {
        "resolved",
        "escalated_correctly",
        "refused_correctly",
        "deflected",
    }
    curves = [a["data-agent"] for a in tree.inside("chart-passk", "polyline")]
    assert curves == ["agent", "do_nothing", "gold"]
    assert len(tree.inside("chart-passk", "polygon")) == 3  # one CI band per agent
    intents = {a.get("data-verdict") for a in tree.inside("chart-intents", "rect")}
    assert "deflected" in intents
    failures = [a for t, a, _ in tree.elements if t == "details"]
    assert len(failures) == len(report.failures) > 0
    assert all(a["data-scenario"] == "change-address" for a in failures)
    assert "End state vs expected" in html and "orders.W1003.address" in html
    assert "Can you send my parcel to my new flat instead?" in html


def test_html_escapes_conversation_text(report: Report) -> None:
    from resolvekit.evals._html import render_html

    failure = report.failures[0]
    turns = [failure.turns[0].model_copy(update={"text": "<script>alert(1)</script>"})]
    hostile = report.model_copy(update={"failures": [failure.model_copy(update={"turns": turns})]})
    html = render_html(hostile)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_a_gold_baseline_with_nothing_to_replay_is_left_out() -> None:
    from resolvekit.evals import RunOptions, Scenario, Suite, run_suite
    from resolvekit.evals.report import build_report

    def make(model: rk.Model | None) -> rk.Agent[Any]:
        return rk.Agent(
            model=rk.FunctionModel(lambda r: rk.Reply(text="hi")),
            store="memory://",
            handoff=[],
            free_mode=True,
        )

    suite = Suite(name="s", agent=make, scenarios=[Scenario(id="a", user=["hello"])])
    run = await run_suite(suite, RunOptions(trials=1, progress=False, baselines=True))
    report = build_report(run)
    assert run.records["agent"][0].error is None
    assert "gold" not in report.agents  # no scenario has reference actions
    assert "do_nothing" in report.agents
