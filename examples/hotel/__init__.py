"""A hotel's guest-service agent: look up, change (price difference and change fee) and cancel
bookings (refund by days before arrival), breakfast and extra beds, loyalty points and a free
night, complaints (a credit up to $50, a person above), and a policies FAQ. Written for a blind
first run (issue 15), from the user docs only.

Talk to it offline::

    .venv/bin/python -m examples.hotel
    .venv/bin/resolvekit chat examples/hotel/__main__.py:agent

Use it from code (the hotel's state is the agent's dependency)::

    from examples.hotel import build_agent, demo_state

    agent = build_agent(model="local")
    result = await agent.handle("g-ana", "cancel my booking HB1001", deps=demo_state())
"""

from .agent import build_agent, faq_knowledge
from .backend import demo_state

__all__ = ["build_agent", "demo_state", "faq_knowledge"]
