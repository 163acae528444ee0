"""A billing agent whose customers, tools and errors are full of personal data, and its suite.

Used by tests/test_privacy.py to check that nothing planted here leaves the engine unmasked;
``resolvekit eval tests.pii_shop`` finds :func:`suite`.
"""

from __future__ import annotations

from typing import Any

import resolvekit as rk
from resolvekit.evals import Expect, Scenario, Suite, ToolCall
from resolvekit.models import ModelRequest

CARD_DOTS = "4111.1111.1111.1111"
CARD_SPACES = "5500 0055 5555 5559"
CARD_INT = 6011111111111117
"""A card number a backend returns as a JSON number."""
IBAN = "GB82 WEST 1234 5698 7654 32"
UK_PHONE = "+44 20 7946 0958"
UK_MOBILE = "07700 900123"
US_PHONE = "(555) 123-4567"
SSN = "123-45-6789"
EMAIL = "jane.doe@example.com"

PLANTED = {
    "card with dots": CARD_DOTS,
    "card with spaces": CARD_SPACES,
    "card as a number": str(CARD_INT),
    "IBAN": IBAN,
    "UK phone": UK_PHONE,
    "UK mobile": UK_MOBILE,
    "US phone": US_PHONE,
    "SSN": SSN,
    "email": EMAIL,
}
"""What must never leave the engine, by name."""

OPENING = (
    f"My card {CARD_DOTS} was charged twice! Call me on {UK_PHONE} or {US_PHONE}, or mail {EMAIL}."
)
HUMAN = f"Just get me a human. My SSN is {SSN}, mobile {UK_MOBILE}."
CRASH = f"Check the ledger for {EMAIL} please"


def leaks(text: str) -> list[str]:
    """The planted values found in ``text``, as written or with separators stripped."""
    found = []
    compact_text = _compact(text)
    for name, value in PLANTED.items():
        if value in text or _compact(value) in compact_text:
            found.append(name)
    if "jane.doe" in text:
        found.append("email local part")
    return found


def _compact(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c == "@")


class BillingDispute(rk.Intent):
    """Customer disputes a card charge."""

    examples = ("I was charged twice",)
    card: str = rk.Slot(ask="Which card?")
    phone: str = rk.Slot(ask="What number can we call you on?")
    email: str = rk.Slot(ask="What is your email?")


class LedgerCheck(rk.Intent):
    """Customer wants the ledger checked."""

    examples = ("check the ledger",)


def decide(request: ModelRequest) -> Any:
    """A stand-in model: reads the planted values out of the messages."""
    text = request.text
    if "human" in text:
        return rk.Escalate(reason=f"customer wants a person; SSN {SSN} given")
    if "ledger" in text:
        return rk.StartIntent(intent="LedgerCheck")
    if request.active_intent is None:
        slots = {"card": CARD_DOTS, "phone": UK_PHONE, "email": EMAIL}
        return rk.StartIntent(intent="BillingDispute", slots=slots)
    return rk.Reply(text="Could you say that again?")


def build_agent(handoff: list[rk.HandoffTarget] | None = None) -> rk.Agent[Any]:
    """The billing agent; without ``handoff``, handoffs are only on ``TurnResult.handoff``."""
    agent: rk.Agent[Any] = rk.Agent(
        name="PII shop",
        model=rk.FunctionModel(decide),
        store="memory://",
        handoff=handoff if handoff is not None else [],
        escalation=rk.EscalationPolicy(sentiment_floor=None, max_tool_failures=5),
    )
    flaky = {"failures": 1}

    @agent.tool
    async def find_customer(phone: str, email: str) -> dict[str, Any]:
        """Find a customer by phone and email."""
        return {
            "name": "Jane",
            "iban": IBAN,
            "ssn": SSN,
            "phone": US_PHONE,
            "note": f"backup card {CARD_SPACES}",
            "card_number": CARD_INT,
        }

    @agent.tool(retry=rk.RetryPolicy(attempts=2, initial=0.001, max_wait=0.001))
    async def check_fraud(email: str) -> str:
        """Check the fraud service."""
        if flaky["failures"]:
            flaky["failures"] -= 1
            raise rk.RetryableToolError(f"fraud service timed out for {email} / {UK_PHONE}")
        return "clear"

    @agent.tool(effect="write")
    async def charge_card(card: str, amount: float) -> str:
        """Charge a card."""
        raise rk.ToolRefusal(f"card {card} declined; refund to {IBAN} instead")

    @agent.playbook(BillingDispute)
    async def dispute(ctx: rk.Context[Any], intent: BillingDispute) -> rk.PlaybookOutcome:
        ctx.remember("contact", f"{intent.email} / {intent.phone}")
        customer = await ctx.call(find_customer, phone=intent.phone, email=intent.email)
        await ctx.call(check_fraud, email=intent.email)
        await ctx.try_call(charge_card, card=intent.card, amount=12.5)
        await ctx.search(f"refunds to {customer['iban']} for {intent.email}")
        if await ctx.confirm(f"Shall I refund to {customer['iban']} and text {intent.phone}?"):
            return ctx.resolve(f"refunded; SSN {customer['ssn']} checked")
        return ctx.resolve("nothing refunded")

    @agent.playbook(LedgerCheck)
    async def ledger(ctx: rk.Context[Any], intent: LedgerCheck) -> rk.PlaybookOutcome:
        raise RuntimeError(f"ledger rejected {CARD_DOTS} for {EMAIL} ({SSN})")

    return agent


SCENARIOS = [
    Scenario(
        id="dispute-goes-to-a-human",
        user=[OPENING, HUMAN],
        expect=Expect(outcome="escalated"),
    ),
    Scenario(
        id="dispute-should-resolve",
        description=f"the customer ({EMAIL}) wants the charge on {CARD_DOTS} reversed",
        user=[OPENING, HUMAN],
        initial_state={"contact": {"phone": UK_PHONE}},
        expect=Expect(
            outcome="resolved",
            state={"contact": {"phone": US_PHONE}, "refund_to": IBAN},
            facts=[f"we will call {US_PHONE}"],
            forbidden=["charge_card"],
        ),
    ),
    Scenario(id="ledger-crash", user=[CRASH], expect=Expect(outcome="resolved")),
]

BROKEN = Scenario(
    id="broken-reference",
    user=[OPENING],
    reference_actions=[ToolCall(tool="charge_card", args={"card": CARD_DOTS, "amount": 1.0})],
)
"""Its gold action fails, with the card number in the error: the run stops with a
ScenarioError."""


def suite(variant: str = "plain") -> Suite:
    """The suite; ``variant="broken"`` adds :data:`BROKEN`."""
    scenarios = SCENARIOS + ([BROKEN] if variant == "broken" else [])
    return Suite(
        name="pii",
        description=f"billing disputes (test data: {EMAIL})",
        agent=lambda model: build_agent(),
        scenarios=scenarios,
    )
