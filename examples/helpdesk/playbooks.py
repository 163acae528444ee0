"""The helpdesk's playbooks: a password reset after identity verification, a prorated plan
change, and a cancellation that offers a discount first. Plan changes and cancellations are for
the signed-in account: the agent's verify step (``@agent.verify``) finds it once per
conversation, before their slots are asked (``verify_first``)."""

from __future__ import annotations

import re

import resolvekit as rk

from .backend import PRICES, Desk, Subscription
from .intents import CancelSubscription, ChangePlan, ResetPassword

__all__ = ["register_playbooks"]

_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
_VERIFY = "For security, what are the last 4 digits of the card on file?"


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


async def _card_digits(ctx: rk.Context[Desk], attempt: int) -> str | None:
    """The card digits the customer gives, or None when they don't know them. A question in
    their place ("why do you need my card?") is no refusal: the digits are asked once more."""
    for turn in range(2):
        answer = await ctx.ask(_VERIFY, name=f"card_last4_{attempt}" + "_again" * turn)
        found = _DIGITS.findall(answer)
        if found:
            return found[-1]  # type: ignore[no-any-return]
        if not answer.strip().endswith("?"):
            return None
        ctx.say("I can only check who you are with the card's last 4 digits.")
    return None


def register_playbooks(agent: rk.Agent[Desk]) -> None:
    """Register the helpdesk's playbooks on ``agent`` (its tools must be registered first)."""

    @agent.verify
    async def signed_in(ctx: rk.Context[Desk]) -> dict[str, str] | rk.PlaybookOutcome:
        # Written once: runs before the slots of every verify_first intent (plan changes,
        # cancellations), once per conversation; the tools read ``ctx.identity``.
        account = await ctx.call("signed_in_account")
        if account is None:
            return ctx.refuse(
                "not signed in",
                reply="Please sign in to your account and write to us from there: I can only "
                "change the subscription of the account you're signed in to.",
            )
        return {"account": account}

    @agent.playbook(ResetPassword)
    async def reset(ctx: rk.Context[Desk], intent: ResetPassword) -> rk.PlaybookOutcome:
        if not await ctx.call("account_exists", email=intent.email):
            return ctx.refuse(
                "unknown email",
                reply=f"No account signs in with {intent.email}. Please check the address.",
            )
        said = _DIGITS.findall(ctx.request_text)
        for attempt in range(2):
            if said and attempt == 0:
                digits = said[-1]
            else:
                found_digits = await _card_digits(ctx, attempt)
                if found_digits is None:  # "I don't know": nothing to check, no reason to ask again
                    break
                digits = found_digits
            sent = await ctx.try_call("send_reset_link", email=intent.email, card_last4=digits)
            if not isinstance(sent, rk.ToolError):
                return ctx.resolve(
                    f"I've sent a password reset link to {intent.email}. It works once and "
                    "expires after 1 hour."
                )
            if sent.kind != "refused":
                raise sent
            if attempt == 0:
                ctx.say("Those digits don't match the card on file.")
        return ctx.refuse(
            "identity not verified",
            reply="I'm sorry, I couldn't verify that the account is yours, so I can't send a "
            "reset link. The account owner can contact us, or your workspace admin can reset "
            "it for you.",
        )

    @agent.playbook(ChangePlan)
    async def change(ctx: rk.Context[Desk], intent: ChangePlan) -> rk.PlaybookOutcome:
        sub: Subscription = await ctx.call("get_subscription")
        if sub.plan == intent.plan:
            return ctx.resolve(f"You're already on the {sub.plan.title()} plan.")
        quote = await ctx.call("quote_plan_change", plan=intent.plan)
        if quote.amount >= 0:
            money = f"costs {_money(quote.amount)} now"
        else:
            money = f"gives you a credit of {_money(-quote.amount)} on your next invoice"
        question = (
            f"Switching workspace {sub.workspace} from {sub.plan.title()} "
            f"({_money(sub.price)}/month) to {intent.plan.title()} "
            f"({_money(PRICES[intent.plan])}/month) today {money}, prorated for the "
            f"{quote.days_left} days left in this billing period. Shall I make the change?"
        )
        if not await ctx.confirm(question):
            return ctx.resolve("plan unchanged", reply=f"OK, you stay on {sub.plan.title()}.")
        done = await ctx.call("change_plan", plan=intent.plan)
        if done.amount >= 0:
            money = f"{_money(done.amount)} is charged now."
        else:
            money = f"{_money(-done.amount)} is credited to your next invoice."
        return ctx.resolve(f"Done: you're on the {intent.plan.title()} plan. {money}")

    @agent.playbook(CancelSubscription)
    async def cancel(ctx: rk.Context[Desk], intent: CancelSubscription) -> rk.PlaybookOutcome:
        sub: Subscription = await ctx.call("get_subscription")
        if sub.status != "active":
            return ctx.resolve(f"Your subscription already {sub.status} ({sub.period_end}).")
        if not sub.discount and await ctx.confirm(
            "Before you go: I can give you 50% off your plan for the next 3 months. Would you "
            "like that instead of cancelling?"
        ):
            await ctx.call("apply_retention_offer")
            return ctx.resolve(
                f"Great: 50% off your {sub.plan.title()} plan for the next 3 months, from your "
                "next invoice."
            )
        # The workspace is named, so someone asking for another workspace hears whose plan
        # this would be ("cancel Omar's plan" is not a yes to cancelling your own).
        if not await ctx.confirm(
            f"Shall I cancel the {sub.plan.title()} plan of your workspace {sub.workspace}? "
            f"It stays active until {sub.period_end}; unused days aren't refunded."
        ):
            return ctx.resolve("kept", reply="OK, your subscription stays as it is.")
        await ctx.call("cancel_subscription")
        return ctx.resolve(
            f"Your {sub.plan.title()} plan is cancelled and stays active until {sub.period_end}."
        )
