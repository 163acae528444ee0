"""The bank's playbooks: freeze or activate a card, dispute a charge (a person approves those
above the limit), send, cancel and check transfers."""

from __future__ import annotations

import re
from typing import Any

import resolvekit as rk

from .backend import DISPUTE_LIMIT, Bank, Card, Transaction, Transfer
from .intents import (
    ActivateCard,
    CancelTransfer,
    DisputeCharge,
    FreezeCard,
    SendTransfer,
    TransferStatus,
)

__all__ = ["mentioned", "register_playbooks"]

_WORD = re.compile(r"[a-z0-9]+")


def mentioned(text: str, names: list[str]) -> list[str]:
    """The names among ``names`` that ``text`` mentions: the whole name, or any of its words
    of four letters or more ("Maria" for "Maria Silva", "streamflix" for "StreamFlix")."""
    words = set(_WORD.findall(text.lower()))
    found = []
    for name in names:
        parts = _WORD.findall(name.lower())
        if name.lower() in text.lower() or any(p in words for p in parts if len(p) >= 4):
            found.append(name)
    return found


async def named_or_asked(
    ctx: rk.Context[Bank], names: list[str], question: str, *, name: str
) -> list[str]:
    """The names the request mentions, else those of the customer's answer to ``question``."""
    named = mentioned(ctx.request_text, names)
    if not named:
        named = mentioned(await ctx.ask(question, name=name), names)
    return named


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


async def _card(ctx: rk.Context[Bank], last4: str) -> Card | None:
    found = await ctx.try_call("get_card", last4=last4)
    if isinstance(found, rk.ToolError):
        if found.kind == "refused":
            return None
        raise found
    card: Card = found
    return card


CHECKED_PAYEE = "checked_payee"
"""The fact the transfer's early check remembers the payee under, for its playbook."""


def register_playbooks(agent: rk.Agent[Bank]) -> None:
    """Register the bank's playbooks on ``agent`` (its tools must be registered first)."""

    @agent.check(SendTransfer)
    async def payee_saved(ctx: rk.Context[Bank], intent: SendTransfer) -> rk.PlaybookOutcome | None:
        # Before the amount is asked: money goes only to a saved payee, so "send money to Tom"
        # (not saved) is refused before asking how much.
        payees: list[str] = await ctx.call("list_payees")
        question = f"Who should I send it to? Your saved payees are {', '.join(payees)}."
        named = await named_or_asked(ctx, payees, question, name="payee")
        if not named:
            return ctx.refuse(
                "payee not saved",
                reply="I can only send money to your saved payees "
                f"({', '.join(payees)}). You can add a new payee in the app.",
            )
        ctx.remember(CHECKED_PAYEE, named[0])
        return None

    @agent.playbook(FreezeCard)
    async def freeze(ctx: rk.Context[Bank], intent: FreezeCard) -> rk.PlaybookOutcome:
        card = await _card(ctx, intent.last4)
        if card is None:
            return ctx.refuse(
                "card not on this account",
                reply=f"I can't find a card ending in {intent.last4} on your account, so I "
                "can't freeze it. The card's holder needs to contact us.",
            )
        if card.status == "frozen":
            return ctx.resolve(f"Your card ending in {card.last4} is already frozen.")
        if not await ctx.confirm(f"Shall I freeze your {card.kind} card ending in {card.last4}?"):
            return ctx.resolve("card left active", reply="OK, I've left the card as it is.")
        await ctx.call("freeze_card", last4=card.last4)
        return ctx.resolve(
            f"Your card ending in {card.last4} is frozen: no payment can go through with it."
        )

    @agent.playbook(ActivateCard)
    async def activate(ctx: rk.Context[Bank], intent: ActivateCard) -> rk.PlaybookOutcome:
        card = await _card(ctx, intent.last4)
        if card is None:
            return ctx.refuse(
                "card not on this account",
                reply=f"I can't find a card ending in {intent.last4} on your account.",
            )
        if card.status != "inactive":
            return ctx.resolve(f"Your card ending in {card.last4} is already {card.status}.")
        if not await ctx.confirm(f"Shall I activate your {card.kind} card ending in {card.last4}?"):
            return ctx.resolve("card not activated", reply="OK, I haven't activated it.")
        await ctx.call("activate_card", last4=card.last4)
        return ctx.resolve(f"Your card ending in {card.last4} is active and ready to use.")

    @agent.playbook(DisputeCharge)
    async def dispute(ctx: rk.Context[Bank], intent: DisputeCharge) -> rk.PlaybookOutcome:
        txs: list[Transaction] = await ctx.call("list_transactions")
        merchants = sorted({t.merchant for t in txs})
        question = (
            "Which charge is it? Please tell me the merchant name as it appears on your statement."
        )
        named = await named_or_asked(ctx, merchants, question, name="merchant")
        if not named:
            return ctx.refuse(
                "no such charge",
                reply="I can't find a charge from that merchant on your account. Your recent "
                f"charges are from {', '.join(merchants)}.",
            )
        matches = [t for t in txs if t.merchant == named[0]]
        twice = len(matches) > 1 and len({(t.amount, t.date) for t in matches}) == 1
        tx = matches[0]  # the newest; for a double charge, the second one
        if tx.disputed:
            return ctx.refuse(
                "already disputed",
                reply=f"The {_money(tx.amount)} charge from {tx.merchant} is already disputed; "
                "we answer disputes within 10 working days.",
            )
        if tx.amount > DISPUTE_LIMIT:
            return ctx.escalate(
                f"dispute of {_money(tx.amount)} ({tx.id}, {tx.merchant}, {tx.date}) is above "
                f"the {_money(DISPUTE_LIMIT)} limit and needs a supervisor's approval",
                priority="normal",
                reply=f"A dispute of {_money(tx.amount)} needs a colleague's approval. I've "
                "passed them the details of the charge, so you won't need to repeat anything.",
            )
        what = "the duplicate" if twice else "the"
        question = (
            f"Shall I dispute {what} {_money(tx.amount)} charge from {tx.merchant} on {tx.date}?"
        )
        if not await ctx.confirm(question):
            return ctx.resolve("no dispute filed", reply="OK, I haven't disputed it.")
        reason = "charged twice" if twice else "not recognised"
        await ctx.call("file_dispute", transaction_id=tx.id, reason=reason)
        return ctx.resolve(
            f"I've disputed the {_money(tx.amount)} charge from {tx.merchant}. We'll answer "
            "within 10 working days."
        )

    @agent.playbook(SendTransfer)
    async def send(ctx: rk.Context[Bank], intent: SendTransfer) -> rk.PlaybookOutcome:
        payee: str = ctx.facts[CHECKED_PAYEE]  # found by payee_saved in this very run
        balance: float = await ctx.call("get_balance")
        if intent.amount > balance:
            return ctx.refuse(
                "insufficient funds",
                reply=f"Your balance is {_money(balance)}, which isn't enough to send "
                f"{_money(intent.amount)}.",
            )
        if not await ctx.confirm(f"Shall I send {_money(intent.amount)} to {payee}?"):
            return ctx.resolve("nothing sent", reply="OK, I haven't sent anything.")
        sent = await ctx.try_call("send_transfer", payee=payee, amount=intent.amount)
        if isinstance(sent, rk.ToolError):
            if sent.kind == "refused":
                return ctx.refuse(sent.message, reply=f"I couldn't send it: {sent.message}.")
            raise sent
        transfer: Transfer = sent
        return ctx.resolve(
            f"Done: {_money(transfer.amount)} is on its way to {payee} (transfer {transfer.id})."
        )

    async def _transfer(ctx: rk.Context[Bank], rows: list[Transfer]) -> Transfer | None:
        named = mentioned(ctx.request_text, sorted({t.payee for t in rows}))
        chosen = [t for t in rows if t.payee in named] if named else rows
        return chosen[0] if chosen else None

    @agent.playbook(CancelTransfer)
    async def cancel(ctx: rk.Context[Bank], intent: CancelTransfer) -> rk.PlaybookOutcome:
        rows: list[Transfer] = await ctx.call("list_transfers")
        pending = [t for t in rows if t.status == "pending"]
        named = mentioned(ctx.request_text, sorted({t.payee for t in rows}))
        if named and not any(t.payee in named for t in pending):
            done = next(t for t in rows if t.payee in named)
            return ctx.refuse(
                "transfer not pending",
                reply=f"The {_money(done.amount)} transfer to {done.payee} is already "
                f"{done.status}, so it can't be cancelled.",
            )
        transfer = await _transfer(ctx, pending)
        if transfer is None:
            return ctx.refuse("nothing pending", reply="You have no pending transfer to cancel.")
        if not await ctx.confirm(
            f"Shall I cancel the {_money(transfer.amount)} transfer to {transfer.payee}?"
        ):
            return ctx.resolve("transfer kept", reply="OK, the transfer goes ahead.")
        await ctx.call("cancel_transfer", transfer_id=transfer.id)
        return ctx.resolve(
            f"The transfer to {transfer.payee} is cancelled and {_money(transfer.amount)} is "
            "back in your balance."
        )

    @agent.playbook(TransferStatus)
    async def status(ctx: rk.Context[Bank], intent: TransferStatus) -> rk.PlaybookOutcome:
        transfer = await _transfer(ctx, await ctx.call("list_transfers"))
        if transfer is None:
            return ctx.resolve("You haven't made any transfers yet.")
        note: dict[str, Any] = {
            "pending": "it usually arrives within 1 working day",
            "completed": "it has reached the recipient's bank",
            "cancelled": "the money is back in your balance",
        }
        return ctx.resolve(
            f"Your {_money(transfer.amount)} transfer to {transfer.payee} on {transfer.date} "
            f"is {transfer.status}: {note.get(transfer.status, '')}."
        )
