"""The grocery shop's intents (examples written by hand: there is no grocery intent set in
``../shared/data``)."""

from __future__ import annotations

import datetime as dt

import resolvekit as rk

from .backend import Problem, RefundTo, Substitutions, Window

__all__ = [
    "INTENTS",
    "AddItems",
    "ApplyPromo",
    "CancelOrder",
    "ChangeSlot",
    "ItemProblem",
    "OrderStatus",
    "PausePass",
    "ResumePass",
    "SeriousComplaint",
    "SubstitutionPreference",
]

WINDOW_SYNONYMS = {
    "morning": ["in the morning", "before noon", "before lunch", "early", "am"],
    "afternoon": ["after lunch", "in the afternoon", "midday"],
    "evening": ["in the evening", "after work", "tonight", "night", "late"],
}


class OrderStatus(rk.Intent):
    """Customer asks where their grocery order is or when it will be delivered."""

    intent_title = "check on your order"
    examples = [
        "where is my order",
        "when will my groceries arrive",
        "when is my delivery coming",
        "what's the status of my order",
        "has my shopping been sent yet",
        "what time is my delivery",
        "is my order on its way",
        "track my order",
        "when does my food shopping get here",
        "I'm still waiting for my groceries",
        "what delivery slot did I book",
        "can you check on order G1234",
        "which day is my delivery",
        "where are my groceries",
    ]


class ChangeSlot(rk.Intent):
    """Customer wants to move an order's delivery to another day or time slot."""

    intent_title = "change your delivery slot"
    examples = [
        "can I change my delivery slot",
        "move my delivery to Saturday morning",
        "I need a different delivery time",
        "can my order come on Friday instead",
        "reschedule my delivery",
        "I won't be home, can you deliver another day",
        "change the delivery time of my order",
        "can you deliver in the evening instead",
        "push my delivery to tomorrow afternoon",
        "I want to pick a new delivery slot",
        "move order G1234 to Thursday",
        "change my delivery day",
        "could the groceries come later in the week",
        "switch my slot to the afternoon",
    ]
    day: dt.date = rk.Slot(ask="What day would you like it delivered instead?")
    window: Window = rk.Slot(
        ask="What time window would suit you: morning (8 am - 12 pm), afternoon (12 pm - 4 pm) "
        "or evening (4 pm - 8 pm)?",
        synonyms=WINDOW_SYNONYMS,
    )


class ItemProblem(rk.Intent):
    """Customer reports an item missing from a delivered order or arriving damaged, and wants
    a refund."""

    intent_title = "report a missing or damaged item"
    examples = [
        "an item was missing from my delivery",
        "my order came without the milk",
        "the eggs were broken",
        "something was damaged in my order",
        "I didn't get the bread I paid for",
        "the strawberries were mouldy",
        "you forgot the bananas",
        "a jar arrived smashed",
        "I want a refund for a missing item",
        "the yoghurt was leaking",
        "half my shopping was squashed",
        "there was no coffee in my bags",
        "one of my items never arrived",
        "the chicken was out of date when it came",
    ]
    problem: Problem | None = rk.Slot(
        None,
        description="whether the item was missing or damaged",
        synonyms={
            "missing": [
                "without",
                "didn't get",
                "did not get",
                "wasn't in",
                "never arrived",
                "forgot",
                "left out",
                "not in the bag",
            ],
            "damaged": [
                "broken",
                "smashed",
                "mouldy",
                "moldy",
                "crushed",
                "squashed",
                "leaking",
                "spoiled",
                "rotten",
                "cracked",
                "out of date",
                "off",
                "bad",
            ],
        },
    )
    # Optional, asked by the playbook once the claim is known to be refundable (so a claim
    # above the no-photo limit goes to a person without asking where the money should go).
    refund_method: RefundTo | None = rk.Slot(
        None,
        description="where the refund goes: the card or account credit",
        synonyms={
            "card": ["my card", "bank card", "back to my card", "original payment", "credit card"],
            "credit": [
                "account credit",
                "store credit",
                "as credit",
                "voucher",
                "balance",
                "on my account",
                "to my account",
                "my account",
            ],
        },
    )


class CancelOrder(rk.Intent):
    """Customer wants to cancel a grocery order."""

    intent_title = "cancel an order"
    examples = [
        "cancel my order",
        "I don't need my groceries anymore",
        "please cancel order G1234",
        "I want to cancel my delivery",
        "stop my order",
        "I ordered by mistake, cancel it",
        "can I still cancel my shopping",
        "call off my grocery order",
        "I won't be needing that delivery, cancel it",
        "cancel the whole order please",
        "get rid of my order",
        "how do I cancel my order",
    ]


class SubstitutionPreference(rk.Intent):
    """Customer wants to change what happens when an item is out of stock (substitutions)."""

    intent_title = "change your substitutions preference"
    examples = [
        "change my substitution preference",
        "I don't want substitutions",
        "no substitutes please",
        "stop substituting my items",
        "please substitute with a similar item if something is out of stock",
        "only substitute the same brand",
        "if something is out of stock just leave it out",
        "I'd like substitutes when items are unavailable",
        "update my substitutions setting",
        "don't replace items with other products",
        "no subs",
        "what happens if an item is out of stock, I want to change that",
    ]
    preference: Substitutions = rk.Slot(
        ask="What's your substitution preference: the best match, the same brand only, or no "
        "substitutions?",
        synonyms={
            "no substitutions": [
                "no subs",
                "no substitutes",
                "don't substitute",
                "leave it out",
                "stop substituting",
                "don't want any substitutions",
                "none",
                "don't replace",
            ],
            "best match": [
                "closest match",
                "similar item",
                "similar",
                "alternative",
                "substitute it",
                "closest",
                "best",
            ],
            "same brand only": ["same brand", "only the same brand", "brand"],
        },
    )


class PausePass(rk.Intent):
    """Customer wants to pause their delivery pass subscription."""

    intent_title = "pause your delivery pass"
    examples = [
        "pause my delivery pass",
        "can I pause my subscription",
        "I'm going away, pause my pass",
        "put my delivery pass on hold",
        "stop my delivery pass for a while",
        "I don't need the pass for a month, can I freeze it",
        "suspend my delivery subscription",
        "hold my delivery pass payments",
        "pause the monthly pass",
        "take a break from my delivery pass",
    ]


class ResumePass(rk.Intent):
    """Customer wants to resume (restart) a paused delivery pass."""

    intent_title = "resume your delivery pass"
    examples = [
        "resume my delivery pass",
        "restart my subscription",
        "I'm back, turn my delivery pass on again",
        "unpause my pass",
        "reactivate my delivery pass",
        "start my delivery pass again",
        "continue my subscription",
        "switch my pass back on",
        "end the pause on my delivery pass",
        "resume the monthly pass please",
    ]


class ApplyPromo(rk.Intent):
    """Customer wants to apply a promo code or voucher to an order."""

    intent_title = "apply a promo code"
    examples = [
        "apply a promo code to my order",
        "I have a discount code",
        "can you add voucher SAVE10 to my order",
        "use promo code SPRING5",
        "my code didn't work at checkout, can you apply it",
        "I forgot to enter my coupon",
        "put this discount code on my order",
        "can I still use a voucher on my order",
        "apply code FREEDEL to order G1234",
        "I've got a promo code for money off",
        "add my discount to the order",
        "redeem a coupon code",
    ]
    code: str = rk.Slot(pattern=r"[A-Za-z]{3,}\d{1,3}", ask="What's the promo code?")


class AddItems(rk.Intent):
    """Customer wants to add items to (or remove items from) an order; done in the app."""

    intent_title = "add items to an order"
    examples = [
        "can I add milk to my order",
        "add bananas to my order please",
        "I forgot to order bread, can you add it",
        "put some eggs on my delivery",
        "can I change the items in my order",
        "remove the wine from my order",
        "I want to add more things to my shopping",
        "take the cheese off my order",
        "can you add two more pizzas to order G1234",
        "I need to add something to my groceries",
    ]


class SeriousComplaint(rk.Intent):
    """Customer raises something that needs a person's judgement: food safety, illness, an
    allergic reaction, or a complaint about a driver's behaviour."""

    intent_title = "a complaint"
    examples = [
        "the food made me sick",
        "my child got ill after eating the chicken",
        "I had an allergic reaction to something you delivered",
        "there was glass in my food",
        "the driver was rude to me",
        "your delivery driver damaged my door",
        "I want to make a complaint about the driver",
        "the meat smelled rotten and we got food poisoning",
        "your driver was aggressive",
        "I want to file a formal complaint",
        "the driver left my shopping in the rain and was rude",
        "I found something disgusting in my salad and felt ill",
    ]


INTENTS: tuple[type[rk.Intent], ...] = (
    OrderStatus,
    ChangeSlot,
    ItemProblem,
    CancelOrder,
    SubstitutionPreference,
    PausePass,
    ResumePass,
    ApplyPromo,
    AddItems,
    SeriousComplaint,
)
