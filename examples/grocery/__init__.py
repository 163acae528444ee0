"""An online grocery delivery service's support agent: order status and delivery slots (changes
until 8 pm the evening before), missing or damaged items (a refund to the card or as credit, up
to $15 without a photo, a person above), cancelling before picking, substitutions, the delivery
pass, promo codes, and a small FAQ. Written for a second blind first run (issue 15), from the
user docs only.

Talk to it offline::

    .venv/bin/python -m examples.grocery
    .venv/bin/resolvekit chat examples/grocery/__main__.py:agent

Use it from code (the shop's state is the agent's dependency)::

    from examples.grocery import build_agent, demo_state

    agent = build_agent(model="local")
    result = await agent.handle("c-mia", "where is my order G1001?", deps=demo_state())
"""

from .agent import build_agent, faq_knowledge
from .backend import demo_state

__all__ = ["build_agent", "demo_state", "faq_knowledge"]
