"""The turn engine (internal): one customer message against one loaded conversation.

:class:`~resolvekit.engine.turn.Turn` runs a turn for an agent described by
:class:`~resolvekit.engine.setup.AgentSetup` (what the engine reads from ``Agent``; the engine
never imports the agent). The modules, from the bottom up: ``setup`` and ``state`` (what a turn
works with), ``requests`` (the model's request, the decision's validity), ``escalate``,
``clarify`` (knowledge answers and clarifications), ``execute`` (running a playbook),
``slots`` (starting requests, collecting slots), ``confirm``, ``free`` (free mode),
``recovery`` (what a crash interrupted), ``bookkeeping`` (receipts, compaction) and ``turn``
(the step loop and the dispatch of decisions). See docs/architecture.md.
"""

from __future__ import annotations

from .bookkeeping import compact, keep_receipt, receipt_result
from .setup import AgentSetup
from .turn import Turn

__all__ = ["AgentSetup", "Turn", "compact", "keep_receipt", "receipt_result"]
