"""A retail customer-service agent on the τ²-bench retail domain.

Talk to it offline::

    .venv/bin/python -m examples.retail              # a random customer from db.json
    .venv/bin/python -m examples.retail --demo       # a short scripted conversation

Use it from code (the database is the agent's dependency)::

    from examples.retail import build_agent, load_db

    db = load_db()
    agent = build_agent(model="local")
    result = await agent.handle("customer-1", "I want to return something", deps=db)

Replay τ²-bench actions on a database (what evals compare against)::

    from examples.retail import apply_action

    apply_action(db, "cancel_pending_order", {"order_id": "#W…", "reason": "no longer needed"})
"""

from .agent import INSTRUCTIONS, build_agent, policy_knowledge
from .db import DATA_ENV, DataMissing, RetailDB, data_dir, diff_dbs, load_db
from .tools import ACTIONS, WRITE_ACTIONS, InvalidAction, apply_action

__all__ = [
    "ACTIONS",
    "DATA_ENV",
    "INSTRUCTIONS",
    "WRITE_ACTIONS",
    "DataMissing",
    "InvalidAction",
    "RetailDB",
    "apply_action",
    "build_agent",
    "data_dir",
    "diff_dbs",
    "load_db",
    "policy_knowledge",
]
