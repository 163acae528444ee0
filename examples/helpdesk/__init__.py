"""A SaaS helpdesk agent: password reset with identity verification, prorated plan changes,
cancellation with a retention offer, and invoice questions from a small knowledge base.

Talk to it offline::

    .venv/bin/python -m examples.helpdesk           # demo conversations

Use it from code (the helpdesk's state is the agent's dependency)::

    from examples.helpdesk import build_agent, demo_state

    agent = build_agent(model="local")
    result = await agent.handle("acc-lena", "I want to upgrade to Business", deps=demo_state())
"""

from .agent import build_agent, faq_knowledge
from .backend import PRICES, demo_state, proration
from .intents import INTENTS

__all__ = ["INTENTS", "PRICES", "build_agent", "demo_state", "faq_knowledge", "proration"]
