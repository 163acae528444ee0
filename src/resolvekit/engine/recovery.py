"""Finishing what a crash interrupted: a playbook run left running with no question pending
(replayed to its started call), and free-mode calls left ``started``."""

from __future__ import annotations

from .escalate import report_unknown_outcomes
from .free import recover_free
from .slots import advance
from .state import TurnState

__all__ = ["recover"]


async def recover(state: TurnState) -> bool:
    """Recover the conversation's interrupted work, if any.

    Returns:
        True when the recovery now needs the customer or a human, so the new message is not
        interpreted this turn.
    """
    if await recover_free(state):
        return True
    conv = state.conv
    run = conv.active_run
    if run is None or run.status != "waiting" or conv.pending is not None:
        return False
    state.note("playbook", event="recover", intent=run.intent, run=run.id)
    state.recovered = True
    await advance(state, run)
    await report_unknown_outcomes(state)
    return state.outcome in ("escalated", "awaiting_customer")
