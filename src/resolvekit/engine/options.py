"""Quick replies for the question a turn leaves open (``TurnResult.options``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from ..intents import Intent, spec_from_schema

if TYPE_CHECKING:
    from ..sessions import Conversation, PlaybookRun
    from ..specs import IntentSpec

__all__ = ["YES_NO", "IntentSpecs", "quick_replies"]


class IntentSpecs(Protocol):
    """What quick replies need of an agent: its intents and their specs."""

    @property
    def intents(self) -> Mapping[str, type[Intent]]: ...

    def intent_spec(self, name: str) -> IntentSpec: ...


YES_NO = ["yes", "no"]
"""The answers offered for a confirmation: words the engine's consent reader reads clearly."""


def quick_replies(agent: IntentSpecs, conv: Conversation, run: PlaybookRun | None) -> list[str]:
    """What a client may offer as buttons for the open question: yes/no for a confirmation
    (and for offering an interrupted request again), the choices of a slot or of an
    ``ctx.ask`` whose type has them (a ``Literal``, an ``Enum``); [] for free text."""
    pending = conv.pending
    if pending is None:
        return []
    if pending.kind in ("confirm", "tool_confirm", "resume"):
        return list(YES_NO)
    run = conv.run(pending.run_id) if pending.run_id else run
    if run is None:
        return []
    if pending.kind == "slot" and run.intent in agent.intents:
        for slot in agent.intent_spec(run.intent).slots:
            if slot.name == pending.slot:
                return list(slot.choices)
        return []
    if pending.kind == "ask" and pending.step is not None and pending.step < len(run.journal):
        args = run.journal[pending.step].args
        schema = args.get("schema")
        if isinstance(schema, dict):
            return list(spec_from_schema(str(args.get("name")), schema, pending.question).choices)
    return []
