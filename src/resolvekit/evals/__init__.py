"""Eval suites: resolution vs deflection, with simulated customers, pass^k and reports.

A :class:`Suite` pairs an agent factory with :class:`Scenario` s; :func:`run_suite` plays each
scenario several times against the agent (and the ``do_nothing`` / ``gold`` baselines), scores
every conversation into exactly one class (resolved, escalated_correctly, refused_correctly,
deflected, escalated_wrongly, failed) and :func:`build_report` aggregates the metrics::

    from resolvekit.evals import RunOptions, build_report, load_suite, run_suite

    run = await run_suite(load_suite("demo"), RunOptions(trials=3))
    report = build_report(run)

Names are imported lazily; rich (the ``evals`` extra) and PyYAML load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Scenario": "scenario",
    "ScenarioApprover": "scenario",
    "Expect": "scenario",
    "ForbiddenAction": "scenario",
    "ToolCall": "scenario",
    "load_scenarios": "scenario",
    "ScriptedUser": "users",
    "GoalUser": "users",
    "LLMUser": "users",
    "Fact": "users",
    "SimulatedUser": "users",
    "UserSession": "users",
    "AgentTurn": "users",
    "UserMove": "users",
    "Suite": "suite",
    "load_suite": "suite",
    "RunOptions": "runner",
    "SuiteRun": "runner",
    "run_suite": "runner",
    "ConversationRecord": "records",
    "Verdict": "records",
    "classify": "scoring",
    "Observation": "scoring",
    "Metrics": "metrics",
    "compute_metrics": "metrics",
    "pass_hat_k": "metrics",
    "Report": "report",
    "build_report": "report",
    "load_report": "report",
    "write_html": "report",
    "write_json": "report",
    "print_scorecard": "report",
    "compare_reports": "compare",
    "do_nothing_agent": "baselines",
    "ScenarioError": "errors",
    "SuiteNotFound": "errors",
    "ReportError": "errors",
}

__all__ = [
    "AgentTurn",
    "ConversationRecord",
    "Expect",
    "Fact",
    "ForbiddenAction",
    "GoalUser",
    "LLMUser",
    "Metrics",
    "Observation",
    "Report",
    "ReportError",
    "RunOptions",
    "Scenario",
    "ScenarioApprover",
    "ScenarioError",
    "ScriptedUser",
    "SimulatedUser",
    "Suite",
    "SuiteNotFound",
    "SuiteRun",
    "ToolCall",
    "UserMove",
    "UserSession",
    "Verdict",
    "build_report",
    "classify",
    "compare_reports",
    "compute_metrics",
    "do_nothing_agent",
    "load_report",
    "load_scenarios",
    "load_suite",
    "pass_hat_k",
    "print_scorecard",
    "run_suite",
    "write_html",
    "write_json",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), list(__all__))


if TYPE_CHECKING:
    from .baselines import do_nothing_agent
    from .compare import compare_reports
    from .errors import ReportError, ScenarioError, SuiteNotFound
    from .metrics import Metrics, compute_metrics, pass_hat_k
    from .records import ConversationRecord, Verdict
    from .report import (
        Report,
        build_report,
        load_report,
        print_scorecard,
        write_html,
        write_json,
    )
    from .runner import RunOptions, SuiteRun, run_suite
    from .scenario import (
        Expect,
        ForbiddenAction,
        Scenario,
        ScenarioApprover,
        ToolCall,
        load_scenarios,
    )
    from .scoring import Observation, classify
    from .suite import Suite, load_suite
    from .users import (
        AgentTurn,
        Fact,
        GoalUser,
        LLMUser,
        ScriptedUser,
        SimulatedUser,
        UserMove,
        UserSession,
    )
