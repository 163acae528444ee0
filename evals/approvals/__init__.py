"""Supervisor approvals on the retail agent: returns whose refund is above the automatic limit
wait for a team lead's decision (``ctx.approve``), decided by the scenario's approver.

Run it::

    resolvekit eval evals/approvals --trials 1
"""
