"""The helpdesk's intents (examples written by hand: there is no public SaaS-support intent set
in ``../shared/data``)."""

from __future__ import annotations

import resolvekit as rk

from .backend import Plan

__all__ = ["INTENTS", "CancelSubscription", "ChangePlan", "ResetPassword"]


class ResetPassword(rk.Intent):
    """Customer cannot sign in and needs a password reset."""

    intent_title = "reset your password"
    examples = [
        "I forgot my password",
        "reset my password",
        "I can't log in",
        "I'm locked out of my account",
        "my password doesn't work anymore",
        "send me a password reset link",
        "I need a new password",
        "the login keeps saying wrong password",
        "how do I reset my password",
        "I can't sign in to my account",
        "forgot password for my email",
        "please help me get back into my account",
    ]
    email: str = rk.Slot(kind="email", ask="What's the email address you sign in with?")


class ChangePlan(rk.Intent):
    """Customer wants to upgrade or downgrade their subscription plan."""

    verify_first = True  # the signed-in account is found before anything is asked
    intent_title = "change your plan"
    examples = [
        "I want to upgrade my plan",
        "downgrade my subscription",
        "switch me to the business plan",
        "can I move to the starter plan",
        "change my plan to pro",
        "we need a bigger plan",
        "upgrade our workspace",
        "I'd like a cheaper plan",
        "move us to the free plan",
        "change subscription tier",
        "go from pro to business",
        "how do I change my plan",
    ]
    plan: Plan = rk.Slot(
        ask="Which plan would you like: Free, Starter, Pro or Business?",
        synonyms={"free": ["free plan"], "business": ["biz", "enterprise"]},
    )


class CancelSubscription(rk.Intent):
    """Customer wants to cancel their subscription."""

    verify_first = True  # the signed-in account is found before anything is asked
    intent_title = "cancel your subscription"
    examples = [
        "cancel my subscription",
        "I want to cancel my plan",
        "please close my account",
        "stop my subscription",
        "I don't want to pay for this anymore",
        "end my subscription",
        "how do I cancel",
        "we're leaving, cancel our plan",
        "unsubscribe me from the paid plan",
        "I want to stop being charged every month",
        "terminate our contract",
        "cancel the pro plan",
    ]


INTENTS: tuple[type[rk.Intent], ...] = (ResetPassword, ChangePlan, CancelSubscription)
