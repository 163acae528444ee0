"""The eval report as data: what a suite run measured, per agent, and its failed conversations.

:mod:`resolvekit.evals.report` builds, writes and prints it; the HTML renderer reads it. Both
import it from here, so neither imports the other at module level.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .metrics import Metrics
from .records import ConversationRecord

__all__ = ["REPORT_VERSION", "AgentReport", "ConversationSummary", "Report"]

REPORT_VERSION = 1
"""The version written into every JSON report (``report_version``)."""


class ConversationSummary(BaseModel):
    """One conversation in one line."""

    scenario: str
    trial: int
    intent: str
    verdict: str
    reason: str


class AgentReport(BaseModel):
    """One agent's metrics and conversations."""

    label: str
    metrics: Metrics
    conversations: list[ConversationSummary]


class Report(BaseModel):
    """A suite run: every agent's metrics, and the full record of each agent failure."""

    report_version: int = REPORT_VERSION
    suite: str
    description: str = ""
    created: str
    model: str
    trials: int
    seed: int
    elapsed_s: float
    agents: dict[str, AgentReport]
    """``agent`` first, then the baselines that ran (``do_nothing``, ``gold``)."""
    failures: list[ConversationRecord] = Field(default_factory=list)
    """The agent's conversations that did not meet their expectation, with transcripts."""

    @property
    def agent(self) -> AgentReport:
        return self.agents["agent"]
