"""What the task-driven customer knows and wants, derived from a τ²-bench task.

The customer's goals come from the task's reference *write* actions: which order, which items,
which new variants, which payment method, which reason, which address. A real customer knows
what they want, so this is fair knowledge; but everything the customer *says* is put into
words here, from the catalogue and the customer's own records — never item, product or user
ids, and an order id only when the task's text mentions it. Questions the customer asks come
from the task's text ("You want to know ..."). See docs/benchmarks.md for the limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .data import Action, Task
from .english import (
    SECRET,
    address_line,
    describe_items,
    describe_options,
    is_stage_direction,
    join_words,
    split_sentences,
    spoken_part,
    strip_identity,
    to_first_person,
)

__all__ = [
    "Goal",
    "GoalKind",
    "Identity",
    "derive_goals",
    "derive_identity",
    "known_sentences",
    "opening_for",
]

GoalKind = Literal[
    "cancel",
    "return",
    "exchange",
    "modify_items",
    "order_address",
    "user_address",
    "order_payment",
    "question",
    "transfer",
    "decline",
]
"""``decline``: a request the customer makes but must not see carried out (the correct end
state is "no change"); ``transfer``: a request only a human can handle."""

_KINDS: dict[str, GoalKind] = {
    "cancel_pending_order": "cancel",
    "return_delivered_order_items": "return",
    "exchange_delivered_order_items": "exchange",
    "modify_pending_order_items": "modify_items",
    "modify_pending_order_address": "order_address",
    "modify_user_address": "user_address",
    "modify_pending_order_payment": "order_payment",
}
VERBS: dict[GoalKind, tuple[str, ...]] = {
    "cancel": ("cancel",),
    "return": ("return",),
    "exchange": ("exchange",),
    "modify_items": ("modify", "change", "update"),
    "order_address": ("address", "ship", "deliver", "send"),
    "user_address": ("address", "default", "profile", "account"),
    "order_payment": ("payment", "pay", "paid", "charge", "charged"),
    "question": (),
    "transfer": (),
    "decline": (),
}
"""Words a confirmation of each kind of action contains."""
_REASONS = {
    "no longer needed": "It's no longer needed.",
    "ordered by mistake": "I ordered it by mistake.",
}


class Goal(BaseModel):
    """One thing the customer wants, with its answers to the agent's questions about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: GoalKind
    request: str
    """How the customer asks for it (first person)."""
    order: str | None = None
    """How the customer names the order: ``#W1234567`` when its scenario mentions the id, else
    a description ("my delivered order with the helmet and the grill")."""
    items: str | None = None
    options: str | None = None
    """The wanted new options, in catalogue words."""
    payment: str | None = None
    reason: str | None = None
    address: str | None = None
    all_items: bool = False
    """The goal covers every item of the order."""
    confirm_needs: list[str] = Field(default_factory=list)
    """Words a confirmation of this goal mentions (item names, new option values, address)."""
    confirm_avoids: list[str] = Field(default_factory=list)
    """Words showing the agent means something else (the order's other products)."""
    mentions: list[str] = Field(default_factory=list)
    """Words showing that the agent is talking about this goal."""
    order_ref: str | None = None
    """The order's id, used only to *recognise* it when the agent shows it (as a person knows
    their order number when they see it); said only when the agent said it first."""


class Identity(BaseModel):
    """What the customer can say about who they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emails: list[str] = Field(default_factory=list)
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    forgot_email: bool = False
    """The scenario says the customer does not remember (or have) an e-mail address."""


# -- identity --------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}")
_USER_ID = re.compile(r"\b([a-z]+)_([a-z]+)_\d{3,5}\b")
_NAME = re.compile(
    r"\b(?:You are|You're|Your name is|You name is|name is|called)\s+"
    r"([A-Z][a-z]+)(?:\s+([A-Z][a-z]+)\b)?"
)
_ZIP = re.compile(r"\b\d{5}\b")


def derive_identity(task: Task, user: Mapping[str, Any] | None) -> Identity:
    """The customer's identity facts, from the task's ``known_info`` only.

    A full name is completed from the customer's user id ("mei_kovacs_8020" -> Mei Kovacs) or,
    when the scenario gives the first name, from the customer's own record: a person knows
    their last name.
    """
    known = task.instructions.known_info or ""
    unknown = task.instructions.unknown_info or ""
    emails = _EMAIL.findall(known)
    first = last = None
    match = _NAME.search(known)
    if match:
        first, last = match.group(1), match.group(2)
    uid = _USER_ID.search(known)
    if uid and (first is None or last is None) and (first is None or first.lower() == uid[1]):
        first, last = uid.group(1).title(), uid.group(2).title()
    if first is not None and last is None and user and user["name"]["first_name"] == first:
        last = user["name"]["last_name"]
    zips = _ZIP.findall(known)
    forgot = "email" in unknown.lower() or bool(re.search(r"don't have an email", known, re.I))
    return Identity(
        emails=emails,
        first_name=first,
        last_name=last,
        zip=zips[-1] if zips else None,
        forgot_email=forgot and not emails,
    )


# -- opening and questions -------------------------------------------------------------------

_QUESTION = re.compile(
    r"^(?:(?:after|once)\b[^,]*,\s*)?(?:(?:also|finally|lastly|then|first),?\s+)?(?:you\s+)?(?:(?:also|then)\s+)?"
    r"(?:(?:want|wants|would like) to (?P<verb>know|check|ask)\b|(?P<wonder>wonder)\b|"
    r"(?P<ask>ask) the agent\b)(?P<rest>.*)$",
    re.IGNORECASE,
)
_CLAUSE_QUESTION = re.compile(
    r"\b(?:and|,)\s+(?:you\s+)?(?:also\s+)?(?:want|would like) to know\b(?P<rest>.*)$",
    re.IGNORECASE,
)


def _said(sentence: str) -> str:
    return strip_identity(to_first_person(spoken_part(sentence)))


def _spoken_sentences(task: Task) -> list[str]:
    sentences = split_sentences(task.instructions.reason_for_call)
    return [s for s in sentences if not is_stage_direction(s) and spoken_part(s)]


def known_sentences(task: Task) -> list[str]:
    """What the customer can say from the task's own text: the sentences of ``known_info``
    and ``reason_for_call`` in the first person, without stage directions, secrets or identity
    details. The customer answers a question its goals do not cover from these (which card,
    which address, why) instead of "I don't know"; never from the reference actions."""
    instructions = task.instructions
    out: list[str] = []
    for text in (instructions.known_info, instructions.reason_for_call):
        for sentence in split_sentences(text or ""):
            if is_stage_direction(sentence) or not spoken_part(sentence):
                continue
            said = _said(sentence)
            if said and said not in out and len(said.split()) >= 3:
                out.append(said)
    return out


def opening_for(task: Task) -> str:
    """The first message: the reason for calling in the first person, without stage
    directions or identity details (the first sentence, or two when the first is short)."""
    spoken = _spoken_sentences(task)
    if not spoken:
        return "Hi, I need some help with my orders."
    parts = [_said(spoken[0])]
    if len(parts[0].split()) < 9 and len(spoken) > 1:
        parts.append(_said(spoken[1]))
    return " ".join(parts)


def _question(sentence: str) -> tuple[str, bool] | None:
    """``(the question in the first person, whether the sentence is only a question)``."""
    text = spoken_part(sentence).rstrip(".")
    match = _QUESTION.match(text)
    if match is not None:
        rest = strip_identity(to_first_person(match.group("rest").strip()))
        rest = rest[:1].lower() + rest[1:] if not rest.startswith(("I ", "I'")) else rest
        if match.group("ask"):
            if rest.startswith("to "):
                said = f"Could you please {rest[3:]}?"
            else:
                said = f"Could you tell me {rest}?"
        elif match.group("wonder"):
            said = f"I wonder {rest}."
        else:
            said = f"I'd like to {match.group('verb').lower()} {rest}."
        return said, True
    clause = _CLAUSE_QUESTION.search(text)
    if clause is not None:
        rest = strip_identity(to_first_person(clause.group("rest").strip()))
        rest = rest[:1].lower() + rest[1:] if not rest.startswith(("I ", "I'")) else rest
        return f"I'd also like to know {rest}.", False
    return None


def _questions(task: Task) -> tuple[list[Goal], list[Goal], bool]:
    """``(questions asked first, questions asked after the actions, opening is a question)``."""
    first: list[Goal] = []
    later: list[Goal] = []
    spoken = _spoken_sentences(task)
    opening_question = False
    seen: set[str] = set()
    for index, sentence in enumerate(spoken):
        found = _question(sentence)
        if found is None or found[0] in seen:
            continue
        seen.add(found[0])
        text, only_question = found
        goal = Goal(kind="question", request=text)
        if index == 0 and only_question:
            opening_question = True
            first.append(goal)
        else:
            later.append(goal)
    return first, later, opening_question


# -- write goals -----------------------------------------------------------------------------


def _scenario_text(task: Task) -> str:
    i = task.instructions
    return " ".join(x for x in (i.reason_for_call, i.known_info, i.task_instructions) if x)


def _order_known(order_id: str, text: str) -> bool:
    digits = order_id.lstrip("#W")
    return bool(re.search(rf"(?<!\d){re.escape(digits)}(?!\d)", text))


def _order_name(order: Mapping[str, Any], known: bool, *, most: int = 3) -> str:
    """``my order #W…`` when the id is known, else the order by status and (some) items."""
    if known:
        return f"my order {order['order_id']}"
    names: list[str] = []
    for item in order["items"]:
        name = f"the {str(item['name']).lower()}"
        if name not in names:
            names.append(name)
    shown = names[:most] + (["some other things"] if len(names) > most else [])
    if len(order["items"]) == 1:
        shown = [f"only {shown[0]}"]
    status = {"pending": "pending ", "delivered": "delivered "}.get(str(order["status"]), "")
    return f"my {status}order with {join_words(shown)}"


def _order_mention(order: Mapping[str, Any], known: bool) -> str:
    """How a request names the order: by id when known, else just by its status."""
    if known:
        return f"my order {order['order_id']}"
    status = {"pending": "pending ", "delivered": "delivered "}.get(str(order["status"]), "")
    return f"my {status}order"


def _payment_words(user: Mapping[str, Any], method_id: str) -> tuple[str, str]:
    """``(how the customer names the method, the word a confirmation uses)``."""
    method = user["payment_methods"].get(method_id)
    if method is None:
        return "the original payment method", ""
    source = method["source"]
    if source == "credit_card":
        return f"my {method['brand']} credit card ending in {method['last_four']}", "credit card"
    if source == "gift_card":
        return "my gift card", "gift card"
    return "my PayPal account", "paypal"


def _indices(order: Mapping[str, Any], item_ids: Sequence[str]) -> list[int]:
    """Indices of the items in the order, each order line used once (ids can repeat)."""
    used: set[int] = set()
    chosen = []
    for item_id in item_ids:
        for index, item in enumerate(order["items"]):
            if index not in used and item["item_id"] == item_id:
                used.add(index)
                chosen.append(index)
                break
    return chosen


def _hidden_address(task: Task) -> bool:
    for sentence in split_sentences(_scenario_text(task)):
        lowered = sentence.lower()
        if SECRET.search(sentence) and ("address" in lowered or " it " in lowered):
            return True
    return False


def _address_answer(
    task: Task, db: Mapping[str, Any], user: Mapping[str, Any], args: Mapping[str, Any]
) -> str:
    wanted = {k: str(args.get(k, "")) for k in ("address1", "address2", "city", "state", "zip")}
    line = address_line(args)
    if not _hidden_address(task) or args.get("address1", "") in _scenario_text(task):
        return line

    def same(address: Mapping[str, Any]) -> bool:
        return all(str(address.get(k, "")) == v for k, v in wanted.items())

    if same(user["address"]):
        return "Please use the default address in my profile."
    text = _scenario_text(task)
    for order_id in user["orders"]:
        order = db["orders"].get(order_id)
        if order is not None and same(order["address"]):
            name = _order_name(order, _order_known(order_id, text))
            return f"Please use the same address as {name}; I'd rather not type it."
    return line


def _write_goal(task: Task, db: Mapping[str, Any], action: Action) -> Goal:
    kind = _KINDS[action.name]
    args = action.arguments
    text = _scenario_text(task)
    if kind == "user_address":
        user = db["users"][args["user_id"]]
        address = _address_answer(task, db, user, args)
        return Goal(
            kind=kind,
            request="I'd also like to update the default address on my account.",
            address=address,
            confirm_needs=[str(args["address1"])],
            mentions=["default address", "profile", "account"],
        )
    order = db["orders"][args["order_id"]]
    user = db["users"][order["user_id"]]
    known = _order_known(order["order_id"], text)
    name = _order_name(order, known)
    product_names = sorted({str(i["name"]).lower() for i in order["items"]})
    mentions = [*product_names, *([str(order["order_id"])] if known else [])]
    payment, payment_word = (
        _payment_words(user, args["payment_method_id"])
        if "payment_method_id" in args
        else (None, "")
    )
    mention = _order_mention(order, known)
    if kind == "cancel":
        return Goal(
            kind=kind,
            request=f"I'd like to cancel {_order_name(order, known, most=2)}.",
            order=name if not known else str(order["order_id"]),
            reason=_REASONS.get(str(args.get("reason")), "It's no longer needed."),
            confirm_needs=["cancel"],
            mentions=mentions,
            order_ref=str(order["order_id"]),
        )
    if kind in ("order_address", "order_payment"):
        what = "shipping address" if kind == "order_address" else "payment method"
        return Goal(
            kind=kind,
            request=f"I'd like to change the {what} of {_order_name(order, known, most=2)}.",
            order=name if not known else str(order["order_id"]),
            address=_address_answer(task, db, user, args) if kind == "order_address" else None,
            payment=payment,
            confirm_needs=[str(args["address1"])] if kind == "order_address" else [payment_word],
            mentions=mentions,
            order_ref=str(order["order_id"]),
        )
    chosen = _indices(order, args["item_ids"])
    items = describe_items(order["items"], chosen)
    chosen_names = {str(order["items"][i]["name"]).lower() for i in chosen}
    others = sorted(n for n in product_names if n not in chosen_names)
    common: dict[str, Any] = {
        "order": name if not known else str(order["order_id"]),
        "items": items,
        "payment": payment,
        "all_items": len(chosen) == len(order["items"]),
        "confirm_avoids": others,
        "mentions": mentions,
        "order_ref": str(order["order_id"]),
    }
    if kind == "return":
        return Goal(
            kind=kind,
            request=f"I'd like to return {items} from {mention}.",
            confirm_needs=["return", *sorted(chosen_names)],
            **common,
        )
    options, values = _new_options(db, order, chosen, args["new_item_ids"], text)
    verb = "exchange" if kind == "exchange" else "change"
    return Goal(
        kind=kind,
        request=f"I'd like to {verb} {items} from {mention}.",
        options=options,
        confirm_needs=[*sorted(chosen_names), *values],
        **common,
    )


def _new_options(
    db: Mapping[str, Any],
    order: Mapping[str, Any],
    chosen: Sequence[int],
    new_ids: Sequence[str],
    text: str,
) -> tuple[str, list[str]]:
    """The wanted options in words, and the option values a confirmation should mention.

    The new item's id is added only when the scenario's text states it."""
    parts: list[str] = []
    values: list[str] = []
    for index, new_id in zip(chosen, new_ids, strict=False):
        item = order["items"][index]
        variant = db["products"][item["product_id"]]["variants"][new_id]
        changed = {k: v for k, v in variant["options"].items() if item["options"].get(k) != v}
        values.extend(str(v) for v in changed.values())
        wanted = f"one with {describe_options(changed)}" if changed else "a new one, the same"
        if re.search(rf"(?<!\d){new_id}(?!\d)", text):
            wanted += f" (item ID {new_id})"
        if len(chosen) > 1:
            wanted = f"for {wanted}"
        if len(chosen) == 1:
            return wanted, values
        parts.append(f"{describe_items(order['items'], [index])} {wanted}")
    return "; ".join(parts), values


def derive_goals(task: Task, db: Mapping[str, Any]) -> list[Goal]:
    """The customer's goals in the order it pursues them.

    Write actions in reference order become action goals; "You want to know ..." sentences
    become questions (first when the call opens with one, else after the actions); a task
    whose reference only transfers gets a ``transfer`` goal; a task with no write and no
    transfer opens with a ``decline`` goal (the request it must see refused) unless it opens
    with a question.
    """
    first, later, opening_question = _questions(task)
    writes = [_write_goal(task, db, action) for action in task.writes]
    goals: list[Goal] = [*first, *writes]
    opening = opening_for(task)
    if task.transfers and not writes:
        goals.insert(len(first), Goal(kind="transfer", request=opening))
    elif not writes and not opening_question:
        goals.insert(0, Goal(kind="decline", request=opening))
    return [*goals, *later]
