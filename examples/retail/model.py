"""RetailModel: the offline model with a retail-specific correction of its decisions.

LocalModel reads each turn generically (and already hands the playbooks' own free-text questions
the customer's whole message). One habit of retail customers needs more:

- A request the classifier cannot place (a long story with the actual wish in it) still names
  what the customer wants done: "exchange", "return", "cancel", "the shipping address"... When
  the model would answer from the knowledge base or ask what the customer means, a clear action
  verb starts that action's intent instead; and a question about money totals ("how much do I
  get back in total?") goes to :class:`~examples.retail.intents.MoneyQuestion`, which the
  classifier tends to confuse with returns.

LocalModel's queueing of several requests said in one message is turned off: the retail
playbooks read the whole message and chain its requests themselves.

Everything else is the wrapped model's decision, unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from resolvekit.messages import AnswerFromKnowledge, AskClarification, StartIntent
from resolvekit.models import Model, ModelRequest, ModelResponse

from .parsing import find_order_ids

__all__ = ["RetailModel", "route"]

_MONEY = re.compile(
    r"\b(how much|total (amount|refund|sum|price|cost|difference)|in total|altogether|overall"
    r"|add up)\b"
)
_MONEY_WHAT = re.compile(
    r"\b(refund\w*|get back|back|pay|paid|owe|charged?|save|saving|total|money)\b"
)


@dataclass(frozen=True, kw_only=True)
class _Rule:
    intent: str
    pattern: re.Pattern[str]


_RULES = (
    _Rule(intent="ExchangeItems", pattern=re.compile(r"\bexchang\w*")),
    _Rule(intent="CancelOrder", pattern=re.compile(r"\bcancel\w*")),
    _Rule(
        intent="ModifyUserAddress",
        pattern=re.compile(
            r"\b(default|account|profile|user|home) address|address (on|in) (my )?"
            r"(account|profile|file)"
        ),
    ),
    _Rule(
        intent="ModifyOrderAddress",
        pattern=re.compile(r"\b(shipping|delivery) address|\baddress of (my|the) \w* ?order"),
    ),
    _Rule(
        intent="ModifyOrderPayment",
        pattern=re.compile(r"\bpayment method|\b(pay|paying) (with|by|using)\b|\bsplit the pay"),
    ),
    _Rule(intent="ReturnItems", pattern=re.compile(r"\breturn\w*|\bsend \w+ back\b|\brefund me")),
    _Rule(
        intent="ModifyOrderItems",
        pattern=re.compile(r"\b(modify|change|switch|upgrade|swap)\b"),
    ),
    _Rule(intent="OrderStatus", pattern=re.compile(r"\btracking\b|\bwhere is my\b")),
)


def route(text: str, intents: set[str]) -> str | None:
    """The intent a clear retail wording names: the action verb or money-total question said
    first ("return ..., and exchange ..." -> returns). None when nothing clear is said."""
    lowered = text.lower()
    first: tuple[int, str] | None = None
    money = _MONEY.search(lowered)
    if "MoneyQuestion" in intents and money is not None and _MONEY_WHAT.search(lowered):
        first = (money.start(), "MoneyQuestion")
    for rule in _RULES:
        if rule.intent not in intents:
            continue
        match = rule.pattern.search(lowered)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), rule.intent)
    return first[1] if first else None


class RetailModel(Model):
    """Wraps a model (normally :class:`resolvekit.models.local.LocalModel`) for retail turns.

    Args:
        inner: the model making every decision this one does not correct.
    """

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = f"retail+{inner.name}"
        self.capabilities = inner.capabilities

    async def request(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.request(request)
        if request.task != "turn":
            return response
        if isinstance(response.decision, StartIntent) and response.decision.then:
            # The retail playbooks take several requests of one message from the whole text
            # themselves ("cancel ..., return the watch, and tell me the total"), with the
            # money ledger; queueing the clauses as separate requests would split what they
            # read as one (retail pass^1 81.1% -> 78.4% with the queue).
            single = response.decision.model_copy(update={"then": []})
            response = replace(response, decision=single)
        decision = response.decision
        pending = request.pending
        text = request.text
        if pending is not None:
            return response
        names = {spec.name for spec in request.intents}
        wanted = route(text, names)
        if wanted is None:
            return response
        money = wanted == "MoneyQuestion"
        vague = isinstance(decision, AnswerFromKnowledge | AskClarification)
        if vague or (money and isinstance(decision, StartIntent) and decision.intent != wanted):
            return replace(
                response,
                decision=StartIntent(intent=wanted, slots=_slots(text, wanted, request)),
                confidence=max(response.confidence or 0.0, 0.9),
            )
        return response


def _slots(text: str, intent: str, request: ModelRequest) -> dict[str, str]:
    spec = next((s for s in request.intents if s.name == intent), None)
    if spec is None or not any(slot.name == "order_id" for slot in spec.slots):
        return {}
    ids = find_order_ids(text)
    return {"order_id": ids[0]} if ids else {}
