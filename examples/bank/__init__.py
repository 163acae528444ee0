"""A bank's customer-service agent: cards, disputes (a person approves those above $250),
transfers, and FAQ answers. Written as a new user would, from the user docs only.

Talk to it offline::

    .venv/bin/python -m examples.bank               # demo conversations
    .venv/bin/resolvekit chat examples/bank/__main__.py:agent

Use it from code (the bank's state is the agent's dependency)::

    from examples.bank import build_agent, demo_state

    agent = build_agent(model="local")
    result = await agent.handle("cust-ana", "I lost my card ending 4821", deps=demo_state())
"""

from .agent import build_agent, faq_knowledge
from .backend import DISPUTE_LIMIT, demo_state
from .intents import INTENTS, BankDataMissing, banking77_dir

__all__ = [
    "DISPUTE_LIMIT",
    "INTENTS",
    "BankDataMissing",
    "banking77_dir",
    "build_agent",
    "demo_state",
    "faq_knowledge",
]
