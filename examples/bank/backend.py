"""The bank's system of record: plain data (cards, transactions, payees, transfers, disputes)
and the tools the agent reaches it with.

The state is a JSON-ready mapping, so an eval scenario can hold it inline and compare end
states; every tool checks that what it touches belongs to ``ctx.customer_id``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

import resolvekit as rk

__all__ = [
    "DISPUTE_LIMIT",
    "Card",
    "Transaction",
    "Transfer",
    "demo_state",
    "register_tools",
]

Bank = dict[str, Any]
"""The state: ``customers``, ``cards``, ``transactions``, ``payees``, ``transfers``,
``disputes`` and ``today``."""

DISPUTE_LIMIT = 250.0
"""Disputes above this amount need a supervisor's approval (today: a person takes over)."""


class Card(BaseModel):
    last4: str
    kind: str
    status: str


class Transaction(BaseModel):
    id: str
    card: str
    merchant: str
    amount: float
    date: str
    disputed: bool


class Transfer(BaseModel):
    id: str
    payee: str
    amount: float
    status: str
    date: str


def _card(bank: Bank, customer: str, last4: str) -> dict[str, Any]:
    card = bank["cards"].get(last4.strip())
    if card is None or card["owner"] != customer:
        raise rk.ToolRefusal(f"there is no card ending in {last4} on your account")
    return card  # type: ignore[no-any-return]


def register_tools(agent: rk.Agent[Bank]) -> dict[str, rk.Tool[Any]]:
    """Register the bank's tools on ``agent``; returns them by name."""

    @agent.tool(effect="read")
    def get_card(ctx: rk.Context[Bank], last4: str) -> Card:
        """Look up one of the customer's cards.

        Args:
            last4: the last four digits of the card number.
        """
        card = _card(ctx.deps, ctx.customer_id, last4)
        return Card(last4=last4.strip(), kind=card["kind"], status=card["status"])

    @agent.tool(effect="write", confirm=True)
    def freeze_card(ctx: rk.Context[Bank], last4: str) -> Card:
        """Freeze (block) a card so no payment goes through.

        Args:
            last4: the last four digits of the card number.
        """
        card = _card(ctx.deps, ctx.customer_id, last4)
        card["status"] = "frozen"
        return Card(last4=last4.strip(), kind=card["kind"], status=card["status"])

    @agent.tool(effect="write", confirm=True)
    def activate_card(ctx: rk.Context[Bank], last4: str) -> Card:
        """Activate a newly received card.

        Args:
            last4: the last four digits of the card number.
        """
        card = _card(ctx.deps, ctx.customer_id, last4)
        if card["status"] != "inactive":
            raise rk.ToolRefusal(f"card ending in {last4} is {card['status']}, not inactive")
        card["status"] = "active"
        return Card(last4=last4.strip(), kind=card["kind"], status=card["status"])

    @agent.tool(effect="read")
    def list_transactions(ctx: rk.Context[Bank]) -> list[Transaction]:
        """The customer's recent card transactions, newest first."""
        mine = _owned_by(ctx.deps["transactions"], ctx.customer_id)
        return [Transaction(id=tid, **_shown(t)) for tid, t in mine]

    @agent.tool(effect="write", confirm=True)
    def file_dispute(ctx: rk.Context[Bank], transaction_id: str, reason: str) -> Transaction:
        """Dispute a card transaction (up to the agent's approval limit).

        Args:
            transaction_id: the transaction's id, e.g. T1001.
            reason: why the customer disputes it.
        """
        tx = ctx.deps["transactions"].get(transaction_id)
        if tx is None or tx["owner"] != ctx.customer_id:
            raise rk.ToolRefusal(f"no transaction {transaction_id} on your account")
        if tx["disputed"]:
            raise rk.ToolRefusal(f"transaction {transaction_id} is already disputed")
        if tx["amount"] > DISPUTE_LIMIT:
            raise rk.ToolRefusal(f"disputes above ${DISPUTE_LIMIT:.2f} need approval")
        tx["disputed"] = True
        ctx.deps["disputes"][transaction_id] = {"amount": tx["amount"], "reason": reason}
        return Transaction(id=transaction_id, **_shown(tx))

    @agent.tool(effect="read")
    def list_payees(ctx: rk.Context[Bank]) -> list[str]:
        """The names of the customer's saved payees."""
        return list(ctx.deps["payees"].get(ctx.customer_id, []))

    @agent.tool(effect="read")
    def get_balance(ctx: rk.Context[Bank]) -> float:
        """The customer's available balance."""
        return float(ctx.deps["customers"][ctx.customer_id]["balance"])

    @agent.tool(effect="write", confirm=True)
    def send_transfer(ctx: rk.Context[Bank], payee: str, amount: float) -> Transfer:
        """Send money to a saved payee.

        Args:
            payee: the saved payee's name.
            amount: the amount in dollars.
        """
        bank = ctx.deps
        customer = bank["customers"][ctx.customer_id]
        if payee not in bank["payees"].get(ctx.customer_id, []):
            raise rk.ToolRefusal(f"{payee} is not one of your saved payees")
        if amount <= 0:
            raise rk.ToolRefusal("the amount must be positive")
        if amount > customer["balance"]:
            raise rk.ToolRefusal("insufficient funds")
        if amount > customer["daily_limit"]:
            raise rk.ToolRefusal(f"above your daily limit of ${customer['daily_limit']:.2f}")
        tid = f"TR{500 + len(bank['transfers']) + 1}"
        customer["balance"] = round(customer["balance"] - amount, 2)
        record = {"owner": ctx.customer_id, "payee": payee, "amount": amount,
                  "status": "pending", "date": bank["today"]}  # fmt: skip
        bank["transfers"][tid] = record
        return Transfer(id=tid, **_shown(record))

    @agent.tool(effect="read")
    def list_transfers(ctx: rk.Context[Bank]) -> list[Transfer]:
        """The customer's transfers, newest first."""
        mine = _owned_by(ctx.deps["transfers"], ctx.customer_id)
        return [Transfer(id=tid, **_shown(t)) for tid, t in mine]

    @agent.tool(effect="write", confirm=True)
    def cancel_transfer(ctx: rk.Context[Bank], transfer_id: str) -> Transfer:
        """Cancel a pending transfer and return the money to the balance.

        Args:
            transfer_id: the transfer's id, e.g. TR501.
        """
        bank = ctx.deps
        record = bank["transfers"].get(transfer_id)
        if record is None or record["owner"] != ctx.customer_id:
            raise rk.ToolRefusal(f"no transfer {transfer_id} on your account")
        if record["status"] != "pending":
            raise rk.ToolRefusal(f"transfer {transfer_id} is already {record['status']}")
        record["status"] = "cancelled"
        customer = bank["customers"][ctx.customer_id]
        customer["balance"] = round(customer["balance"] + record["amount"], 2)
        return Transfer(id=transfer_id, **_shown(record))

    tools = (get_card, freeze_card, activate_card, list_transactions, file_dispute, list_payees,
             get_balance, send_transfer, list_transfers, cancel_transfer)  # fmt: skip
    return {tool.name: tool for tool in tools}


_DEMO: Bank = {
    "today": "2026-12-07",
    "customers": {
        "cust-ana": {"name": "Ana Silva", "balance": 1250.0, "daily_limit": 1000.0},
        "cust-ben": {"name": "Ben Okafor", "balance": 80.0, "daily_limit": 500.0},
    },
    "cards": {
        "4821": {"owner": "cust-ana", "kind": "debit", "status": "active"},
        "7730": {"owner": "cust-ana", "kind": "credit", "status": "inactive"},
        "5512": {"owner": "cust-ben", "kind": "debit", "status": "active"},
    },
    "transactions": {
        "T1001": {"owner": "cust-ana", "card": "4821", "merchant": "Bluebird Cafe",
                  "amount": 18.5, "date": "2026-12-01", "disputed": False},
        "T1002": {"owner": "cust-ana", "card": "4821", "merchant": "SkyJet Airlines",
                  "amount": 640.0, "date": "2026-12-02", "disputed": False},
        "T1003": {"owner": "cust-ana", "card": "4821", "merchant": "StreamFlix",
                  "amount": 15.99, "date": "2026-12-03", "disputed": False},
        "T1004": {"owner": "cust-ana", "card": "4821", "merchant": "StreamFlix",
                  "amount": 15.99, "date": "2026-12-03", "disputed": False},
        "T1005": {"owner": "cust-ana", "card": "4821", "merchant": "Gadget Hub",
                  "amount": 129.0, "date": "2026-12-04", "disputed": True},
        "T1006": {"owner": "cust-ana", "card": "4821", "merchant": "City Power",
                  "amount": 96.4, "date": "2026-12-05", "disputed": False},
        "T1007": {"owner": "cust-ben", "card": "5512", "merchant": "Bluebird Cafe",
                  "amount": 7.25, "date": "2026-12-02", "disputed": False},
    },
    "payees": {"cust-ana": ["John Carter", "Maria Silva", "Greenway Rentals"], "cust-ben": []},
    "transfers": {
        "TR501": {"owner": "cust-ana", "payee": "Greenway Rentals", "amount": 900.0,
                  "status": "completed", "date": "2026-12-01"},
        "TR502": {"owner": "cust-ana", "payee": "Maria Silva", "amount": 150.0,
                  "status": "pending", "date": "2026-12-06"},
    },
    "disputes": {"T1005": {"amount": 129.0, "reason": "item never arrived"}},
}  # fmt: skip


def demo_state() -> Bank:
    """A fresh copy of the demo bank (two customers; Ana has the interesting records)."""
    return copy.deepcopy(_DEMO)


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the customer sees it: without its owner."""
    return {k: v for k, v in record.items() if k != "owner"}


def _owned_by(table: dict[str, dict[str, Any]], customer: str) -> list[tuple[str, dict[str, Any]]]:
    """The customer's records of ``table``, newest first (by date, then id)."""
    rows = [(rid, r) for rid, r in table.items() if r["owner"] == customer]
    return sorted(rows, key=lambda row: (row[1]["date"], row[0]), reverse=True)
