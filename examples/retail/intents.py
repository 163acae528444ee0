"""What retail customers ask for: one intent per request type, with the phrases that train
LocalModel (written for this example, not taken from the benchmark's tasks)."""

from __future__ import annotations

from typing import Literal

import resolvekit as rk

from .parsing import REASON_SYNONYMS

__all__ = [
    "INTENTS",
    "CancelOrder",
    "EndConversation",
    "ExchangeItems",
    "ModifyOrderAddress",
    "ModifyOrderItems",
    "ModifyOrderPayment",
    "ModifyUserAddress",
    "MoneyQuestion",
    "OrderStatus",
    "ProductInfo",
    "Reason",
    "ReturnItems",
    "UserInfo",
]

Reason = Literal["no longer needed", "ordered by mistake"]

ORDER_PATTERN = r"#?[Ww]\d{7}"


def _order_slot() -> str | None:
    # Never reused from an earlier request: "return one order, exchange another".
    result: str | None = rk.Slot(
        None,
        pattern=ORDER_PATTERN,
        remember=False,
        description="the order number, e.g. #W1234567, when the customer gives it",
    )
    return result


class CancelOrder(rk.Intent):
    """Customer wants to cancel an order that has not shipped yet (status pending)."""

    examples = [
        "I want to cancel my order",
        "please cancel an order I placed",
        "cancel order #W1234567",
        "I'd like to cancel my recent purchase",
        "I don't want the things I ordered anymore, can you cancel the order",
        "I placed an order by mistake and need to cancel it",
        "can I still cancel my order before it ships",
        "stop my order from being sent",
        "I changed my mind about my purchase, cancel it please",
        "call off the order I made yesterday",
        "I need to cancel all of my pending orders",
        "my order hasn't shipped yet and I want to cancel it",
        "get rid of my pending order",
        "I accidentally bought something twice, cancel one order",
        "how do I cancel an order",
        "cancel the whole order please",
        "cancel the pending order with the laptop and the desk lamp, I don't need it",
        "please cancel my order for the coffee maker, I ordered it by mistake",
    ]
    order_id: str | None = _order_slot()
    reason: Reason | None = rk.Slot(
        None,
        remember=False,
        synonyms=REASON_SYNONYMS,
    )


class ModifyOrderItems(rk.Intent):
    """Customer wants to change items of a pending order to another option of the same product
    (size, color, material...) before it ships."""

    examples = [
        "I want to change an item in my pending order",
        "can I modify the items in my order before it ships",
        "I ordered the wrong size, can you change it before it ships",
        "please switch the color of something I just ordered",
        "modify my order to a different version of the product",
        "I'd like to update the options of an item I ordered but haven't received",
        "change the shirt in my order to a large",
        "can I swap an item in my pending order for another variant",
        "I want a different color for the item in my recent order",
        "update my order so the laptop has more storage",
        "I need to change the size of the shoes I ordered yesterday",
        "modify the pending order items",
        "I just placed an order and want to change one of the products options",
        "can you upgrade an item in my order that hasn't shipped",
        "change the item I ordered to a cheaper option",
        "I'd like to change the jacket in my pending order to one with size L and color black",
        "for my order that hasn't shipped, switch the sneakers to size 9 in white",
    ]
    order_id: str | None = _order_slot()


class ModifyOrderAddress(rk.Intent):
    """Customer wants to change the shipping address of a pending order."""

    examples = [
        "I need to change the shipping address on my order",
        "please ship my order to a different address",
        "update the delivery address of my pending order",
        "my order is going to the wrong address",
        "can you send my order somewhere else",
        "change where my order will be delivered",
        "I moved, can my order go to my new place",
        "the address on my order is wrong",
        "fix the shipping address for order #W1234567",
        "redirect my package to another address before it ships",
        "I want my pending orders delivered to my new address",
        "correct the address on my recent purchase",
        "update the shipping address of my pending order with the bookshelf",
    ]
    order_id: str | None = _order_slot()


class ModifyOrderPayment(rk.Intent):
    """Customer wants to pay a pending order with a different payment method."""

    examples = [
        "I want to change the payment method for my order",
        "can I pay for my order with a different card",
        "switch my order's payment to PayPal",
        "use my gift card for the order instead",
        "change how I paid for my pending order",
        "I'd like to pay with my credit card instead of paypal",
        "update the payment method on order #W1234567",
        "can you charge a different card for my order",
        "I want to use another payment method for my purchase",
        "move the payment of my order to my gift card",
        "pay for my order with my other card",
    ]
    order_id: str | None = _order_slot()


class ReturnItems(rk.Intent):
    """Customer wants to return items from an order that was delivered and get a refund."""

    examples = [
        "I want to return an item",
        "I'd like to return something I received",
        "how do I send back my order",
        "I want a refund for the items I got",
        "return the things I ordered",
        "the product I received is not what I wanted, I want to return it",
        "please help me return my delivered order",
        "I want my money back for an item",
        "can I return part of my order",
        "return order #W1234567",
        "I received a damaged item and want to return it",
        "I need to return a few items from my last delivery",
        "start a return for me",
        "I don't like what I received, can I get a refund",
        "send back the item and refund me",
        "I'd like to return everything I bought",
        "I'd like to return the blender and the water bottle from my delivered order",
        "return the headphones from the order that arrived last week and refund me",
    ]
    order_id: str | None = _order_slot()


class ExchangeItems(rk.Intent):
    """Customer wants to exchange delivered items for another option of the same product."""

    examples = [
        "I want to exchange an item I received",
        "can I exchange something for a different size",
        "I got the wrong color, I want to swap it for another one",
        "exchange the item I received for a different version",
        "I'd like to trade my delivered item for another option",
        "the shoes I got don't fit, can I exchange them",
        "swap the product I received for the same one in blue",
        "I want to exchange part of my delivered order",
        "exchange order #W1234567",
        "can I get a different model of what I received",
        "I'd like the same item but with other features instead of what was delivered",
        "I received my order and want to exchange a couple of things",
        "replace the item I got with a bigger one",
        "exchange my delivered item for another variant",
        "I want to exchange the product I bought for a different option",
        "I received my order and want to exchange the tea kettle for the same one but in ceramic",
        "exchange the running shoes I got for size 10 and the backpack for a black one",
    ]
    order_id: str | None = _order_slot()


class ModifyUserAddress(rk.Intent):
    """Customer wants to change the default address on their account profile."""

    examples = [
        "I want to update my default address",
        "change the address on my account",
        "I moved, please update my profile address",
        "update my home address in my account",
        "my account address is out of date",
        "set a new default shipping address for my profile",
        "change my user address",
        "please update my address on file",
        "I have a new address, update my account",
        "edit the default address saved in my profile",
    ]


class OrderStatus(rk.Intent):
    """Customer asks about an order: its status, items, tracking number or delivery."""

    examples = [
        "where is my order",
        "what's the status of my order",
        "has my order shipped yet",
        "can you give me the tracking number for my order",
        "track my package",
        "what's in my order #W1234567",
        "when will my order arrive",
        "tell me about my recent order",
        "what items did I order",
        "I need the tracking number of the order",
        "is my order delivered",
        "show me the details of my order",
        "which items are in my order",
        "what did I buy in that order",
        "can you tell me the tracking number of the order that was sent to my old address",
    ]
    order_id: str | None = _order_slot()


class ProductInfo(rk.Intent):
    """Customer asks about products in the store: which options exist, availability, prices."""

    examples = [
        "what options do you have for this product",
        "how many t-shirt options are available",
        "is the laptop available in silver",
        "what colors does the water bottle come in",
        "tell me about the available keyboards",
        "how much does the coffee maker cost",
        "what sizes are available for the hiking boots",
        "which products do you sell",
        "do you have any headphones in stock",
        "list the variants of the desk lamp",
        "what are the prices of the smart watches",
        "is there a cheaper version of the tablet",
        "what kinds of products does your store have",
        "how many options of the t-shirt are available in your online store now",
    ]
    product: str | None = rk.Slot(None, description="the product type the customer asks about")


class UserInfo(rk.Intent):
    """Customer asks about their own account: profile, address, payment methods, list of
    orders, gift card balance."""

    examples = [
        "what's on my account",
        "what payment methods do I have",
        "what is my gift card balance",
        "list all my orders",
        "what address do you have for me",
        "show me my profile",
        "I don't remember my order numbers, can you look them up",
        "which orders do I have",
        "what email is on my account",
        "how much is left on my gift card",
        "can you tell me my account details",
    ]


class MoneyQuestion(rk.Intent):
    """Customer asks how much money they get back or pay: the total of the refunds and charges
    in this conversation, or what they paid for their orders."""

    examples = [
        "how much will I get back in total",
        "what is the total refund amount",
        "how much money will be refunded to me altogether",
        "how much do I need to pay in total",
        "what's the total I'll be charged for these changes",
        "can you tell me the total amount I get back",
        "how much did I pay for my order",
        "what was the total of my last order",
        "add up all my refunds for me",
        "so how much is coming back to my card overall",
        "how much money do I get back from the returns and cancellations",
        "what is the sum of what I'll be refunded",
        "how much do I owe you after the exchange",
        "tell me the total price difference I pay",
    ]


class EndConversation(rk.Intent):
    """Customer has nothing more to ask and is ending the conversation."""

    examples = [
        "no thanks, bye",
        "that's all, thank you",
        "nothing else",
        "no, that will be all",
        "no that's it",
        "I'm done, thanks",
        "no more questions",
        "that's everything, goodbye",
        "all good, thanks for the help",
        "nope, that's all I needed",
    ]


INTENTS: tuple[type[rk.Intent], ...] = (
    CancelOrder,
    ModifyOrderItems,
    ModifyOrderAddress,
    ModifyOrderPayment,
    ReturnItems,
    ExchangeItems,
    ModifyUserAddress,
    OrderStatus,
    ProductInfo,
    UserInfo,
    MoneyQuestion,
    EndConversation,
)
